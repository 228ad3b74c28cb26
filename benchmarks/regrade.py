"""How fast ``evalkit regrade`` grades stored answers again: 100,000 of them, beside a plain loop.

It writes a task (JSONL, graded ``by_type``) and a finished run folder of stored answers — a mix of
single-choice (50 %), two-blank fill-in (25 %) and open math answers (25 %), model-like text with
boxed answers, cue phrases, prose, some wrong and some unreadable — then runs, each as a whole process
(start-up, loading the task and the run, grading, writing the new folder, all included):

* ``evalkit regrade RUN`` on the mixed run of ``--n`` answers (default 100,000);
* the same on one kind at a time (``--n-kind`` answers each: choice, fill-in, math);
* the reference, beside each per-kind run: a plain loop in one process (this file, ``--plain``) that
  reads the same samples.jsonl, grades each answer with ``evalkit.grading.grade`` and writes the new
  lines — no pool, no checks, no summary: what one core does with the same graders.

It prints samples per second (whole process), CPU time (user+system of the tree), the peak memory of the
process tree (the sum of the proportional set sizes of the regrade and its grading workers, sampled every
20 ms — forked workers' shared pages count once — and the largest single process's peak RSS), and the
issue's goals: mixed and choice ≥ 5,000/s, math ≥ 1,000/s, peak ≤ 500 MB.

    .venv/bin/python benchmarks/regrade.py [--n 100000] [--n-kind 20000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
PY = sys.executable
CLI = "import sys; from evalkit.cli import main; sys.argv[0] = 'evalkit'; main()"

CHOICE_ANSWERS = ["The answer is {l}.", "故选{l}", "Looking at each option in turn, ({l}) fits best.",
                  "答案：{l}", "A and B are wrong because of the sign. So the answer is {l}.", "I cannot tell."]
MATH = [("\\frac{3}{4}", ["\\frac34", "0.75", "3/4", "\\frac{6}{8}", "\\frac{4}{3}"]),
        ("2\\sqrt{2}", ["\\sqrt{8}", "2\\sqrt2", "2.83", "2\\sqrt{3}"]),
        ("(1,2)", ["(1, 2)", "(1,2]", "\\left(1,2\\right)", "(2,1)"]),
        ("[0,1)", ["[0,1)", "[0, 1)", "[0,1]", "0\\le x<1"]),
        ("x=3", ["3", "x=3", "x = 3.0", "x=-3"]),
        ("\\pi/2", ["\\frac{\\pi}{2}", "90^\\circ", "\\pi", "1.5708"]),
        ("x^2+1", ["1+x^2", "x^{2}+1", "x^2-1", "(x+1)^2-2x"]),
        ("\\{1,2\\}", ["\\{2,1\\}", "\\{1,2\\}", "\\{1\\}", "1,2"]),
        ("-\\frac{1}{2}", ["-0.5", "-\\frac12", "\\frac{1}{2}", "-1/2"]),
        ("12", ["12", "12.0", "13", "twelve"])]
MATH_WRAP = ["Working through the algebra step by step, we find $\\boxed{{{a}}}$.",
             "所以答案是 ${a}$。", "Hence the result is {a}.", "The final answer is $\\boxed{{{a}}}$",
             "We cannot determine it from the given data."]


def make_item(i: int, kind: str, rng: random.Random) -> tuple[dict, str]:
    """One task row and a model-like answer to it."""
    sid = f"s{i:06d}"
    if kind == "choice":
        target = "ABCD"[i % 4]
        letter = target if rng.random() < 0.7 else rng.choice("ABCD")
        row = {"id": sid, "input": f"Question {i}: which is right?", "choices": ["one", "two", "three", "four"],
               "target": target, "metadata": {"type": "single", "grader": "by_type"}}
        return row, rng.choice(CHOICE_ANSWERS).format(l=letter)
    if kind == "fill":
        (g1, p1), (g2, p2) = rng.sample(MATH, 2)
        row = {"id": sid, "input": f"Fill in the blanks {i}.", "target": [g1, g2],
               "metadata": {"type": "fill", "grader": "by_type"}}
        answer = f"答案：(1) ${rng.choice(p1)}$；(2) ${rng.choice(p2)}$" if rng.random() < 0.9 else "不会"
        return row, answer
    gold, preds = MATH[i % len(MATH)]
    row = {"id": sid, "input": f"Compute {i}.", "target": gold, "metadata": {"type": "open", "grader": "by_type"}}
    return row, rng.choice(MATH_WRAP).format(a=rng.choice(preds))


def write_run(folder: Path, task: Path, n: int, kinds: list[str], seed: int = 0) -> None:
    """A task file and a finished run folder of ``n`` stored answers (scores left to be graded: ``wrong``)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    with task.open("w", encoding="utf-8") as tf, (folder / "samples.jsonl").open("w", encoding="utf-8") as sf:
        for i in range(n):
            row, answer = make_item(i, kinds[i % len(kinds)], rng)
            tf.write(json.dumps(row, ensure_ascii=False) + "\n")
            rec = {"id": row["id"], "prompt": [{"role": "user", "content": [{"type": "text", "text": row["input"]}]}],
                   "target": row["target"], "response": answer, "reasoning": None,
                   "usage": {"prompt_tokens": 40, "completion_tokens": 30}, "latency_s": 0.4, "error": None,
                   "cached": False, "attempts": 1,
                   "score": {"value": 0.0, "status": "wrong", "points": 0.0, "max_points": 1.0, "stage": "old",
                             "grader": "by_type", "extracted": None},
                   "metadata": row["metadata"]}
            sf.write(json.dumps(rec, ensure_ascii=False) + "\n")
    record = {"id": folder.name, "status": "finished",
              "task": {"name": task.stem, "version": "1", "source": str(task), "hash": "bench",
                       "grader": {"name": "by_type", "options": {}}, "metrics": ["accuracy"], "options": {}},
              "adapter": {"uri": "replay:bench"}, "counts": {"samples": n}}
    (folder / "run.json").write_text(json.dumps(record))
    (folder / "summary.json").write_text(json.dumps({"task": task.stem, "model": "replay:bench",
                                                     "metrics": {"accuracy": 0.0}, "counts": {"n": n}}))


def _tree_pss_mb(root: int) -> float:
    """Memory of a process and all its descendants, in MB: the sum of their proportional set sizes (a page
    shared by forked workers counts once in all), from Linux /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                parent = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total_kb, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
                total_kb += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            pass
        todo.extend(children.get(pid, []))
    return total_kb / 1024


def measure(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd``; wall, CPU of the tree, peak summed RSS of the tree (sampled) and the largest process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss_mb(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[3:6])} ... failed:\n{err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "tree_mb": peak,
            "largest_mb": usage.ru_maxrss / 1024, "out": out}  # type: ignore[dict-item]


def plain_loop(run: Path, task: Path, out: Path) -> None:
    """The reference: one process, read → grade → write, nothing else."""
    sys.path.insert(0, str(REPO))
    from evalkit.grading import GraderSpec, grade
    from evalkit.tasks import get_task

    samples = {s.id: s for s in get_task(str(task)).samples}
    spec = GraderSpec("by_type")
    with (run / "samples.jsonl").open(encoding="utf-8") as fh, out.open("w", encoding="utf-8") as dst:
        for line in fh:
            rec = json.loads(line)
            rec["score"] = grade(samples[rec["id"]], rec["response"], spec).to_dict()
            dst.write(json.dumps(rec, ensure_ascii=False) + "\n")


def regrade_cmd(run: Path, out: Path) -> list[str]:
    return [PY, "-c", CLI, "regrade", str(run), "--output", str(out), "--examples", "1"]


def show(name: str, n: int, m: dict[str, float], ref: dict[str, float] | None = None) -> str:
    rate = n / m["wall_s"]
    beside = f"   ({rate / (n / ref['wall_s']):.2f}x the plain loop)" if ref else ""
    return (f"  {name:<24} {n:>7,} answers  wall {m['wall_s']:6.2f} s  {rate:8,.0f}/s   cpu {m['cpu_s']:6.2f} s   "
            f"peak {m['tree_mb']:6.1f} MB (tree)  {m['largest_mb']:6.1f} MB (largest process){beside}")


def median(ms: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(m[k] for m in ms) for k in ("wall_s", "cpu_s", "tree_mb", "largest_mb")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="answers in the mixed run")
    p.add_argument("--n-kind", type=int, default=20_000, help="answers in each one-kind run")
    p.add_argument("--repeat", type=int, default=1, help="rounds; medians are printed")
    p.add_argument("--plain", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.plain:
        plain_loop(*args.plain)
        return
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sets = {"mixed": (args.n, ["choice", "choice", "fill", "math"])}
        sets.update({kind: (args.n_kind, [kind]) for kind in ("choice", "fill", "math")})
        for name, (n, kinds) in sets.items():
            write_run(tmp / f"run-{name}", tmp / f"{name}.jsonl", n, kinds)
        print(f"regrade of stored answers, whole processes, medians of {args.repeat}")
        rows: dict[str, tuple[int, dict[str, float], dict[str, float] | None]] = {}
        last_out = ""
        for name, (n, _) in sets.items():
            runs, refs = [], []
            for rep in range(args.repeat):
                m = measure(regrade_cmd(tmp / f"run-{name}", tmp / f"new-{name}-{rep}"))
                last_out = str(m.pop("out")) if name == "mixed" else last_out
                runs.append(m)
                if name != "mixed":
                    r = measure([PY, str(HERE), "--plain", str(tmp / f"run-{name}"), str(tmp / f"{name}.jsonl"),
                                 str(tmp / f"plain-{name}-{rep}.jsonl")])
                    r.pop("out")
                    refs.append(r)
            rows[name] = (n, median(runs), median(refs) if refs else None)
            print(show(f"evalkit regrade: {name}", n, rows[name][1], rows[name][2]))
            if rows[name][2] is not None:
                print(show(f"plain loop: {name}", n, rows[name][2]))
        print("  (the mixed run's regrade said:)")
        for line in last_out.splitlines()[:8]:
            print(f"    {line}")
        rate = {name: n / m["wall_s"] for name, (n, m, _) in rows.items()}
        peak = max(m["tree_mb"] for _, m, _ in rows.values())
        print(f"  goals: mixed {args.n:,} >= 5,000/s: {'met' if rate['mixed'] >= 5000 else 'MISSED'} "
              f"({rate['mixed']:,.0f}/s); choice >= 5,000/s: {'met' if rate['choice'] >= 5000 else 'MISSED'} "
              f"({rate['choice']:,.0f}/s); math >= 1,000/s: {'met' if rate['math'] >= 1000 else 'MISSED'} "
              f"({rate['math']:,.0f}/s); peak <= 500 MB: {'met' if peak <= 500 else 'MISSED'} ({peak:.0f} MB)")
    load = os.getloadavg()
    print(f"machine after: load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()

"""Conformance of evalkit's answer grader against verdicts other graders' authors wrote.

Runs ``math_answer`` over ``corpus_a.jsonl`` / ``corpus_b.jsonl`` (and the silver set of long
Qwen2.5-Math responses), and prints agreement overall, on the core subset (without the
``contested`` / ``config_dependent`` / ``context_dependent`` tags), by ``kind``, plus cases
per second and the p95 time per case, in one process on one core. When ``math-verify`` is
installed it is run on the same cases and printed beside (bare answers wrapped in ``$…$``).
It also runs every input of ``pathological.jsonl`` and prints the verdict and time, and reads the
option letters of every response in ``benchmarks/letter_corpus.jsonl`` (responses written here in the
styles current chat models use, each with the letters a teacher reads), printing evalkit's agreement
beside the last-capital rule's (GAOKAO-Bench's reading: the last capital A–D for single choice, its
``【答案】``/last-ten-characters rule for multi-select).

    .venv/bin/python benchmarks/grading_conformance.py [--data DIR] [--misses] [--no-mathverify]
    .venv/bin/python benchmarks/grading_conformance.py --only letters --misses
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from evalkit.grading import GraderSpec, grade
from evalkit.grading.bounded import shutdown, warm_up
from evalkit.types import Sample

NON_CORE = {"contested", "config_dependent", "context_dependent"}
LETTER_CORPUS = Path(__file__).with_name("letter_corpus.jsonl")
SPEC = GraderSpec("math_answer", {})


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ours(rec: dict) -> tuple[bool, float, object]:
    t0 = time.perf_counter()
    score = grade(Sample(rec["id"], "", rec["gold"]), rec["pred"], SPEC)
    return score.status == "correct", time.perf_counter() - t0, score


def mathverify_fn():
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def wrap(s: str) -> str:
        return s if ("$" in s or "\\(" in s or "\\[" in s or "boxed" in s) else f"${s}$"

    def run(rec: dict) -> tuple[bool, float]:
        t0 = time.perf_counter()
        try:
            ok = bool(verify(parse(wrap(rec["gold"])), parse(wrap(rec["pred"]))))
        except Exception:  # noqa: BLE001 - count a crash as a disagreement-free False
            ok = False
        return ok, time.perf_counter() - t0

    return run


def p95(xs: list[float]) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.95 * len(xs)))]


def evaluate(name: str, recs: list[dict], mv, show_misses: bool) -> None:
    by_kind: dict[str, list[bool]] = defaultdict(list)
    agree, core, times, misses = [], [], [], []
    short_times: list[float] = []
    for rec in recs:
        got, dt, score = ours(rec)
        ok = got == rec["expected"]
        agree.append(ok)
        times.append(dt)
        if rec["kind"] != "extraction":
            short_times.append(dt)
        by_kind[rec["kind"]].append(ok)
        if not NON_CORE & set(rec.get("tags", [])):
            core.append(ok)
        if not ok:
            misses.append((rec, score))
    total = sum(times)
    print(f"\n== {name}: {len(recs)} cases")
    print(f"evalkit     agreement {100 * sum(agree) / len(agree):5.1f}%   core {100 * sum(core) / len(core):5.1f}% "
          f"({len(core)})   {len(recs) / total:7.1f} cases/s   p95 {1000 * p95(times):6.2f} ms")
    print(f"            short answers only (kind != extraction): {len(short_times) / sum(short_times):7.1f} cases/s"
          f"   p95 {1000 * p95(short_times):6.2f} ms   max {1000 * max(short_times):6.1f} ms")
    if mv is not None:
        mv_agree, mv_core, mv_times = [], [], []
        for rec in recs:
            got, dt = mv(rec)
            ok = got == rec["expected"]
            mv_agree.append(ok)
            mv_times.append(dt)
            if not NON_CORE & set(rec.get("tags", [])):
                mv_core.append(ok)
        print(f"math-verify agreement {100 * sum(mv_agree) / len(mv_agree):5.1f}%   core "
              f"{100 * sum(mv_core) / len(mv_core):5.1f}%         {len(recs) / sum(mv_times):7.1f} cases/s   "
              f"p95 {1000 * p95(mv_times):6.2f} ms")
    kinds = sorted(by_kind, key=lambda k: -len(by_kind[k]))
    print("by kind: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in ((k, by_kind[k]) for k in kinds)))
    if show_misses:
        for rec, score in misses:
            print(f"  MISS {rec['id']} expected={rec['expected']} got={score.status} stage={score.stage} "
                  f"tags={rec.get('tags', [])}\n     gold={rec['gold'][-120:]!r}\n     pred={rec['pred'][-160:]!r}"
                  f"\n     extracted={score.extracted!r} reason={score.reason!r}")


def silver(recs: list[dict], show_misses: bool) -> None:
    agree, times = [], []
    for rec in recs:
        got, dt, score = ours(rec)
        agree.append(got == rec["expected"])
        times.append(dt)
        if show_misses and got != rec["expected"]:
            print(f"  MISS {rec['id']} expected={rec['expected']} qwen={rec.get('qwen_extracted_pred')!r} "
                  f"gold={rec['gold']!r} ours={score.extracted!r} {score.reason}")
    print(f"\n== silver (Qwen2.5-Math responses, labels from Qwen's grader): {len(recs)} cases")
    print(f"evalkit     agreement {100 * sum(agree) / len(agree):5.1f}%   {len(recs) / sum(times):7.1f} cases/s   "
          f"p95 {1000 * p95(times):6.2f} ms   mean chars {statistics.mean(len(r['pred']) for r in recs):.0f}")


def pathological(recs: list[dict]) -> None:
    print(f"\n== pathological inputs: {len(recs)} (graded as the prediction against gold '0', and as the gold)")
    worst = 0.0
    for rec in recs:
        for gold, pred in (("0", rec["input"]), (rec["input"], "0")):
            t0 = time.perf_counter()
            s = grade(Sample(rec["id"], "", gold), pred, SPEC)
            dt = time.perf_counter() - t0
            worst = max(worst, dt)
            side = "pred" if gold == "0" else "gold"
            print(f"  {rec['id']:5s} as {side}: {s.status:8s} stage={s.stage:9s} {dt:6.2f}s  {(s.reason or '')[:90]}")
    print(f"  slowest: {worst:.2f}s")


def _as_set(letters: list[str] | None) -> list[str] | None:
    return sorted({ch for x in letters for ch in x}) if letters else None


def letter_corpus(path: Path, show_misses: bool) -> None:
    """evalkit's letter reader and the last-capital rule against the letters a teacher reads."""
    from evalkit.grading.letters import extract_letters, gaokao_bench_letters

    recs = load(path)
    ours_ok: dict[str, list[bool]] = defaultdict(list)
    naive_ok: dict[str, list[bool]] = defaultdict(list)
    misses = []
    t0 = time.perf_counter()
    for rec in recs:
        want = _as_set(rec["expected"])
        got = _as_set(extract_letters(rec["response"], rec["multi"]))
        naive = _as_set(gaokao_bench_letters(rec["response"], "multi_choice" if rec["multi"] else "single_choice"))
        groups = ["all", "multi" if rec["multi"] else "single", f"lang:{rec['lang']}", rec["tags"][0]]
        for g in groups:
            ours_ok[g].append(got == want)
            naive_ok[g].append(naive == want)
        if got != want:
            misses.append((rec, got))
    dt = time.perf_counter() - t0
    n = len(recs)
    print(f"\n== letter corpus ({path.name}): {n} responses, the letters a teacher reads")
    print(f"evalkit      agreement {sum(ours_ok['all'])}/{n} = {100 * sum(ours_ok['all']) / n:5.1f}%   {n / dt:7.1f} /s")
    print(f"last capital agreement {sum(naive_ok['all'])}/{n} = {100 * sum(naive_ok['all']) / n:5.1f}%")
    for g in sorted(ours_ok, key=lambda k: (k != "multi" and k != "single", not k.startswith("lang:"), k)):
        if g == "all":
            continue
        print(f"  {g:<18} evalkit {sum(ours_ok[g]):>3}/{len(ours_ok[g]):<3}  last capital {sum(naive_ok[g]):>3}/{len(naive_ok[g])}")
    if show_misses:
        for rec, got in misses:
            tail = " ".join(rec["response"][-110:].split())
            print(f"  MISS {rec['id']} {rec['tags']} expected={rec['expected']} got={got}  …{tail}")


def gaokao_letters(root: Path) -> None:
    """Our default letter rule against GAOKAO-Bench's own extraction on GPT-4's published outputs."""
    from evalkit.grading.letters import extract_letters

    files = sorted((root / "Results" / "gpt_4_0314_obj").glob("*MCQs.json"))
    if not files:
        return
    same = total = refused = several = 0
    t0 = time.perf_counter()
    for f in files:
        for ex in json.loads(f.read_text(encoding="utf-8"))["example"]:
            mine = extract_letters(ex["model_output"], False)
            total += 1
            agree = (mine or []) == ex["model_answer"]
            same += agree
            refused += not agree and mine is None
            several += not agree and bool(mine and len(mine) > 1)
    dt = time.perf_counter() - t0
    print(f"\n== GAOKAO-Bench GPT-4 MCQ outputs: {total} responses, letters as GAOKAO-Bench's extraction on {same}; "
          f"of the rest, {refused} unparsed (refusals), {several} with several letters   {total / dt:7.1f} /s")


def gaokao_fill_in(root: Path) -> None:
    """math_answer on GPT-4's fill-in answers against the full-marks verdict of GAOKAO-Bench's GPT-4 judge."""
    folder = root / "Results" / "gpt_4_0314_sub" / "gpt-4-1106-preview_correction_wo_marking_criterion"
    files = sorted(folder.glob("*Fill-in-the-Blank*.json"))
    if not files:
        return
    total = agree = partial = 0
    t0 = time.perf_counter()
    for f in files:
        for ex in json.loads(f.read_text(encoding="utf-8"))["example"]:
            gold = ex["standard_answer"] if isinstance(ex["standard_answer"], str) else ex["standard_answer"][0]
            s = grade(Sample(str(ex["index"]), "", gold.strip()), ex["model_output"], SPEC)
            full = ex["model_correction_score"][0] >= ex["score"]
            total += 1
            agree += (s.status == "correct") == full
            partial += (s.status == "correct") and 0 < ex["model_correction_score"][0] < ex["score"]
    dt = time.perf_counter() - t0
    print(f"== GAOKAO-Bench GPT-4 fill-in answers: {total}, evalkit agrees with the judge's full marks on {agree}; "
          f"{partial} more are right answers the judge docked for the working   {total / dt:7.1f} /s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("EVALKIT_MATHGRADE", "../shared/data/mathgrade"))
    ap.add_argument("--misses", action="store_true", help="print every disagreement")
    ap.add_argument("--no-mathverify", action="store_true")
    ap.add_argument("--only", choices=["a", "b", "silver", "path", "letters"], default=None)
    args = ap.parse_args()
    data = Path(args.data)
    if not data.exists():
        print(f"no data folder {data}; pass --data", file=sys.stderr)
        return 2
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass
    mv = None if args.no_mathverify else mathverify_fn()
    t0 = time.perf_counter()
    warm_up()
    print(f"sympy worker start-up (once per grading process, not in the figures): {time.perf_counter() - t0:.2f}s")
    if mv is None and not args.no_mathverify:
        print("(math-verify not installed: its figures are not printed)")
    if args.only in (None, "a"):
        evaluate("corpus_a", load(data / "corpus_a.jsonl"), mv, args.misses)
    if args.only in (None, "b"):
        evaluate("corpus_b", load(data / "corpus_b.jsonl"), mv, args.misses)
    if args.only in (None, "silver"):
        silver(load(data / "silver_qwen_math_cot_100.jsonl"), args.misses)
    if args.only in (None, "path"):
        pathological(load(data / "pathological.jsonl"))
    if args.only in (None, "letters"):
        letter_corpus(LETTER_CORPUS, args.misses)
    if args.only is None:
        gaokao_letters(data.parent / "gaokao-bench")
        gaokao_fill_in(data.parent / "gaokao-bench")
    shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

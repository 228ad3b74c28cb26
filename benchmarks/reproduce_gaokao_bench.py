"""Reproduce GAOKAO-Bench's published tables from its published model outputs.

    .venv/bin/python benchmarks/reproduce_gaokao_bench.py [--data ../shared/data/gaokao-bench] [--show 10]
    .venv/bin/python benchmarks/reproduce_gaokao_bench.py --data ../shared/data/gaokao-bench-full

With a checkout holding all 14 objective files (``gaokao-bench-full``), it first re-scores GPT-4-0314's
published outputs of every objective file with the benchmark's own rule (``extract: gaokao-bench``: its
extraction per question type and its scoring, physics' 6/3/0 included) and prints each file's points beside
the published ``correct_score`` of ``Results/gpt_4_0314_obj/result/correction_score.json`` (7000 of 9702),
then evalkit's default reading of the same outputs and the items where the two differ. The math-only
folder prints what follows:

1. Objective (MCQ) scoring rates of GPT-4-0314 and Gemini-Pro, replayed through evalkit's ``gaokao``
   scorer with GAOKAO-Bench's own extraction rule (``extract: last_capital`` — the last capital A–D
   in the output); these must equal the published figures to the tenth of a percent.
2. The same outputs with evalkit's default extraction, side by side, and the items on which the two
   rules disagree (where the benchmark's naive rule mis-read an answer, or evalkit's did).
3. The subjective rate of GPT-4-0314 from the published LLM-judge grades, imported as marks,
   and how evalkit's deterministic fill-in grading compares with those grades.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evalkit.grading import GraderSpec, grade
from evalkit.grading.gaokao import Mark, reconcile
from evalkit.tasks.gaokao import load_gaokao_bench, read_gaokao_bench_marks, read_gaokao_bench_outputs
from evalkit.tasks.task import DatasetSpec
from evalkit.types import Sample, Score

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gaokao-bench"
PUBLISHED_OBJECTIVE = {("GPT-4-0314", "Math_I"): 53.7, ("GPT-4-0314", "Math_II"): 63.3,
                       ("Gemini-Pro", "Math_I"): 40.7, ("Gemini-Pro", "Math_II"): 47.7}
PUBLISHED_SUBJECTIVE = {"Math_I": 27.1, "Math_II": 33.5}
OUTPUTS = {"GPT-4-0314": "Results/gpt_4_0314_obj", "Gemini-Pro": "history-c214b47/Data/Objective_Questions"}
JUDGE_GRADES = "Results/gpt_4_0314_sub/gpt-4-1106-preview_correction_wo_marking_criterion"


def paper_of(sample: Sample) -> str:
    """``Math_I`` (理科) or ``Math_II`` (文科), from the GAOKAO-Bench file the item came from."""
    return "Math_II" if "Math_II" in str(sample.metadata.get("file")) else "Math_I"


@dataclass
class Tally:
    points: float = 0.0
    max_points: float = 0.0

    def add(self, score: Score) -> None:
        self.points += score.points
        self.max_points += score.max_points

    @property
    def rate(self) -> float:
        return 100.0 * self.points / self.max_points if self.max_points else 0.0


def objective(data: Path, show: int) -> bool:
    samples = list(load_gaokao_bench(DatasetSpec("gaokao-bench", path=data, options={"files": "*MCQs.json"})))
    ok = True
    print("Objective (MCQ) scoring rate = points earned / points possible")
    print(f"{'model':<12} {'paper':<8} {'published':>9} {'last_capital':>12} {'match':>5} {'evalkit default':>15} {'disagree':>8}")
    for model, rel in OUTPUTS.items():
        outputs = read_gaokao_bench_outputs(data / rel)
        naive: dict[str, Tally] = defaultdict(Tally)
        ours: dict[str, Tally] = defaultdict(Tally)
        disagreements: list[tuple[Sample, Score, Score]] = []
        for s in samples:
            out = outputs.get(s.id, "")
            a = grade(s, out, GraderSpec("gaokao", {"extract": "last_capital"}))
            b = grade(s, out, GraderSpec("gaokao", {}))
            naive[paper_of(s)].add(a)
            ours[paper_of(s)].add(b)
            if a.points != b.points or a.extracted != b.extracted:
                disagreements.append((s, a, b))
        for paper in ("Math_I", "Math_II"):
            pub = PUBLISHED_OBJECTIVE[(model, paper)]
            got = round(naive[paper].rate, 1)
            match = got == pub
            ok &= match
            n_dis = sum(1 for s, _, _ in disagreements if paper_of(s) == paper)
            print(f"{model:<12} {paper:<8} {pub:>8.1f}% {got:>11.1f}% {'yes' if match else 'NO':>5} "
                  f"{ours[paper].rate:>14.1f}% {n_dis:>8}")
        print_disagreements(model, disagreements, outputs, show)
    return ok


def print_disagreements(model: str, rows: list[tuple[Sample, Score, Score]], outputs: dict[str, str], show: int) -> None:
    if not rows:
        return
    fixed = sum(1 for _, a, b in rows if b.points > a.points)
    broke = sum(1 for _, a, b in rows if b.points < a.points)
    print(f"  {model}: {len(rows)} items read differently; evalkit's default rule gains {fixed}, loses {broke}, "
          f"{len(rows) - fixed - broke} change only the reading (same points)")
    for s, a, b in rows[:show]:
        tail = " ".join(outputs.get(s.id, "")[-70:].split())
        print(f"    {s.id:<34} gold {s.target}  last_capital {a.extracted or '-'} ({a.status})  "
              f"default {b.extracted or '-'} ({b.status})  …{tail}")
    if len(rows) > show:
        print(f"    … and {len(rows) - show} more (--show N)")


GPT4_OBJECTIVE = "Results/gpt_4_0314_obj"


def has_all_objective_files(data: Path) -> bool:
    """Whether the checkout holds more objective files than the six math ones (``gaokao-bench-full``)."""
    folder = data / "Data" / "Objective_Questions"
    return folder.is_dir() and any("Math" not in p.name for p in folder.glob("*.json"))


def objective_files(data: Path, show: int) -> bool:
    """Every objective file: the benchmark's rule against its published scores, and evalkit's default beside it."""
    published_file = data / GPT4_OBJECTIVE / "result" / "correction_score.json"
    published = json.loads(published_file.read_text(encoding="utf-8"))
    per_file = {kw: v for subject in published["subject"].values() for kw, v in subject["type"].items()}
    samples = [s for s in load_gaokao_bench(DatasetSpec("gaokao-bench", path=data / "Data" / "Objective_Questions"))]
    outputs = read_gaokao_bench_outputs(data / GPT4_OBJECTIVE)
    bench: dict[str, Tally] = defaultdict(Tally)
    ours: dict[str, Tally] = defaultdict(Tally)
    differ: dict[str, list[tuple[Sample, Score, Score]]] = defaultdict(list)
    for s in samples:
        out = outputs.get(s.id, "")
        a = grade(s, out, GraderSpec("gaokao", {"extract": "gaokao-bench"}))
        b = grade(s, out, GraderSpec("gaokao", {}))
        keyword = str(s.metadata["file"])
        bench[keyword].add(a)
        ours[keyword].add(b)
        if a.points != b.points or _reading(a) != _reading(b):
            differ[keyword].append((s, a, b))
    print("GPT-4-0314 on GAOKAO-Bench's 14 objective files: points earned / points possible")
    print(f"{'file':<40} {'published':>14} {'benchmark rule':>14} {'match':>5} {'evalkit default':>15} {'differ':>6}")
    ok = True
    total = {"pub": 0.0, "pub_max": 0.0, "bench": 0.0, "bench_max": 0.0, "ours": 0.0}
    for keyword in sorted(per_file):
        pub = per_file[keyword]
        got, mine = bench[keyword], ours[keyword]
        match = got.points == pub["correct_score"] and got.max_points == pub["total_score"]
        ok &= match
        total["pub"] += pub["correct_score"]
        total["pub_max"] += pub["total_score"]
        total["bench"] += got.points
        total["bench_max"] += got.max_points
        total["ours"] += mine.points
        print(f"{keyword:<40} {pub['correct_score']:>6g} / {pub['total_score']:<5g} {got.points:>6g} / {got.max_points:<5g} "
              f"{'yes' if match else 'NO':>5} {mine.points:>7g} ({mine.rate:4.1f}%) {len(differ.get(keyword, [])):>6}")
    match = total["bench"] == published["correct_score"] and total["bench_max"] == published["total_score"]
    ok &= match
    print(f"{'all 14 files':<40} {total['pub']:>6g} / {total['pub_max']:<5g} {total['bench']:>6g} / {total['bench_max']:<5g} "
          f"{'yes' if match else 'NO':>5} {total['ours']:>7g} ({100 * total['ours'] / total['bench_max']:4.1f}%) "
          f"{sum(len(v) for v in differ.values()):>6}")
    print(f"(published overall: {published['correct_score']:g} of {published['total_score']:g}, "
          f"{100 * published['scoring_rate']:.1f}%)")
    for keyword in sorted(k for k, rows in differ.items() if rows):
        print_differences(keyword, differ[keyword], outputs, show)
    return ok


def _reading(score: Score) -> str:
    got = score.normalized if score.normalized is not None else score.extracted
    if isinstance(got, list | tuple):
        return "".join(str(g or "-") for g in got)
    return str(got or "-")


def print_differences(keyword: str, rows: list[tuple[Sample, Score, Score]], outputs: dict[str, str], show: int) -> None:
    gains = sum(1 for _, a, b in rows if b.points > a.points)
    losses = sum(1 for _, a, b in rows if b.points < a.points)
    print(f"\n  {keyword}: {len(rows)} items read differently; evalkit's default gains points on {gains}, loses on "
          f"{losses}, {len(rows) - gains - losses} change only the reading")
    for s, a, b in rows[:show]:
        key = "".join(s.target) if isinstance(s.target, list) else str(s.target)
        tail = " ".join(outputs.get(s.id, "")[-70:].split())
        print(f"    {s.id:<44} key {key:<6} benchmark {_reading(a):<6} {a.points:>4g}  default {_reading(b):<6} "
              f"{b.points:>4g}/{b.max_points:g}  …{tail}")
    if len(rows) > show:
        print(f"    … and {len(rows) - show} more (--show N)")


def subjective(data: Path) -> bool:
    folder = data / JUDGE_GRADES
    if not folder.is_dir():
        print(f"(no judge grades at {folder}; subjective rate skipped)")
        return True
    spec = DatasetSpec("gaokao-bench", path=data)
    samples = [s for s in load_gaokao_bench(spec) if s.metadata["type"] in ("fill", "solution")]
    marks = read_gaokao_bench_marks(folder)
    raw: dict[str, Tally] = defaultdict(Tally)
    clipped: dict[str, Tally] = defaultdict(Tally)
    over: list[tuple[str, float, float]] = []
    missing = 0
    for s in samples:
        if s.id not in marks:
            missing += 1
            continue
        value = marks[s.id]
        raw[paper_of(s)].add(Score.from_points(value, s.max_points))
        clipped[paper_of(s)].add(reconcile([Mark("judge", value, s.max_points)], s.max_points))
        if value > s.max_points:
            over.append((s.id, value, s.max_points))
    ok = True
    print("\nSubjective scoring rate of GPT-4-0314 from the published judge grades (gpt-4-1106-preview), imported as marks")
    print(f"{'paper':<8} {'published':>9} {'as published':>12} {'match':>5} {'clipped to item points':>23}")
    for paper in ("Math_I", "Math_II"):
        pub = PUBLISHED_SUBJECTIVE[paper]
        got = round(raw[paper].rate, 1)
        ok &= got == pub
        print(f"{paper:<8} {pub:>8.1f}% {got:>11.1f}% {'yes' if got == pub else 'NO':>5} {clipped[paper].rate:>22.1f}%")
    for sid, value, mx in over:
        print(f"  special case: {sid} has a judge grade of {value:g} for a {mx:g}-point item; the published rate "
              f"sums it as is, evalkit clips a mark to the item's points")
    if missing:
        print(f"  {missing} items have no judge grade")
    return ok


def fill_in_agreement(data: Path) -> None:
    """evalkit's deterministic fill-in grading of GPT-4-0314 beside the published judge grades."""
    folder = data / JUDGE_GRADES
    if not folder.is_dir():
        return
    samples = list(load_gaokao_bench(DatasetSpec("gaokao-bench", path=data, options={"files": "*Fill-in-the-Blank.json"})))
    outputs, marks = read_gaokao_bench_outputs(folder), read_gaokao_bench_marks(folder)
    ours: dict[str, Tally] = defaultdict(Tally)
    judge: dict[str, Tally] = defaultdict(Tally)
    agree = 0
    for s in samples:
        score = grade(s, outputs.get(s.id, ""), GraderSpec("gaokao", {}))
        ours[paper_of(s)].add(score)
        judge[paper_of(s)].add(Score.from_points(marks.get(s.id, 0.0), s.max_points))
        agree += (score.status == "correct") == (marks.get(s.id, 0.0) >= s.max_points)
    print("\nFill-in of GPT-4-0314: evalkit's deterministic fill_in grading beside the published judge grades")
    for paper in ("Math_I", "Math_II"):
        print(f"  {paper:<8} evalkit {ours[paper].rate:5.1f}%   judge {judge[paper].rate:5.1f}%")
    print(f"  full marks agree on {agree} of {len(samples)} items")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a GAOKAO-Bench checkout (see ../shared/data/README.md)")
    ap.add_argument("--show", type=int, default=12, help="disagreeing items to list per model")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data}: no GAOKAO-Bench data here; pass --data PATH", file=sys.stderr)
        return 2
    if has_all_objective_files(args.data):
        ok = objective_files(args.data, args.show)
        print()
    else:
        ok = objective(args.data, args.show)
    ok &= subjective(args.data)
    fill_in_agreement(args.data)
    print("\nall published figures reproduced" if ok else "\nMISMATCH with the published figures")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

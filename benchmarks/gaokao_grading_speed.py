"""How fast the ``gaokao`` scorer grades, item type by item type (one process, no pool).

    .venv/bin/python benchmarks/gaokao_grading_speed.py [--data ../shared/data/gaokao-bench] [--repeat 20]

Prints items per second and the p95 time per item for: the built-in paper's solutions marked by
the deterministic ``answer`` grader (reference solutions, and the same text with every number
perturbed so that no key result matches and every candidate goes through math equivalence), and,
when the GAOKAO-Bench data is present, GPT-4-0314's published MCQ and fill-in outputs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from evalkit.grading import GraderSpec, grade
from evalkit.grading.gaokao import equivalent
from evalkit.tasks import get_task
from evalkit.tasks.gaokao import load_gaokao_bench, read_gaokao_bench_outputs
from evalkit.tasks.task import DatasetSpec
from evalkit.types import Sample

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gaokao-bench"


def measure(label: str, items: list[tuple[Sample, str]], spec: GraderSpec, repeat: int) -> None:
    times: list[float] = []
    grade(*items[0], spec)  # warm-up: imports and the grading room's sympy worker
    for _ in range(repeat):
        for sample, output in items:
            equivalent.cache_clear()  # every item pays for its own comparisons
            t0 = time.perf_counter()
            grade(sample, output, spec)
            times.append(time.perf_counter() - t0)
    total = sum(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    print(f"{label:<52} {len(times):>6} items  {len(times) / total:>9.1f} items/s  p95 {1000 * p95:7.2f} ms")


def perturb(text: str) -> str:
    """Every digit shifted by one: the same shape of answer, no key result right."""
    shift: Callable[[re.Match[str]], str] = lambda m: str((int(m.group(0)) + 1) % 10)  # noqa: E731
    return re.sub(r"\d", shift, text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    solutions = [s for s in get_task("gaokao-math").samples if s.metadata["type"] == "solution"]
    spec = GraderSpec("gaokao", {"graders": ["answer"]})
    refs = [(s, str(s.metadata["reference_response"])) for s in solutions]
    measure("built-in solutions, answer grader, reference text", refs, spec, args.repeat)
    measure("built-in solutions, answer grader, perturbed text", [(s, perturb(o)) for s, o in refs], spec,
            max(1, args.repeat // 4))
    if not args.data.is_dir():
        print(f"(no GAOKAO-Bench data at {args.data}; published outputs skipped)")
        return
    for files, rel in (("*MCQs.json", "Results/gpt_4_0314_obj"), ("*Fill-in-the-Blank.json", "Results/gpt_4_0314_sub")):
        samples = list(load_gaokao_bench(DatasetSpec("gaokao-bench", path=args.data, options={"files": files})))
        outputs = read_gaokao_bench_outputs(args.data / rel)
        items = [(s, outputs.get(s.id, "")) for s in samples]
        for name, options in (("last_capital", {"extract": "last_capital"}), ("default", {})):
            if files.startswith("*Fill") and name == "last_capital":
                continue
            measure(f"GAOKAO-Bench {files[1:-5]} GPT-4-0314, {name}", items, GraderSpec("gaokao", options), 1)


if __name__ == "__main__":
    main()

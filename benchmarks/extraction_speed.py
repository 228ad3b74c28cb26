"""How long final-answer extraction takes on hostile responses, beside a linear reference.

A red-team response of 70 KB of repeated "The answer is " once took 25 s to read (140 KB: 106 s),
each costing the whole grading time limit. This prints, for 70 KB and 140 KB of several repeated
patterns, the time of ``extract_final_answer`` and, as the named reference measured in the same run,
one ``re.finditer`` pass of the answer-cue pattern over the same text (the floor of any reader that
looks at every cue). A linear extractor stays a small multiple of the reference at both sizes.

    .venv/bin/python benchmarks/extraction_speed.py [--sizes 70000,140000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalkit.grading.extract import _CUE_RE, extract_final_answer  # noqa: E402

PATTERNS = {
    "repeated 'The answer is '": "The answer is ",
    "repeated 'the answer is not '": "the answer is not ",
    "repeated '答案是'": "答案是",
    "repeated '【答案】'": "【答案】",
    "unclosed '\\boxed{'": "\\boxed{",
    "side-by-side '\\boxed{1} '": "\\boxed{1} ",
    "math segments '$1$ x '": "$1$ x ",
    "ruled out '或 1（舍去 1）'": "或 1（舍去 1）",
    "ruled out 'x=1（舍）或 '": "x=1（舍）或 ",
}


def best_of(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="70000,140000", help="answer lengths in characters, comma-separated")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'pattern':<34} {'chars':>7} {'extract':>10} {'reference':>10} {'ratio':>7}")
    for label, unit in PATTERNS.items():
        for size in sizes:
            text = unit * (size // len(unit))
            took = best_of(lambda t=text: extract_final_answer(t))
            ref = best_of(lambda t=text: sum(1 for _ in _CUE_RE.finditer(t)))
            print(f"{label:<34} {len(text):>7} {took * 1000:>8.1f}ms {ref * 1000:>8.2f}ms {took / max(ref, 1e-9):>6.0f}x")


if __name__ == "__main__":
    main()

"""The letter-reading corpus: responses written here in the styles chat models use, with a teacher's reading."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "benchmarks" / "letter_corpus.jsonl"
FIELDS = {"id", "multi", "lang", "tags", "expected", "response"}


def load() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_corpus_is_well_formed_and_covers_what_the_issue_names() -> None:
    cases = load()
    assert len(cases) >= 400
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert FIELDS <= set(c), c["id"]
        assert c["lang"] in ("zh", "en"), c["id"]
        assert c["expected"] is None or (c["expected"] and all(x in "ABCDEFGHIJ" for x in c["expected"])), c["id"]
        assert c["multi"] or c["expected"] is None or len(c["expected"]) <= 2, c["id"]
    kinds = Counter(("multi" if c["multi"] else "single", c["lang"]) for c in cases)
    assert all(kinds[(k, lang)] >= 40 for k in ("multi", "single") for lang in ("zh", "en")), kinds
    tags = Counter(t for c in cases for t in c["tags"])
    for style in ("separator", "markdown", "boxed", "echo", "discussion-after", "discussion-before", "tail",
                  "revision", "refusal", "english-list", "inline-math", "rejected-after"):
        assert tags[style] >= 8, style
    seps = {t for c in cases for t in c["tags"] if t.startswith("sep:")}
    assert {"sep:、", "sep:，", "sep:,", "sep:;", "sep:；", "sep:和", "sep:及", "sep:与", "sep:' '", "sep:''"} <= seps


def _as_set(letters: list[str] | None) -> list[str] | None:
    return sorted(set(letters)) if letters else None


def test_evalkit_reads_every_response_as_a_teacher_does() -> None:
    from evalkit.grading.letters import extract_letters

    misread = [(c["id"], c["expected"], extract_letters(c["response"], c["multi"])) for c in load()
               if _as_set(extract_letters(c["response"], c["multi"])) != _as_set(c["expected"])]
    assert misread == []


def test_the_last_capital_rule_misreads_what_the_issue_describes() -> None:
    """The benchmark's rule is kept for reproduction only: it reads discussions after a conclusion as picks."""
    from evalkit.grading.letters import gaokao_bench_letters

    after = [c for c in load() if "discussion-after" in c["tags"] or "rejected-after" in c["tags"]]
    naive = [gaokao_bench_letters(c["response"], "multi_choice" if c["multi"] else "single_choice") for c in after]
    agree = sum(_as_set([ch for x in n for ch in x]) == _as_set(c["expected"]) for n, c in zip(naive, after, strict=True))
    assert agree < len(after) / 2

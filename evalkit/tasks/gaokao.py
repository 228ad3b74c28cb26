"""Gaokao papers: evalkit's item schema and paper model, and loaders for public layouts.

This module owns:

* the Gaokao item schema (documented in ``docs/gaokao.md``): an item has a paper, a number, a type
  (``single | multi | fill | solution``), the question (LaTeX), options, the answer, its points (one
  integer, or one per blank) and, for solutions, a rubric of steps with points;
* the paper model: a paper is a list of items whose points add up to its total; loading checks the
  sum, the types and the declared layout, and names the item that is off;
* ``load_paper(spec)`` — evalkit's own paper format (YAML or JSON), registered as ``gaokao-paper``;
* ``load_gaokao_bench(spec)`` — GAOKAO-Bench's JSON layout (objective and subjective files),
  registered as ``gaokao-bench``;
* ``read_gaokao_bench_outputs(path)`` — published GAOKAO-Bench model outputs as ``{id: output}``
  for the ``replay:`` adapter, and ``read_gaokao_bench_marks(path)`` — the published judge grades.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.grading.gaokao import ITEM_TYPES
from evalkit.grading.letters import BENCH_QUESTION_TYPES
from evalkit.grading.multi_rules import DEFAULT_MULTI_RULE, EXAM_RULES, rule_for
from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.types import Image, Sample, Text

SECTION_TITLES = {"single": "单项选择题", "multi": "多项选择题", "group": "选择题组", "fill": "填空题", "solution": "解答题"}
LETTERS = "ABCDEFGHIJ"

# The current national layout (新课标 I/II since 2024): number -> (type, points).
LAYOUTS: dict[str, dict[int, tuple[str, int]]] = {
    "新课标": {
        **{n: ("single", 5) for n in range(1, 9)},
        **{n: ("multi", 6) for n in range(9, 12)},
        **{n: ("fill", 5) for n in range(12, 15)},
        15: ("solution", 13), 16: ("solution", 15), 17: ("solution", 15), 18: ("solution", 17), 19: ("solution", 17),
    },
    # The older national layout (全国卷, to 2023): 12 single, 4 fill, 5 solutions, one elective of 22/23.
    "全国卷": {
        **{n: ("single", 5) for n in range(1, 13)},
        **{n: ("fill", 5) for n in range(13, 17)},
        **{n: ("solution", 12) for n in range(17, 22)},
        22: ("solution", 10), 23: ("solution", 10),
    },
}
ELECTIVE_NUMBERS = {"全国卷": (22, 23)}


class PaperError(TaskError):
    """A paper file is wrong; the message names the file and the item."""


@dataclass(frozen=True)
class RubricStep:
    """One marking step of a solution: what earns the points, and the checkable result it reaches.

    ``results`` are alternative forms of the step's key result (``lhs = rhs`` or ``lhs < rhs``...);
    the ``answer`` grader awards ``points`` when one of them is found in the response.
    ``cumulative`` is the running total of the item's points up to and including this step;
    ``final`` marks the final answer of a part.
    """

    part: str
    step: str
    points: int
    cumulative: int
    results: tuple[str, ...] = ()
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "step": self.step, "points": self.points, "cumulative": self.cumulative,
                "results": list(self.results), "final": self.final}


@dataclass(frozen=True)
class GaokaoItem:
    """One question of a paper, validated."""

    id: str
    paper: str
    number: int
    type: str
    question: str
    points: int | tuple[int, ...]
    answer: Any  # "B" | ["A","C"] | ["blank1", ...] | final answers of a solution
    options: tuple[str, ...] | None = None
    images: tuple[str, ...] = ()
    rubric: tuple[RubricStep, ...] = ()
    solution: str = ""
    analysis: str = ""
    year: str | None = None
    elective: str | None = None
    rule: str | None = None
    reference_response: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def max_points(self) -> int:
        return sum(self.points) if isinstance(self.points, tuple) else self.points

    def to_sample(self) -> Sample:
        meta: dict[str, Any] = {
            "paper": self.paper,
            "number": self.number,
            "type": self.type,
            "section": self.type,
            "points": list(self.points) if isinstance(self.points, tuple) else self.points,
            **self.extra,
        }
        if self.options:
            meta["n_choices"] = len(self.options)
        if self.type == "multi":
            meta["rule"] = self.rule or DEFAULT_MULTI_RULE
        if self.rubric:
            meta["rubric"] = [s.to_dict() for s in self.rubric]
        if self.solution:
            meta["solution"] = self.solution
        if self.analysis:
            meta["analysis"] = self.analysis
        for key in ("year", "elective"):
            if getattr(self, key) is not None:
                meta[key] = getattr(self, key)
        meta["reference_response"] = self.reference_response or default_reference_response(self)
        inp: str | tuple[Any, ...] = self.question
        if self.images:
            inp = (*(Image(p) for p in self.images), Text(self.question))
        target: Any = self.answer
        if isinstance(target, tuple):
            target = list(target)
        return Sample(id=self.id, input=inp, target=target, choices=self.options, metadata=meta)


def default_reference_response(item: GaokaoItem) -> str:
    """How a strong student would write the answer: the worked analysis, then the conclusion."""
    lead = item.analysis.strip()
    if item.type in ("single", "multi"):
        letters = "".join(item.answer) if isinstance(item.answer, list | tuple) else str(item.answer)
        return f"{lead}\n故选{letters}。" if f"故选{letters}" not in lead else lead
    if item.type == "group":
        return "\n".join([lead, *(f"（{k}）【答案】{a} <eoa>" for k, a in enumerate(item.answer, 1))]).strip()
    if item.type == "fill":
        blanks = list(item.answer)
        if len(blanks) == 1:
            return f"{lead}\n故答案为 $\\boxed{{{blanks[0]}}}$。"
        names = "一二三四五六"
        said = "，".join(f"第{names[i]}空 $\\boxed{{{b}}}$" for i, b in enumerate(blanks))
        return f"{lead}\n故答案为：{said}。"
    return item.solution or lead


# -- evalkit's own paper format ---------------------------------------------------------------------
ITEM_FIELDS = {"number", "type", "points", "question", "options", "answer", "images", "rubric", "solution",
               "analysis", "elective", "rule", "reference_response", "id", "section", "year", "metadata",
               "half_marks", "threshold", "approximate"}
STEP_FIELDS = {"part", "step", "points", "cumulative", "result", "results", "final"}
PAPER_FIELDS = {"paper", "title", "year", "total", "layout", "items", "rule", "half_marks", "threshold"}


def _where(path: Path, raw: dict[str, Any], n: int) -> str:
    num = raw.get("number")
    return f"{path}: item {n}" + (f" (question {num})" if num is not None else "")


def _check_points(where: str, kind: str, points: Any, answer: Any) -> int | tuple[int, ...]:
    if isinstance(points, list):
        if kind not in ("fill", "group"):
            raise PaperError(f"{where}: 'points' is a list, which only a fill-in or group item may have (one per blank)")
        if not all(isinstance(p, int) and p > 0 for p in points):
            raise PaperError(f"{where}: 'points' must be positive integers, got {points!r}")
        if not isinstance(answer, list) or len(answer) != len(points):
            raise PaperError(f"{where}: {len(points)} blank points but {len(answer) if isinstance(answer, list) else 1} answers")
        return tuple(points)
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise PaperError(f"{where}: 'points' must be a positive integer (or one per blank), got {points!r}")
    return points


def _check_options(where: str, options: Any) -> tuple[str, ...]:
    if isinstance(options, dict):
        keys = list(options)
        if keys != list(LETTERS[: len(keys)]):
            raise PaperError(f"{where}: options must be lettered A, B, C, ... in order, got {keys}")
        return tuple(str(v) for v in options.values())
    if isinstance(options, list) and len(options) >= 2:
        return tuple(str(v) for v in options)
    raise PaperError(f"{where}: a choice item needs 'options' (a mapping A: text, B: text, ... or a list)")


def _check_answer(where: str, kind: str, answer: Any, n_options: int) -> Any:
    valid = set(LETTERS[:n_options])
    if kind == "single":
        if not (isinstance(answer, str) and answer.strip().upper() in valid):
            raise PaperError(f"{where}: a single-choice answer must be one of {sorted(valid)}, got {answer!r}")
        return answer.strip().upper()
    if kind == "multi":
        letters = list(answer) if isinstance(answer, str) else answer
        if not isinstance(letters, list) or not letters or not all(str(a).upper() in valid for a in letters):
            raise PaperError(f"{where}: a multi-select answer must be a list of letters from {sorted(valid)}, got {answer!r}")
        return sorted({str(a).upper() for a in letters})
    if kind == "fill":
        blanks = answer if isinstance(answer, list) else [answer]
        if not blanks or any(b is None or str(b).strip() == "" for b in blanks):
            raise PaperError(f"{where}: a fill-in answer must give every blank, got {answer!r}")
        return [str(b).strip() for b in blanks]
    if kind == "group":
        letters = list(answer) if isinstance(answer, str) else answer
        if not isinstance(letters, list) or len(letters) < 2 or not all(str(a).strip().upper() in LETTERS for a in letters):
            raise PaperError(f"{where}: a group answer must be a list of letters, one per sub-question, got {answer!r}")
        return [str(a).strip().upper() for a in letters]
    return answer


def _check_rubric(where: str, raw_steps: Any, points: int) -> tuple[RubricStep, ...]:
    if raw_steps is None:
        return ()
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PaperError(f"{where}: 'rubric' must be a list of steps")
    steps: list[RubricStep] = []
    running = 0
    for k, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict):
            raise PaperError(f"{where}: rubric step {k} must be a mapping")
        unknown = set(raw) - STEP_FIELDS
        if unknown:
            raise PaperError(f"{where}: rubric step {k} has unknown field(s) {sorted(unknown)}; allowed: {sorted(STEP_FIELDS)}")
        pts = raw.get("points")
        if not isinstance(pts, int) or isinstance(pts, bool) or pts < 0:
            raise PaperError(f"{where}: rubric step {k} needs integer 'points', got {pts!r}")
        running += pts
        if "cumulative" in raw and raw["cumulative"] != running:
            raise PaperError(f"{where}: rubric step {k} says cumulative {raw['cumulative']} but the steps so far add up to {running}")
        res = raw.get("results", raw.get("result"))
        results = tuple(str(r) for r in (res if isinstance(res, list) else [res] if res is not None else []))
        steps.append(RubricStep(str(raw.get("part", "")), str(raw.get("step", "")), pts, running, results,
                                bool(raw.get("final", False))))
    if running != points:
        raise PaperError(f"{where}: the rubric steps add up to {running} points but the item is worth {points}")
    return tuple(steps)


def parse_item(path: Path, raw: Any, n: int, paper: str, defaults: dict[str, Any]) -> GaokaoItem:
    """Validate one raw item of a paper file; every mistake names the file and the item."""
    if not isinstance(raw, dict):
        raise PaperError(f"{path}: item {n} must be a mapping")
    where = _where(path, raw, n)
    unknown = set(raw) - ITEM_FIELDS
    if unknown:
        raise PaperError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(ITEM_FIELDS)}")
    number = raw.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise PaperError(f"{where}: 'number' must be a positive integer, got {number!r}")
    kind = raw.get("type")
    if kind not in ITEM_TYPES:
        raise PaperError(f"{where}: 'type' is {kind!r}; allowed: {', '.join(ITEM_TYPES)}")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise PaperError(f"{where}: 'question' (the question text) is missing")
    options = _check_options(where, raw.get("options")) if kind in ("single", "multi") else None
    answer = _check_answer(where, kind, raw.get("answer"), len(options or ()))
    points = _check_points(where, kind, raw.get("points"), answer)
    rubric: tuple[RubricStep, ...] = ()
    if kind == "solution":
        rubric = _check_rubric(where, raw.get("rubric"), int(points))  # type: ignore[arg-type]
        if not raw.get("solution") and not rubric:
            raise PaperError(f"{where}: a solution item needs a reference 'solution' or a 'rubric'")
        if answer is None:
            answer = [r.results[0] for r in rubric if r.final and r.results]
    rule = raw.get("rule", defaults.get("rule"))
    if kind == "multi" and rule is not None and rule not in EXAM_RULES:
        raise PaperError(f"{where}: 'rule' is {rule!r}; allowed: {', '.join(EXAM_RULES)}")
    images = raw.get("images") or []
    base = path.parent
    image_paths = tuple(str(p if Path(p).is_absolute() else base / p) for p in images)
    year = raw.get("year", defaults.get("year"))
    extra = {**dict(raw.get("metadata") or {}), **_marking(where, raw, defaults)}
    return GaokaoItem(
        id=str(raw.get("id") or f"{paper}-{number:02d}"),
        paper=paper, number=number, type=kind, question=question.strip(), points=points, answer=answer,
        options=options, images=image_paths, rubric=rubric, solution=str(raw.get("solution") or "").strip(),
        analysis=str(raw.get("analysis") or "").strip(), year=str(year) if year is not None else None,
        elective=raw.get("elective"), rule=rule, reference_response=raw.get("reference_response"),
        extra=extra,
    )


def _marking(where: str, raw: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """How teachers mark the item: ``half_marks`` (halves allowed on solutions) and the double-marking ``threshold``."""
    out: dict[str, Any] = {}
    halves = raw.get("half_marks", defaults.get("half_marks"))
    if halves is not None:
        if not isinstance(halves, bool):
            raise PaperError(f"{where}: 'half_marks' must be true or false, got {halves!r}")
        out["half_marks"] = halves
    threshold = raw.get("threshold", defaults.get("threshold"))
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
            raise PaperError(f"{where}: 'threshold' (points two markers may differ by) must be a number >= 0, "
                             f"got {threshold!r}")
        out["threshold"] = float(threshold)
    approximate = raw.get("approximate")
    if approximate is not None:
        if not isinstance(approximate, bool):
            raise PaperError(f"{where}: 'approximate' (the question asks for a decimal approximation) must be true or "
                             f"false, got {approximate!r}")
        out["approximate"] = approximate
    return out


@dataclass(frozen=True)
class Paper:
    """A validated paper: its name, declared total and items in order."""

    name: str
    title: str
    total: int
    items: tuple[GaokaoItem, ...]

    @property
    def max_points(self) -> int:
        """Points a candidate can earn: every item, an elective group counted once."""
        seen: set[str] = set()
        total = 0
        for item in self.items:
            if item.elective:
                if item.elective in seen:
                    continue
                seen.add(item.elective)
            total += item.max_points
        return total


def _check_layout(path: Path, layout: str, items: list[GaokaoItem]) -> None:
    expected = LAYOUTS.get(layout)
    if expected is None:
        raise PaperError(f"{path}: 'layout' is {layout!r}; known layouts: {', '.join(LAYOUTS)} (or leave it out)")
    for item in items:
        want = expected.get(item.number)
        if want is None:
            raise PaperError(f"{path}: question {item.number} does not exist in the {layout} layout (1–{max(expected)})")
        if (item.type, item.max_points) != want:
            raise PaperError(f"{path}: question {item.number} is a {item.type} worth {item.max_points} points; "
                             f"the {layout} layout has a {want[0]} worth {want[1]}")
    missing = sorted(set(expected) - {i.number for i in items})
    if missing:
        raise PaperError(f"{path}: question(s) {missing} of the {layout} layout are missing")
    pair = ELECTIVE_NUMBERS.get(layout)
    if pair:
        groups = {i.elective for i in items if i.number in pair}
        if len(groups) != 1 or None in groups:
            raise PaperError(f"{path}: questions {pair[0]} and {pair[1]} of the {layout} layout are an elective pair; "
                             "give both the same 'elective' group")


def parse_paper(path: Path, data: Any) -> Paper:
    """Validate a whole paper: items, unique numbers, the layout if declared, and the total."""
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PaperError(f"{path}: a paper is a mapping with 'items' (a list of questions)")
    unknown = set(data) - PAPER_FIELDS
    if unknown:
        raise PaperError(f"{path}: unknown paper field(s) {sorted(unknown)}; allowed: {sorted(PAPER_FIELDS)}")
    name = str(data.get("paper") or path.stem)
    defaults = {k: data[k] for k in ("year", "rule", "half_marks", "threshold") if k in data}
    items = [parse_item(path, raw, n, name, defaults) for n, raw in enumerate(data["items"], 1)]
    seen: dict[int, int] = {}
    for n, item in enumerate(items, 1):
        if item.number in seen:
            raise PaperError(f"{path}: item {n} repeats question number {item.number} (first at item {seen[item.number]})")
        seen[item.number] = n
    if data.get("layout"):
        _check_layout(path, str(data["layout"]), items)
    paper = Paper(name, str(data.get("title") or name), int(data.get("total") or 0), tuple(items))
    if data.get("total") is not None and paper.max_points != paper.total:
        by_type = {t: sum(i.max_points for i in items if i.type == t) for t in ITEM_TYPES}
        raise PaperError(f"{path}: the items add up to {paper.max_points} points but 'total' is {paper.total} "
                         f"(single {by_type['single']}, multi {by_type['multi']}, fill {by_type['fill']}, "
                         f"solution {by_type['solution']})")
    return paper


def read_paper(path: str | Path) -> Paper:
    """Read and validate a paper file (``.yaml``/``.yml`` or ``.json``)."""
    p = Path(path)
    if not p.is_file():
        raise PaperError(f"{p}: paper file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PaperError(f"{p}: not UTF-8 text") from None
    if p.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise PaperError(f"{p}: not valid YAML" + (f" at line {mark.line + 1}" if mark else "")) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PaperError(f"{p}: not valid JSON at line {exc.lineno} ({exc.msg})") from None
    return parse_paper(p, data)


def paper_identity(path: Path) -> tuple[str, str] | None:
    """The name and title a paper file gives itself (a task pointed at it is named after it), or None for
    a folder of papers."""
    if not path.is_file():
        return None
    paper = read_paper(path)
    return paper.name, paper.title or paper.name


def is_paper_file(path: Path) -> bool:
    """Whether a YAML/JSON file is a paper in evalkit's format (``paper`` and ``items``), not a task file."""
    import yaml

    if path.suffix not in (".yaml", ".yml", ".json"):
        return False
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError):
        return False  # whoever reads it next says what is wrong
    return isinstance(data, dict) and "items" in data and "dataset" not in data


def load_paper(spec: DatasetSpec) -> list[Sample]:
    """Dataset format ``gaokao-paper``: one paper file, or a folder of them (one sample per item)."""
    if spec.path is None:
        raise PaperError("dataset format 'gaokao-paper' needs a path to a paper file or folder")
    files = [spec.path] if spec.path.is_file() else sorted(
        [*spec.path.glob("*.yaml"), *spec.path.glob("*.yml"), *spec.path.glob("*.json")])
    files = [f for f in files if f.name != "task.yaml"]
    if not files:
        raise PaperError(f"{spec.path}: no paper file (.yaml or .json) found")
    return [item.to_sample() for f in files for item in read_paper(f).items]


load_paper.identity = paper_identity  # type: ignore[attr-defined]  # the data names the task


# -- GAOKAO-Bench -------------------------------------------------------------------------------------
_ROMAN = {"ⅰ": "I", "ⅱ": "II", "ⅲ": "III", "Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III"}
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[\.．、]")
_KIND_BY_KEYWORD = (("MCQs", "choice"), ("Fill-in-the-Blank", "fill"), ("Open-ended", "solution"))
_STREAM = {"Math_I": "理科", "Math_II": "文科"}


def normalize_category(category: str) -> str:
    """``（新课标ⅰ）`` and ``（新课标Ⅰ）`` both become ``新课标I`` (the data mixes the two numerals)."""
    text = category.strip().strip("()（）").strip()
    return "".join(_ROMAN.get(ch, ch) for ch in text)


def _bench_kind(keyword: str, declared: str | None = None, folder: str = "") -> str:
    if declared in BENCH_QUESTION_TYPES or folder == "Objective_Questions":
        return "choice"
    for marker, kind in _KIND_BY_KEYWORD:
        if marker in keyword:
            return kind
    raise TaskError(f"GAOKAO-Bench file {keyword!r}: not an objective (Data/Objective_Questions), Fill-in-the-Blank "
                    "or Open-ended file")


# GAOKAO-Bench's file keywords name their subject; multi-select rules and paper names follow it
SUBJECTS = {"Math": ("math", "数学"), "Physics": ("physics", "物理"), "Chemistry": ("chemistry", "化学"),
            "Biology": ("biology", "生物"), "History": ("history", "历史"), "Geography": ("geography", "地理"),
            "Political": ("politics", "政治"), "Politics": ("politics", "政治"), "Chinese": ("chinese", "语文"),
            "English": ("english", "英语")}


def subject_of(keyword: str) -> tuple[str, str]:
    """``("physics", "物理")`` for ``2010-2022_Physics_MCQs``; ``("", "")`` when the keyword names none."""
    return next((v for k, v in SUBJECTS.items() if k.lower() in keyword.lower()), ("", ""))


# the question type GAOKAO-Bench's Bench/Obj_Prompt.json declares per objective file, for a checkout without it
_BENCH_TYPES = {"English_Cloze_Test": "five_out_of_seven", "English_Fill_in_Blanks": "multi_question_choice",
                "English_Reading_Comp": "multi_question_choice", "Geography_MCQs": "multi_question_choice",
                "Chinese_Modern_Lit": "multi_question_choice", "Chinese_Lang_and_Usage_MCQs": "multi_question_choice",
                "Physics_MCQs": "multi_choice"}


def bench_question_type(keyword: str, declared: str | None = None) -> str:
    """The benchmark's question type of a file: as ``Bench/Obj_Prompt.json`` declares it, else its known one."""
    if declared in BENCH_QUESTION_TYPES:
        return str(declared)
    return next((t for k, t in _BENCH_TYPES.items() if keyword.endswith(k)), "single_choice")


def _bench_files(root: Path, pattern: str) -> list[Path]:
    if root.is_file():
        if not _is_bench_data(root):
            raise TaskError(f"{root}: not a GAOKAO-Bench data file (a JSON object with 'keywords' and 'example')")
        return [root]
    if not root.is_dir():
        raise TaskError(f"{root}: GAOKAO-Bench folder not found; pass --data PATH to a GAOKAO-Bench checkout")
    base = root / "Data" if (root / "Data").is_dir() else root
    files = sorted(p for p in base.rglob("*.json") if p.match(pattern) and not p.name.startswith("."))
    files = [p for p in files if _is_bench_data(p)]
    if not files:
        raise TaskError(f"{root}: no GAOKAO-Bench data files matching {pattern!r} (expected Data/*/*.json)")
    return files


def _is_bench_data(path: Path) -> bool:
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(head, dict) and isinstance(head.get("example"), list) and "keywords" in head


def _bench_prompts(root: Path) -> dict[str, dict[str, str]]:
    """GAOKAO-Bench's own instruction and question type per file keyword, from its ``Bench/*_Prompt.json``."""
    out: dict[str, dict[str, str]] = {}
    folder = next((p / "Bench" for p in [root, *root.parents][:4] if (p / "Bench").is_dir()), None)
    for name in ("Obj_Prompt.json", "Sub_Prompt.json"):
        if folder is None:
            break
        p = folder / name
        if p.is_file():
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise TaskError(f"{p}: not valid JSON ({exc})") from None
            examples = data.get("examples") if isinstance(data, dict) else None
            for ex in examples if isinstance(examples, list) else []:
                if isinstance(ex, dict) and ex.get("keyword"):
                    out[str(ex["keyword"])] = {"prefix": str(ex.get("prefix_prompt", "")), "type": str(ex.get("type", ""))}
    return out


def bench_sample_id(keyword: str, index: Any) -> str:
    return f"{keyword}:{index}"


_PARTS = re.compile(r"\(\d\)\s*[.．]?\s*")


def bench_blanks(answer: str) -> list[str]:
    """A GAOKAO-Bench fill-in answer as clean blanks.

    The published answers end in a sentence period (``4 .``, ``$\\frac{1}{2}$.``), carry OCR spaces in
    decimals (``0. 98``), give equal alternative forms after ``\\#\\#`` (``$\\frac{3}{10} \\# \\# 0.3$``),
    and number the blanks of a two-blank item (``(1). $-\\frac{1}{2} ; \\quad$ (2). $\\ln 2$.``); an answer
    such as ``(1)(2)(3)`` (the true statements) stays one blank.
    """
    text = answer.strip()
    pieces = [p for p in _PARTS.split(text) if p.strip()] if _PARTS.match(text) else []
    if len(pieces) < 2:  # "(1)(2)(3)" names the true statements: one blank
        pieces = [text]
    return [_clean_blank(p) for p in pieces]


def _clean_blank(text: str) -> str:
    t = re.split(r"\\#\s*\\#", text)[0].strip()
    t = re.sub(r"(?:\\quad|[;；,，\s])+(\$?)\s*$", r"\1", t)
    t = re.sub(r"\s*[.。]+\s*$", "", t)  # a sentence period ("4." is 4 all the same)
    t = re.sub(r"\s*[（(][^()（）]*(?:皆可|均可|即可|不唯一)[^()（）]*[)）]\s*$", "", t)  # "2 (满足 … 皆可)"
    t = re.sub(r"(\d)\.\s+(\d)", r"\1.\2", t)
    t = re.sub(r"(?:\\quad|[;；\s])+\$$", "$", t).strip()
    if t.count("$") % 2 or (t.startswith("$") and t.endswith("$") and t.count("$") == 2):
        t = t.strip("$").strip()  # "$14 \\pi$" → "14 \\pi": a blank is math, without delimiters
    return t


def _bench_item(keyword: str, raw: dict[str, Any], where: str, declared: str = "", folder: str = "") -> GaokaoItem:
    kind = _bench_kind(keyword, declared, folder)
    try:
        year, index, score = str(raw["year"]), raw["index"], raw["score"]
        question = str(raw["question"])
    except KeyError as exc:
        raise TaskError(f"{where}: missing field {exc}") from None
    if not isinstance(score, int | float) or isinstance(score, bool) or score <= 0:
        raise TaskError(f"{where}: 'score' is {score!r}; expected a number of points above 0")
    subject, subject_zh = subject_of(keyword)
    stream = next((v for k, v in _STREAM.items() if f"_{k}_" in f"_{keyword}_"), "")
    paper = f"{year}-{normalize_category(str(raw.get('category', '')))}"
    paper += f"-{stream}" if stream else (f"-{subject_zh}" if subject not in ("", "math") else "")
    m = _NUMBER.match(question)
    number = int(m.group(1)) if m else int(index) + 1
    answer: Any = raw.get("answer")
    extra: dict[str, Any] = {"source": "GAOKAO-Bench", "file": keyword, "index": index, "numbered": bool(m)}
    if subject:
        extra["subject"] = subject
    points: int | float | tuple[float, ...] = int(score) if float(score).is_integer() else float(score)
    if kind == "choice":
        letters = [str(a).strip().upper() for a in (answer if isinstance(answer, list) else [answer])]
        if not letters or not all(re.fullmatch(r"[A-J]+", a) for a in letters):
            raise TaskError(f"{where}: 'answer' is {answer!r}; expected option letters")
        qtype = bench_question_type(keyword, declared)
        extra["bench_type"] = qtype
        extra["n_choices"] = 7 if qtype == "five_out_of_seven" else 4
        if len(letters) > 1 and qtype in ("multi_question_choice", "five_out_of_seven"):
            # one letter per sub-question; the benchmark's score is per sub-question
            kind, answer, points = "group", letters, tuple(points for _ in letters)  # type: ignore[misc]
        elif len(letters) > 1 or len(letters[0]) > 1:  # several correct options of one question
            kind, answer = "multi", sorted({ch for a in letters for ch in a})
        else:
            kind, answer = "single", letters[0]
    elif kind == "fill":
        answer = bench_blanks(str(answer))
        if answer != [str(raw.get("answer", "")).strip()]:
            extra["published_answer"] = str(raw.get("answer", "")).strip()
    else:
        answer = str(answer or "").strip()
    elective = f"{paper}:选考" if kind == "solution" and number >= 22 and int(score) == 10 else None
    return GaokaoItem(
        id=bench_sample_id(keyword, index), paper=paper, number=number, type=kind, question=question.strip(),
        points=points, answer=answer, solution=answer if kind == "solution" else "",  # type: ignore[arg-type]
        analysis=str(raw.get("analysis") or "").strip(), year=year, elective=elective,
        rule=rule_for(year, subject or "math") if kind == "multi" else None, extra=extra,
    )


def load_gaokao_bench(spec: DatasetSpec) -> Iterator[Sample]:
    """Dataset format ``gaokao-bench``: GAOKAO-Bench data files (a file, its ``Data/`` folder or the checkout).

    Options (``dataset.options``): ``files`` — a glob the file names must match (default ``*.json``).
    Every objective file of the benchmark loads (``Data/Objective_Questions``): an item's key is a list with
    one entry per scored answer — one letter (a single choice), one string of letters (``["AC"]``: a
    multi-select, graded by the national rule of its subject and year, e.g. ``physics-legacy``), or one
    letter for each of several consecutive sub-questions on one material (an English cloze or reading
    passage, a geography map: a ``group`` item whose ``score`` is per sub-question). The benchmark's own
    question type (``Bench/Obj_Prompt.json``) lands in ``metadata["bench_type"]`` (for ``extract:
    gaokao-bench``), its instruction in ``metadata["prompt_prefix"]``, the subject in ``metadata["subject"]``.
    """
    if spec.path is None:
        raise TaskError("dataset format 'gaokao-bench' needs a path: pass --data PATH to a GAOKAO-Bench checkout")
    pattern = str(spec.options.get("files", "*.json"))
    prompts = _bench_prompts(spec.path)
    for path in _bench_files(spec.path, pattern):
        data = json.loads(path.read_text(encoding="utf-8"))
        keyword = str(data.get("keywords") or path.stem)
        declared = prompts.get(keyword, {})
        for n, raw in enumerate(data["example"], 1):
            if not isinstance(raw, dict):
                raise TaskError(f"{path}: example {n} is not an object")
            item = _bench_item(keyword, raw, f"{path}: example {n}", declared.get("type", ""), path.parent.name)
            sample = item.to_sample()
            if declared.get("prefix"):
                sample.metadata["prompt_prefix"] = declared["prefix"]
            yield sample


def _output_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
    return []


def _output_examples(path: Path) -> tuple[str, list[dict[str, Any]]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("example"), list):
        return None
    examples = [e for e in data["example"] if isinstance(e, dict)]
    if not examples or "model_output" not in examples[0]:
        return None
    return str(data.get("keyword") or data.get("keywords") or path.stem), examples


def _read_outputs(path: str | Path) -> dict[str, str]:
    """Published GAOKAO-Bench outputs (a results file or a folder of them) as ``{sample id: output}``.

    Several files may carry the same item (a model's results and its judge's correction file both
    repeat ``model_output``); identical copies are fine, different ones are an error naming both files.
    """
    root = Path(path)
    outputs: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for file in _output_files(root):
        found = _output_examples(file)
        if found is None:
            continue
        keyword, examples = found
        for ex in examples:
            sid = bench_sample_id(keyword, ex.get("index"))
            text = ex.get("model_output")
            text = "" if text is None else str(text)
            if sid in outputs and outputs[sid] != text:
                raise TaskError(f"{file}: item {sid} has a different output than in {origin[sid]}; replay one model's folder")
            outputs[sid] = text
            origin.setdefault(sid, file)
    if not outputs:
        raise TaskError(f"{root}: no GAOKAO-Bench output files (JSON with example[].model_output) found")
    return outputs


def _is_outputs(path: Path) -> bool:
    """Whether ``path`` is a GAOKAO-Bench output file, or a folder holding one."""
    return any(_output_examples(f) is not None for f in _output_files(path)[:50])


@dataclass(frozen=True)
class OutputLayout:
    """A published layout of model outputs, as the ``replay:`` adapter reads it: how to read a file or
    folder of it (``layout(path) -> {sample id: output}``) and how to recognise one (``layout.accepts``)."""

    read: Callable[[Path], dict[str, str]]
    recognise: Callable[[Path], bool]

    def __call__(self, path: str | Path) -> dict[str, str]:
        return self.read(Path(path))

    def accepts(self, path: str | Path) -> bool:
        return self.recognise(Path(path))


read_gaokao_bench_outputs = OutputLayout(_read_outputs, _is_outputs)


def read_gaokao_bench_marks(path: str | Path) -> dict[str, float]:
    """The published judge grades (``model_correction_score``) of a correction file or folder, by sample id.

    GAOKAO-Bench stores each grade as a one-element list; the raw value is returned unclipped
    (the published rates sum raw values; clipping to the item's points is the importer's job).
    """
    marks: dict[str, float] = {}
    for file in _output_files(Path(path)):
        found = _output_examples(file)
        if found is None:
            continue
        keyword, examples = found
        for ex in examples:
            if "model_correction_score" not in ex:
                continue
            raw = ex["model_correction_score"]
            values = raw if isinstance(raw, list) else [raw]
            try:
                marks[bench_sample_id(keyword, ex.get("index"))] = float(sum(float(v) for v in values))
            except (TypeError, ValueError):
                raise TaskError(f"{file}: item {ex.get('index')}: model_correction_score {raw!r} is not a number") from None
    return marks

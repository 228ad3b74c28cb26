"""Built-in scorers: exact, regex, choice, multi_select, fill_in, math_answer, rubric, human.

Each scorer is ``fn(sample, output, *, <options>) -> Score`` declared with ``@scorer``: its
keyword-only parameters are its options (checked when a task loads, see
:mod:`evalkit.grading.protocol`); ``rubric`` is async and takes a ``judge``. A scorer never raises
for a model's answer: what it cannot read is ``unparsed``, what it cannot check (a bad judge reply,
a missing mark) is ``error``, each with a reason.

Points: a sample's maximum comes from ``sample.metadata["points"]`` (a number, or a list per
blank for ``fill_in``), default 1. ``Score.value`` is the fraction of the maximum earned.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from evalkit.errors import MarksError
from evalkit.grading.equivalence import Verdict, math_equal
from evalkit.grading.extract import _CUE_RE, extract_blanks, extract_final_answer, is_bare_answer
from evalkit.grading.letters import extract_letter_groups, extract_letters, extract_letters_last_capital
from evalkit.grading.marks import read_marks
from evalkit.grading.multi_rules import DEFAULT_MULTI_RULE, MULTI_SELECT_RULES
from evalkit.grading.options import Extract, Rule, Seconds, Sets, Tolerance
from evalkit.grading.protocol import Check, Judge, scorer
from evalkit.types import Sample, Score

__all__ = ["choice", "choice_group", "exact", "fill_in", "human", "math_answer", "multi_select", "multi_select_points",
           "regex", "rubric"]


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def _score(ok: bool, mx: float, stage: str, extracted: Any, normalized: Any, reason: str,
           **details: Any) -> Score:
    return Score.right(ok, mx, stage=stage, extracted=extracted, normalized=normalized, reason=reason,
                       details=details)


def _unparsed(mx: float, stage: str, reason: str, extracted: Any = None) -> Score:
    return Score.ungraded("unparsed", mx, stage=stage, extracted=extracted, reason=reason)


def _norm_text(s: str, case: bool, space: bool) -> str:
    s = s.strip()
    if not space:
        s = re.sub(r"\s+", " ", s)
    return s if case else s.casefold()


# ----------------------------------------------------------------------------------------
# exact / regex
# ----------------------------------------------------------------------------------------
@scorer("exact", accepts="a target string, or a list of accepted strings")
def exact(sample: Sample, output: str, *, case_sensitive: bool = True, extract: bool = False) -> Score:
    """The (optionally extracted) output equals the target, or one of a list of targets."""
    mx = sample.max_points
    pred = extract_final_answer(output) if extract and output else output
    if pred is None:
        return _unparsed(mx, "string", "no final answer found")
    golds = sample.target if isinstance(sample.target, list | tuple) else [sample.target]
    p = _norm_text(str(pred), case_sensitive, False)
    ok = any(_norm_text(str(g), case_sensitive, False) == p for g in golds)
    return _score(ok, mx, "string", pred, p, "same text" if ok else "text differs")


def _compiles(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"not a regular expression ({exc})"
    return None if pattern else "an empty pattern matches everywhere"


@scorer("regex", accepts="a target string (or a list): what the pattern captures must equal it")
def regex(sample: Sample, output: str, *, pattern: Annotated[str, Check(_compiles, "a regular expression")],
          group: int | str = 1,
          ignore_case: bool = False) -> Score:
    """Extract with ``pattern`` (last match, capture ``group``) and compare with the target text."""
    mx = sample.max_points
    rx = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    matches = list(rx.finditer(output or ""))
    if not matches:
        return _unparsed(mx, "regex", f"pattern {pattern!r} did not match")
    m = matches[-1]
    try:
        got = m.group(group) if rx.groups else m.group(0)
    except IndexError:
        got = m.group(0)
    golds = sample.target if isinstance(sample.target, list | tuple) else [sample.target]
    norm = _norm_text(got or "", not ignore_case, False)
    ok = any(_norm_text(str(g), not ignore_case, False) == norm for g in golds)
    return _score(ok, mx, "regex", got, norm, "matched target" if ok else "extracted text differs")


# ----------------------------------------------------------------------------------------
# choice / multi_select
# ----------------------------------------------------------------------------------------
def _gold_letters(target: Any) -> list[str]:
    """``"C"``, ``["A", "C"]``, ``"AC"``, ``"A、C"`` or ``"(C)"`` as sorted letters; ``[]`` if not letters."""
    items = [str(x) for x in target] if isinstance(target, list | tuple) else [str(target)]
    out: list[str] = []
    for it in items:
        rest = re.sub(r"\\?(?:text|mathrm|textbf)|[\s(){}\[\]$,，、;；&]|and|和", "", it)
        if not rest or not re.fullmatch(r"[A-Ja-j]+", rest):
            return []
        for ch in rest.upper():
            if ch not in out:
                out.append(ch)
    return sorted(out)


def _read_letters(output: str, multi: bool, rule: Extract) -> list[str] | None:
    if rule == "last_capital":
        return extract_letters_last_capital(output, multi)
    return extract_letters(output, multi)


@scorer("choice", accepts="one option letter (A-J) as the target; with sample.choices, an option's text answers too")
def choice(sample: Sample, output: str, *, extract: Extract = "default") -> Score:
    """Single-answer multiple choice: exactly one letter, equal to the target letter."""
    mx = sample.max_points
    gold = _gold_letters(sample.target)
    if len(gold) != 1:
        return Score.error(f"choice scorer: target {sample.target!r} of sample {sample.id!r} is not one letter", mx)
    return _one_letter(gold[0], output, mx, extract, sample.choices)


def _one_letter(gold: str, output: str, mx: float, extract: Extract, choices: tuple[str, ...] | None) -> Score:
    """The one letter a response picks, against the ``gold`` letter (an option's text read through ``choices``)."""
    letters = _read_letters(output or "", False, extract)
    stage = "letter"
    if not letters and choices and extract == "default":
        letters = _letter_from_choice_text(output or "", choices)
        stage = "choice-text"
    if not letters:
        return _unparsed(mx, "letter", "no option letter found")
    if len(letters) > 1:
        return _score(False, mx, "letter", "".join(letters), letters,
                      "several letters given for a single-choice question")
    ok = letters[0] == gold
    return _score(ok, mx, stage, letters[0], letters[0], f"chose {letters[0]}, answer {gold}")


def _letter_from_choice_text(output: str, choices: tuple[str, ...]) -> list[str] | None:
    """A response that states an option's text instead of its letter ("The answer is Paris")."""
    final = extract_final_answer(output)
    if not final:
        return None
    norm = _norm_text(final, False, False).strip(" .。")
    hits = [chr(ord("A") + i) for i, c in enumerate(choices) if _norm_text(str(c), False, False).strip(" .。") == norm]
    if len(hits) != 1:
        hits = [chr(ord("A") + i) for i, c in enumerate(choices) if math_equal(str(c), final).equal]
    return hits if len(hits) == 1 else None


def multi_select_points(chosen: list[str], correct: list[str], rule: str, full: float) -> tuple[float, str]:
    """Points for a multi-select answer under a named rule of :data:`MULTI_SELECT_RULES`."""
    if rule not in MULTI_SELECT_RULES:
        raise ValueError(f"unknown multi_select rule {rule!r}; use one of {', '.join(MULTI_SELECT_RULES)}")
    return MULTI_SELECT_RULES[rule].points(chosen, correct, full)


@scorer("multi_select", accepts="a set of option letters as the target (\"AC\", [\"A\", \"C\"], \"A、C\"); "
                        "metadata.rule names the item's own rule")
def multi_select(sample: Sample, output: str, *, rule: Rule | None = None, extract: Extract = "default") -> Score:
    """Multiple-answer choice graded by a points rule (see :mod:`evalkit.grading.multi_rules`).

    The rule is the ``rule`` option, else the item's own (``metadata["rule"]``: loaders set the national
    rule of the item's subject and year), else the default.
    """
    mx = sample.max_points
    rule = rule or str(sample.metadata.get("rule") or DEFAULT_MULTI_RULE)
    if rule not in MULTI_SELECT_RULES:
        return Score.error(f"unknown multi_select rule {rule!r}; use one of {', '.join(MULTI_SELECT_RULES)}", mx)
    gold = _gold_letters(sample.target)
    if not gold:
        return Score.error(f"multi_select: target {sample.target!r} of sample {sample.id!r} has no letters", mx)
    letters = _read_letters(output or "", True, extract)
    if not letters:
        return _unparsed(mx, "letter", "no option letters found")
    chosen = sorted(letters)
    pts, why = MULTI_SELECT_RULES[rule].points(chosen, gold, mx)
    return Score.from_points(pts, mx, stage="letter", extracted="".join(chosen), normalized=chosen, reason=why,
                             details={"rule": rule, "gold": gold})


@scorer("choice_group", accepts="one option letter per sub-question on one material ([\"B\", \"C\"]); "
                        "metadata.points per sub-question or a total")
def choice_group(sample: Sample, output: str) -> Score:
    """Consecutive single-choice sub-questions on one material: one letter each, each with its own points.

    The target is one letter per sub-question (``["B", "C"]``); ``metadata["points"]`` is a list (one
    entry per sub-question) or a total split evenly. Each sub-question is all-or-nothing; one that cannot
    be read earns nothing; a response whose sub-answers cannot be told apart is ``unparsed``.
    """
    gold = [str(g).strip().upper() for g in (sample.target if isinstance(sample.target, list | tuple)
                                             else list(str(sample.target)))]
    if not gold or not all(len(g) == 1 and g in "ABCDEFGHIJ" for g in gold):
        return Score.error(f"choice_group: target {sample.target!r} of sample {sample.id!r} is not one letter "
                           "per sub-question", sample.max_points)
    try:
        per = _blank_points(sample, len(gold))
    except ValueError as exc:
        return Score.error(str(exc), sample.max_points)
    mx = sum(per)
    got = extract_letter_groups(output or "", len(gold))
    if got is None:
        return _unparsed(mx, "letter", f"could not read {len(gold)} sub-answers in the response")
    earned = sum(p for g, a, p in zip(gold, got, per, strict=True) if a == g)
    n_ok = sum(a == g for g, a in zip(gold, got, strict=True))
    return Score.from_points(earned, mx, stage="letter", extracted=[a or "-" for a in got], normalized=got,
                             reason=f"{n_ok} of {len(gold)} sub-questions right", details={"gold": gold})


# ----------------------------------------------------------------------------------------
# math_answer / fill_in
# ----------------------------------------------------------------------------------------
_LETTER_GOLD = re.compile(r"^\s*\(?\s*(?:\\(?:text|mathrm|textbf)\{)?\(?([A-J])\)?\}?\s*\)?(?:[\s.:：,)]|$)")


def _gold_answer(gold: str) -> str:
    """A gold that is itself a worked solution gives its final answer."""
    if "\\boxed" in gold or "\\fbox" in gold or _CUE_RE.search(gold) or (len(gold) > 80 and not is_bare_answer(gold)):
        found = extract_final_answer(gold)
        if found:
            return found
    return gold


def compare_answers(gold: str, output: str, *, tolerance: str | float = "auto", timeout: float = 3.0,
                    extract: bool = True, sets: str = "strict") -> tuple[Verdict | None, str | None, str]:
    """Extract the final answer from ``output`` and compare it with ``gold``.

    Returns ``(verdict or None when nothing was found, extracted text, gold answer)``.
    """
    gold_ans = _gold_answer(str(gold))
    pred = extract_final_answer(output) if extract else output
    if pred is None:
        return None, None, gold_ans
    verdict = math_equal(gold_ans, pred, tolerance=tolerance, timeout=timeout, sets=sets)
    if not verdict.equal and extract and re.search(r"[A-Za-z\u3400-\u9fff]{3,}", re.sub(r"\\[A-Za-z]+", "", pred)):
        # the extracted text is prose around a value ("Soucis : 2,74 $ a.."): try its last number
        nums = re.findall(r"(?<![A-Za-z\d.,])-?\d[\d,]*(?:\.\d+)?%?(?![A-Za-z\d])", pred)
        if len(nums) == 1:
            second = math_equal(gold_ans, nums[-1], tolerance=tolerance, timeout=timeout, sets=sets)
            if second.equal:
                return second, nums[-1], gold_ans
    return verdict, pred, gold_ans


def _letter_target(gold: str) -> str | None:
    m = _LETTER_GOLD.match(gold)
    if m and len(gold.strip()) <= 3 or m and re.match(r"^\s*\(?[A-J]\)?\s+[A-Z]?[a-z]", gold):
        return m.group(1)
    m2 = re.fullmatch(r"\s*\$?\\?(?:text|mathrm|textbf)?\{?\(?([A-J])\)?\}?\$?\s*\.?", gold)
    return m2.group(1) if m2 else None


@scorer("math_answer", accepts="a short mathematical answer as the target (several targets: one per blank); "
                       "a letter target reads option letters")
def math_answer(sample: Sample, output: str, *, tolerance: Tolerance = "auto", timeout: Seconds = 3.0,
                extract: bool = True, sets: Sets = "strict") -> Score:
    """A short mathematical answer (number, expression, set, interval, equation, matrix...)."""
    mx = sample.max_points
    if sample.target is None or sample.target == [] or sample.target == "":
        return Score.error(f"math_answer: sample {sample.id!r} has no target", mx)
    golds = sample.target if isinstance(sample.target, list | tuple) else [sample.target]
    if len(golds) > 1:
        return fill_in(sample, output, tolerance=tolerance, timeout=timeout, sets=sets)
    gold = str(golds[0])
    gold_ans = _gold_answer(gold)
    letter = _letter_target(gold_ans)
    if letter is not None and _output_is_letterish(output):
        return _one_letter(letter, output, mx, "default", None)
    verdict, pred, gold_ans = compare_answers(gold, output, tolerance=tolerance, timeout=timeout, extract=extract,
                                              sets=sets)
    if verdict is None:
        return _unparsed(mx, "extract", "no final answer found in the response")
    return verdict_score(verdict, mx, pred)


def _output_is_letterish(output: str) -> bool:
    ans = extract_letters(output or "", False)
    if not ans:
        return False
    final = extract_final_answer(output or "") or ""
    final = re.sub(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}|[$()\s.]", lambda m: m.group(1) or "", final)
    return len(final) <= 2 or not is_bare_answer(output.strip())


def verdict_score(v: Verdict, mx: float, extracted: Any) -> Score:
    details = {"policy": v.policy} if v.policy != "exact" else {}
    if v.unparsed and not v.equal:
        return Score.ungraded("unparsed", mx, stage=v.stage, extracted=extracted, normalized=v.pred,
                              reason=v.reason, details=details)
    return _score(v.equal, mx, v.stage, extracted, v.pred, v.reason, **details)


def _blank_points(sample: Sample, n: int) -> list[float]:
    per = sample.blank_points()
    if isinstance(sample.metadata.get("points"), list | tuple):
        if len(per) != n:
            raise ValueError(f"sample {sample.id!r}: metadata.points has {len(per)} entries for {n} blanks")
        return per
    return [per[0] / n] * n


@scorer("fill_in", accepts="one target per blank (a list); metadata.points may give each blank its points")
def fill_in(sample: Sample, output: str, *, tolerance: Tolerance = "auto", timeout: Seconds = 3.0,
            sets: Sets = "strict") -> Score:
    """One or more blanks, each all-or-nothing with its own points (``metadata.points`` list)."""
    if sample.target is None or sample.target == [] or sample.target == "":
        return Score.error(f"fill_in: sample {sample.id!r} has no target", sample.max_points)
    golds = [str(g) for g in sample.target] if isinstance(sample.target, list | tuple) else [str(sample.target)]
    n = len(golds)
    try:
        per = _blank_points(sample, n)
    except ValueError as exc:
        return Score.error(str(exc), sample.max_points)
    mx = sum(per)
    blanks = extract_blanks(output or "", n)
    if blanks is None:
        return _unparsed(mx, "extract", f"could not find {n} blank answer(s) in the response")
    earned = 0.0
    verdicts = []
    for g, b, p in zip(golds, blanks, per, strict=True):
        v = math_equal(_gold_answer(g), b, tolerance=tolerance, timeout=timeout, sets=sets)
        verdicts.append({"gold": g, "pred": b, "equal": v.equal, "stage": v.stage, "reason": v.reason,
                         **({"policy": v.policy} if v.policy != "exact" else {})})
        if v.equal:
            earned += p
    n_ok = sum(1 for v in verdicts if v["equal"])
    stages = sorted({str(v["stage"]) for v in verdicts})
    return Score.from_points(earned, mx, stage="+".join(stages), extracted=blanks,
                             normalized=[v["pred"] for v in verdicts], reason=f"{n_ok} of {n} blanks right",
                             details={"blanks": verdicts})


# ----------------------------------------------------------------------------------------
# rubric (LLM judge)
# ----------------------------------------------------------------------------------------
RUBRIC_PROMPT = """You are marking a student's worked solution to an exam question, as an examiner would.

Question:
{question}

Reference solution with its marking steps (points are cumulative: a step's points are earned
when the solution reaches that step correctly):
{rubric}

Maximum points: {max_points}

Student's solution:
{response}

Award whole points only. Reply with one line of the form
POINTS: <integer between 0 and {max_points}>
followed by one short line starting with REASON:."""


def fill_prompt(template: str, **values: Any) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` — plain names only.

    A prompt from a task file is hostile: ``str.format`` would also follow ``{response.__class__}``
    or ``{question[0]}`` into Python objects, so any field but a plain known name is refused.
    """
    import string

    for _, name, spec, _ in string.Formatter().parse(template):
        if name is not None and (name not in values or "{" in (spec or "")):
            known = ", ".join("{" + k + "}" for k in values)
            field = name + (":" + spec if spec else "")
            raise ValueError(f"field {{{field}}} is not allowed; a prompt may use {known} (and {{{{ }}}} for braces)")
    return template.format(**values)


def _format_rubric(rubric: Any) -> str:
    if isinstance(rubric, str):
        return rubric
    lines = []
    for i, step in enumerate(rubric or [], 1):
        if isinstance(step, dict):
            desc = step.get("step") or step.get("description") or step.get("text") or ""
            pts = step.get("points", step.get("cumulative", ""))
            lines.append(f"{i}. {desc} [{pts} points]")
        else:
            lines.append(f"{i}. {step}")
    return "\n".join(lines)


_POINTS_RE = re.compile(r"^\s*\**\s*POINTS\s*\**\s*[:：]\s*\**\s*(-?\d+)\s*\**\s*(?:/\s*\d+)?\s*$",
                        re.IGNORECASE | re.MULTILINE)


def parse_judge_points(reply: str, mx: float) -> tuple[int | None, str]:
    """The integer after ``POINTS:`` (exactly one such line), clipped to ``[0, mx]``."""
    found = _POINTS_RE.findall(reply or "")
    if len(found) != 1:
        return None, ("judge reply has no 'POINTS: <integer>' line" if not found
                      else "judge reply has several POINTS lines")
    pts = int(found[0])
    clipped = max(0, min(int(mx), pts))
    why = re.search(r"REASON\s*[:：]\s*(.+)", reply, re.IGNORECASE)
    note = why.group(1).strip()[:300] if why else ""
    if clipped != pts:
        note = f"judge gave {pts}, clipped to {clipped}. " + note
    return clipped, note


def _prompt_fields(prompt: str | None) -> str | None:
    if prompt is None:
        return None
    try:
        prompt.format(question="", rubric="", max_points=0, response="")
    except (KeyError, IndexError, ValueError) as exc:
        return f"a prompt template may use {{question}}, {{rubric}}, {{max_points}} and {{response}} ({exc!r})"
    return None


@scorer("rubric", accepts="a worked solution marked by an LLM judge against metadata.rubric (integer points)")
async def rubric(sample: Sample, output: str, *, judge: Judge,
                 prompt: Annotated[str | None, Check(_prompt_fields, "a template with {question}, {rubric}, "
                                                                    "{max_points}, {response}")] = None) -> Score:
    """An LLM judge marks a worked solution against ``metadata["rubric"]`` (integer points)."""
    mx = sample.max_points
    steps = sample.metadata.get("rubric")
    if not steps:
        return Score.error(f"rubric scorer: sample {sample.id!r} has no metadata.rubric", mx)
    if not (output or "").strip():
        return _unparsed(mx, "judge", "empty response")
    try:
        text = fill_prompt(prompt or RUBRIC_PROMPT, question=sample.text, rubric=_format_rubric(steps),
                           max_points=int(mx), response=output)
    except ValueError as exc:
        return Score.error(f"rubric scorer: grader option 'prompt': {exc}", mx)
    try:
        reply = await judge(text)
    except Exception as exc:  # noqa: BLE001 - a failed judge call is recorded, never scored as 0
        return Score.error(f"judge call failed: {type(exc).__name__}: {exc}", mx)
    pts, note = parse_judge_points(reply, mx)
    if pts is None:
        return Score.ungraded("error", mx, stage="judge", grader="judge", reason=note,
                              details={"judge_reply": (reply or "")[:2000]})
    return Score.from_points(float(pts), mx, stage="judge", grader="judge", extracted=pts,
                             reason=note or f"judge awarded {pts}", details={"judge_reply": reply[:2000]})



# ----------------------------------------------------------------------------------------
# human marks
# ----------------------------------------------------------------------------------------
@scorer("human", accepts="any sample: its mark comes from people (option marks, or a marks_file)")
def human(sample: Sample, output: str, *, marks: dict[str, Any] | None = None, marks_file: str | None = None) -> Score:
    """Grades imported from people: option ``marks`` (id -> points) or ``marks_file`` (CSV/JSON)."""
    mx = sample.max_points
    table: dict[str, Any] = dict(marks or {})
    if marks_file:
        try:
            table.update({sid: row.mark for sid, row in read_marks(marks_file).items() if row.mark is not None})
        except MarksError as exc:
            return Score.error(f"human scorer: cannot read marks file {marks_file}: {exc}", mx)
    if sample.id not in table:
        return Score.ungraded("error", mx, stage="human", grader="human", reason=f"no human mark for sample {sample.id!r}")
    try:
        pts = float(table[sample.id])
    except (TypeError, ValueError):
        return Score.error(f"human mark for {sample.id!r} is not a number: {table[sample.id]!r}", mx)
    if pts < 0 or pts > mx:
        return Score.ungraded("error", mx, stage="human", grader="human", reason=f"human mark {pts:g} is outside 0..{mx:g}")
    return Score.from_points(pts, mx, stage="human", grader="human", extracted=pts,
                             reason="mark imported from a human grader")

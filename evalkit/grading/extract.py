"""Finding the final answer inside a long model response.

This module owns extraction only (no comparison): the last ``\\boxed{}``/``\\fbox{}`` (with
nested braces, and neighbouring boxes joined when only connectives separate them),
answer cues in English, Chinese and French ("the answer is", "答案是/为/：", "故选",
"【答案】…<eoa>", "réponse"), markdown bold, ``$…$``/``\\(…\\)``/``\\[…\\]`` segments, and as a
last resort the last number. Option letters for single and multiple choice and multi-blank
fill-ins have their own helpers. Nothing found is ``None``, never a guess.

Public helpers: :func:`extract_final_answer`, :func:`extract_letters`, :func:`last_capital`,
:func:`extract_blanks`, :func:`boxed_all`.
"""

from __future__ import annotations

import re

from evalkit.grading.equivalence import _DOUBLE_ESC, clean_latex
from evalkit.grading.mathexpr import FUNCS

__all__ = ["boxed_all", "extract_blanks", "extract_final_answer", "extract_letters", "gaokao_bench_letters",
           "last_capital"]

_BOX = re.compile(r"\\+(?:boxed|fbox)\s*\{")
_REVISIONS = {"but", "however", "actually", "wait", "correcting", "correction", "instead", "not", "no", "mais"}
_CONNECTIVES = {"and", "or", ",", ";", "和", "或", "以及", "及", "、", "，", "；", "also", "et", "ou"}


def _last_match(pattern: str, text: str) -> re.Match[str] | None:
    found = None
    for found in re.finditer(pattern, text):  # noqa: B007 - keeps the last match
        pass
    return found


def _counted_brace(text: str, i: int) -> bool:
    """Whether the brace at ``i`` counts: not escaped as ``\\{``, unless the backslash is itself ``\\\\``."""
    return i == 0 or text[i - 1] != "\\" or text[i - 2: i] == "\\\\"


def _brace_partners(text: str) -> dict[int, int]:
    """Every counted ``{`` that closes, mapped to its ``}`` — one pass over the text."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    for m in re.finditer(r"[{}]", text):
        i = m.start()
        if not _counted_brace(text, i):
            continue
        if text[i] == "{":
            stack.append(i)
        elif stack:
            partners[stack.pop()] = i
    return partners


def boxed_all(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}`` as (start, end, content), nested braces respected.

    Linear in the text: braces are matched in one pass, and a box inside an earlier box (one that
    starts before it and ends after it) is dropped in a single sweep.
    """
    opens = list(_BOX.finditer(text))
    if not opens:
        return []
    partners = _brace_partners(text)
    out: list[tuple[int, int, str]] = []
    reach = -1  # the furthest end of any box seen so far
    for m in opens:
        close = partners.get(m.end() - 1)
        if close is None:
            continue
        if close + 1 > reach:  # not inside an earlier box
            out.append((m.start(), close + 1, text[m.end(): close].strip()))
        reach = max(reach, close + 1)
    return out


def _separator_joins(sep: str) -> bool:
    """Whether the text between two boxes only connects them (``and``, commas, ``\\quad``)."""
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}", r" \1 ", sep)
    s = re.sub(r"\\q?quad|\\[,;: ]|\\\\|\$|\\\(|\\\)|\\\[|\\\]", " ", s)
    if len(s) > 60:
        return False
    words = re.findall(r"[A-Za-z\u3400-\u9fff]+|[,;、，；]", s)
    if any(w.lower() in _REVISIONS for w in words) or re.search(r"不对|但是|其实|应为|修正", s):
        return False
    other = [w for w in words if w.lower() not in _CONNECTIVES]
    has_conn = len(other) < len(words)
    return len(other) <= 3 and (has_conn or not other)


def _last_box_group(text: str) -> tuple[int, str] | None:
    boxes = boxed_all(text)
    if not boxes:
        return None
    group = [boxes[-1]]
    for b in reversed(boxes[:-1]):
        if _separator_joins(text[b[1]: group[0][0]]):
            group.insert(0, b)
        else:
            break
    contents = [b[2] for b in group if b[2]]
    if not contents:
        return None
    return group[0][0], ", ".join(contents)


_CUES = [
    r"final answer\s*(?:is|:)?",
    r"the answer is",
    r"answer is",
    r"answer\s*:",
    r"answer\s*(?=\$|\\\(|\\\[)",
    r"答案(?:应该)?(?:是|为|:|：)",
    r"所以答案是\s*[:：]?",
    r"【答案】",
    r"最终答案(?:是|为|:|：)?",
    r"réponse(?:\s+finale)?\s*(?:est|:)",
    r"la respuesta es",
    r"the result is",
    r"the final result is",
]
_CUE_RE = re.compile("|".join(f"(?:{c})" for c in _CUES), re.IGNORECASE)
_NON_ANSWER = re.compile(
    r"(?:correct|incorrect|right|wrong|as follows|below|above|the following|given below|shown below|clear|"
    r"obvious|simple|straightforward|not\b.*|different|unique|consistent|verified|confirmed)",
    re.IGNORECASE,
)
_END_RE = re.compile(r"(?:(?<!\d)\.(?=\s|$)|。|\n\s*\n|I hope|<eoa>|<\|im_end\|>|<\|im_start\|>|<\|endoftext\|>)")
_MATH_SEG = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?%?|-?\.\d+%?")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def _math_segments(text: str) -> list[tuple[int, str]]:
    out = []
    for m in _MATH_SEG.finditer(text):
        content = next(g for g in m.groups() if g is not None)
        out.append((m.start(), content.strip()))
    return out


def _from_cue_text(seg: str) -> str | None:
    """The answer inside the sentence that follows a cue."""
    seg = seg.strip().lstrip(":：").strip()
    if not seg:
        return None
    group = _last_box_group(seg)
    if group:
        return group[1]
    maths = _math_segments(seg)
    outside = _MATH_SEG.sub(" ", seg)
    if maths and not re.search(r"[A-Za-z]{2,}|[\u3400-\u9fff]", outside) and re.search(r"[-=+*/^<>]", outside):
        # "$2x^2$ + $y^2$ = 64": one formula written across several $...$ pieces
        return re.sub(r"\s+", " ", seg.replace("$", " ")).strip().rstrip(".。").strip()
    # "The volume of $ABCDEFGH$ is 120": the answer follows the last "is" outside the math
    m = _last_match(r"\s(?:is|are|est|equals|=)\s|是|为|得到|得", _mask_math(seg))
    if m is not None:
        tail = seg[m.end():].strip()
        if tail:
            seg = tail
            maths = _math_segments(seg)
    if maths:
        return maths[0][1] if len(maths) == 1 else ", ".join(x for _, x in maths if x) if _joined_maths(seg) \
            else maths[0][1]
    bold = _BOLD.findall(seg)
    if bold:
        return bold[-1].strip()
    seg = seg.strip().strip("*").strip()
    seg = re.sub(r"[.。]$", "", seg).strip()
    if len(seg) <= 40 and is_bare_answer(seg):
        return seg
    core = re.sub(r"^[\u3400-\u9fff，,：:\s]+|[\u3400-\u9fff，,。.\s]+$", "", seg)
    if core and "\\" in core and is_bare_answer(core):
        return core
    nums = _NUMBER.findall(seg)
    return nums[0] if nums else seg[:40]


def _mask_math(text: str) -> str:
    """The text with every math segment blanked out (same length, so positions still match)."""
    return _MATH_SEG.sub(lambda m: " " * (m.end() - m.start()), text)


def _joined_maths(seg: str) -> bool:
    between = _MATH_SEG.sub("\x00", seg).split("\x00")[1:-1]
    return all(_separator_joins(b) for b in between)


_CUES_PER_SENTENCE = 3  # more cues than this in one sentence is a repetition, not prose


def _last_cue_answer(text: str) -> tuple[int, str | None]:
    """The answer after the last cue that states one, and where that cue starts (``-1`` if none).

    Linear in the text, however many cues it repeats: cues are read from the last one back and the
    first real answer ends the search; sentence ends are searched in one forward sweep; a cue's
    sentence is read whole unless more than ``_CUES_PER_SENTENCE`` further cues follow in it (then
    only up to the next cue, which is read on its own); a 【答案】 block runs to the next 【.
    """
    cues = list(_CUE_RE.finditer(text))
    ends = _first_match_after(_END_RE, text, [m.end() for m in cues])
    for k in range(len(cues) - 1, -1, -1):
        m = cues[k]
        if m.group().startswith("【"):
            # 【答案】 opens a block that runs to <eoa>: its conclusion is the answer
            close = text.find("【", m.end())
            block = text[m.end(): close if close >= 0 else len(text)].strip()
            if re.search(r"[。\n]\s*\S", block.rstrip("。. \n")):
                ans = _fallback(block)
                if ans and not _NON_ANSWER.fullmatch(ans.strip(" .:：*")):
                    return m.start(), ans
                continue
        stop = len(text) if ends[k] is None else ends[k]
        if k + _CUES_PER_SENTENCE < len(cues) and cues[k + _CUES_PER_SENTENCE].start() < stop:
            stop = cues[k + 1].start()  # a sentence that repeats the cue: read up to the next one
        ans = _from_cue_text(text[m.end(): stop])
        if ans and not _NON_ANSWER.fullmatch(ans.strip(" .:：*")):
            return m.start(), ans
    return -1, None


def _first_match_after(pattern: re.Pattern[str], text: str, positions: list[int]) -> list[int | None]:
    """For each position (ascending), where the first match of ``pattern`` at or after it starts.

    A match's start does not depend on where the search began (the pattern has no ``^``), so one
    search answers every later position up to the match it found: the text is scanned about once.
    """
    out: list[int | None] = []
    since, found = -1, None
    for pos in positions:
        if since < 0 or not (since <= pos and (found is None or pos <= found)):
            m = pattern.search(text, pos)
            since, found = pos, (m.start() if m else None)
        out.append(found)
    return out


def extract_final_answer(text: str) -> str | None:
    """The final answer of a response, or ``None`` when none can be found."""
    if text is None:
        return None
    text = clean_latex(text) if "\\\\boxed" in text else text
    text = text.replace("<eoa>", "\n\n")
    box = _last_box_group(text)
    cue_pos, cue_answer = _last_cue_answer(text)
    if box is not None and (cue_answer is None or box[0] >= cue_pos):
        return box[1]
    if cue_answer is not None:
        return cue_answer
    if box is not None:
        return box[1]
    stripped = text.strip()
    if not stripped:
        return None
    if is_bare_answer(stripped):
        return stripped
    return _fallback(text)


_BOILERPLATE = re.compile(r"(?:I hope it is correct\.?|<\|im_(?:start|end)\|>\w*|<\|endoftext\|>|<eoa>)\s*$", re.IGNORECASE)
_CONCLUDE = re.compile(r"\b(?:therefore|thus|hence|so|finally|in conclusion|donc|因此|所以|故|综上)", re.IGNORECASE)


def _fallback(text: str) -> str | None:
    """No box and no cue: the concluding sentence's math or number, else the last math / number."""
    t = text.rstrip()
    while True:
        t2 = _BOILERPLATE.sub("", t).rstrip()
        if t2 == t:
            break
        t = t2
    segs = _math_spans(t)
    pieces, pos = [], 0  # the prose: every math segment blanked, keeping a sentence's closing dot
    for a, b, content in segs:
        pieces += [t[pos:a], "\x00" * (b - a - 1), "." if content.endswith(".") else "\x00"]
        pos = b
    prose = "".join(pieces) + t[pos:]
    starts = [m.end() for m in re.finditer(r"[.!?。！？](?=\s)|\n+", prose)]
    start = max([s for s in starts if s < len(t.rstrip(" .。!?")) - 1] or [0])
    last = t[start:]
    in_last = [x for x in segs if x[0] >= start]
    if in_last or _CONCLUDE.search(prose[start:]) or not segs:
        if in_last:
            joined = _join_trailing(t, in_last)
            # "所以 $|b|$ 的值只能为 2": a value stated after the last formula wins
            after = _mask_math(last)[last.rfind("$") + 1:] if "$" in last else ""
            tail_num = re.search(r"(?:是|为|is|=)\s*(-?\d+(?:\.\d+)?(?:/\d+)?)\s*[。.]?\s*$", after)
            return tail_num.group(1) if tail_num else joined
        bold = [b for b in _BOLD.findall(last) if re.search(r"\d", b)]
        if bold:
            nums = _NUMBER.findall(bold[-1])
            return nums[-1] if nums else bold[-1].strip()
        nums = _NUMBER.findall(last)
        if nums:
            return nums[-1].rstrip(",")
    if segs:
        last_math = _join_trailing(t, segs)
        nums = _NUMBER.findall(last_math)
        if re.search(r"[?]", last_math) and nums:
            return nums[-1]
        return last_math
    nums = _NUMBER.findall(text)
    return nums[-1].rstrip(",") if nums else None


def _math_spans(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _MATH_SEG.finditer(text):
        content = next(g for g in m.groups() if g is not None)
        out.append((m.start(), m.end(), content.strip()))
    return out


def _join_trailing(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The last math segment, joined with the ones before it when only connectives separate them."""
    pieces = [spans[-1][2]]
    for k in range(len(spans) - 1, 0, -1):
        between = text[spans[k - 1][1]: spans[k][0]]
        if between.strip() and _separator_joins(between) and re.search(r"and|or|,|和|或|、", between):
            pieces.insert(0, spans[k - 1][2])
        else:
            break
    return ", ".join(p for p in pieces if p)


_MATH_WORDS = FUNCS | {"pi", "oo", "Eq", "sign", "exp", "sqrt", "log", "ln", "inf", "infty", "mod", "pmod"}


def is_bare_answer(text: str) -> bool:
    """A short string with at most one natural-language word: already an answer, not a response."""
    if len(text) > 80 or re.search(r"[\u3400-\u9fff\u0600-\u06ff\u0900-\u097f]", re.sub(r"[和或且及与、]|根号", "", text)):
        return False
    outside = _MATH_SEG.sub(" ", text)
    if outside != text and re.search(r"[A-Za-z]{3,}", re.sub(r"\\[A-Za-z]+", " ", outside)):
        return False
    plain = re.sub(r"\\(?:begin|end)\{[a-z*]*\}|\\text\{[^{}]*\}|\\[A-Za-z]+", " ", text)
    words = [w for w in re.findall(r"[A-Za-z]{2,}", plain) if w not in _MATH_WORDS]
    return len(words) <= 1


# ----------------------------------------------------------------------------------------
# option letters
# ----------------------------------------------------------------------------------------
_LETTERS = "ABCDEFGHIJ"
_LETTER_CUE = re.compile(
    r"(?:【答案】|故选|所以选|因此选|应选|选择|答案(?:应该)?(?:是|为|选)?|正确(?:答案|选项)(?:是|为)?|正确的(?:是|为|选项是|选项为)|"
    r"选项(?:是|为)?|综上(?:所述)?[,，]?\s*选?|"
    r"(?:the\s+)?(?:correct\s+|final\s+|best\s+)?(?:answer|option|choice)s?(?:\s+(?:is|are|would be|must be))?|"
    r"réponse(?:\s+est)?|\bI (?:think|choose|pick|select)(?: it's| it is)?|\bit's|\bit is|\bchoose|\bselect|选)"
    r"\s*[:：]?\s*",
    re.IGNORECASE,
)
_LETTER_RUN = re.compile(
    r"^(?:\*\*|\$|\\boxed\{|\\text\{|\\mathrm\{|\\textbf\{|option\s+|选项|\(|（|\[|】|\s)*"
    r"([A-J](?:\s*(?:[、,，和与及]|and|&|\\text\{\s*and\s*\})?\s*[A-J](?![a-z]))*)(?![A-Za-z])"
)


def _letters_in(run: str) -> list[str]:
    out: list[str] = []
    for ch in re.findall(r"[A-J]", run):
        if ch not in out:
            out.append(ch)
    return out


def _after_cue(text: str) -> list[str] | None:
    found: list[str] | None = None
    for m in _LETTER_CUE.finditer(text):
        rest = text[m.end(): m.end() + 60]
        # skip a few filler words: "the answer is for sure D"
        skip = re.match(r"^(?:(?:for sure|definitely|probably|clearly|option|choice|选项|是|为)\s*[:：,，]?\s*)*", rest)
        rest = rest[skip.end():] if skip else rest
        lm = _LETTER_RUN.match(rest)
        if lm and not _NEGATED.match(rest[lm.end():]):
            found = _letters_in(lm.group(1))
    return found


_NEGATED = re.compile(r"\s*(?:项|选项)?\s*(?:都|均|皆)?\s*(?:错误|不正确|不对|不符合|不成立|不是(?!\s*[A-J](?![A-Za-z]))|错|is wrong|is incorrect|is false|are wrong|are incorrect)",
                      re.IGNORECASE)


def extract_letters(text: str, multi: bool = False) -> list[str] | None:
    """Option letters the response concludes with (``["B"]``, ``["A", "C", "D"]``), or ``None``.

    Looks, in order, for a concluding cue ("故选ACD", "the answer is (B)"), a ``\\boxed{}``
    holding letters, and a response that *starts* with the letter ("D. because ...").
    Letters mentioned while discussing options are never picked. For single choice a caller
    treats more than one distinct letter as a wrong answer.
    """
    if text is None:
        return None
    # undo double escaping only: clean_latex would also fold 【答案】 into [答案] and hide the cue
    t = _DOUBLE_ESC.sub(r"\\", text) if "\\\\" in text else text
    stripped = t.strip()
    m = re.fullmatch(r"[\s$*(（\[]*(?:\\(?:text|mathrm|textbf)\{)?\(?([A-J](?:\s*[、,，]?\s*[A-J])*)\)?\}?[)）\].。$*\s]*",
                     stripped)
    if m:
        return _letters_in(m.group(1))
    if _final_cue_without_letter(t):
        return None
    boxes = boxed_all(t)
    cue = _after_cue(t) or _concluding_statement(t)
    box_letters = None
    if boxes:
        content = re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", boxes[-1][2])
        bm = re.fullmatch(r"[\s(（]*([A-J](?:\s*(?:[、,，]|and|&)?\s*[A-J])*)[\s)）.]*", content)
        if bm:
            box_letters = _letters_in(bm.group(1))
    if box_letters and (cue is None or boxes[-1][0] > _last_cue_pos(t)):
        return box_letters
    if cue:
        return cue
    if box_letters:
        return box_letters
    lead = re.match(r"^[\s*(（]*([A-J](?:\s*[、,，]\s*[A-J])*)\s*(?:[.)）:：。、,，]|\s|不|$)", stripped)
    # "A quick check..." / "I think...": English words, not a leading option letter
    if lead and not re.match(r"^[A-J][a-z]|^[AI]\s+[a-z]", stripped) and not _NEGATED.match(stripped[lead.end(1):]):
        return _letters_in(lead.group(1))
    return None


_STATEMENT = re.compile(
    r"(?:所以|因此|故|综上(?:所述)?|therefore|thus|hence|so)\s*[,，:：]?\s*(?:选项|option\s+)?\(?"
    r"([A-J](?:\s*(?:[、,，和与及]|and)\s*[A-J])*)\)?\s*(?:项)?\s*(?:正确|符合题意|成立|is correct|are correct|is right)",
    re.IGNORECASE,
)


def _concluding_statement(text: str) -> list[str] | None:
    """"所以 B 正确" / "Therefore, B is correct": a conclusion naming the options it accepts."""
    found = None
    for found in _STATEMENT.finditer(text):  # noqa: B007 - keeps the last match
        pass
    return _letters_in(found.group(1)) if found else None


_STRONG_CUE = re.compile(r"【答案】\s*[:：]?|(?:最终)?答案(?:是|为)?\s*[:：]|(?:the\s+)?final answer(?:\s+is)?\s*[:：]?",
                         re.IGNORECASE)


def _final_cue_without_letter(text: str) -> bool:
    """The response ends with an explicit answer line that names no option ("【答案】无正确答案")."""
    last = None
    for last in _STRONG_CUE.finditer(text):  # noqa: B007 - keeps the last match
        pass
    if last is None:
        return False
    rest = text[last.end(): last.end() + 80].strip()
    if not rest or rest.startswith(("<eoa>", "\\boxed", "$")):
        return False
    return _LETTER_RUN.match(rest) is None and not re.search(r"[A-J]", rest[:12])


def _last_cue_pos(text: str) -> int:
    pos = -1
    for m in _LETTER_CUE.finditer(text):
        if _LETTER_RUN.match(text[m.end(): m.end() + 60]):
            pos = m.start()
    return pos


def last_capital(text: str, letters: str = "ABCD") -> str | None:
    """GAOKAO-Bench's own rule: the last capital option letter anywhere in the output."""
    if text is None:
        return None
    for ch in reversed(text):
        if ch in letters:
            return ch
    return None


BENCH_QUESTION_TYPES = ("single_choice", "multi_choice", "multi_question_choice", "five_out_of_seven")


def gaokao_bench_letters(text: str, question_type: str, n: int = 1) -> list[str]:
    """GAOKAO-Bench's own reading of an objective answer, one entry per scored answer.

    The benchmark declares a question type per file (``Bench/Obj_Prompt.json``):

    * ``single_choice``: the last capital A–D in the output (one entry);
    * ``multi_choice`` (physics): with spaces removed, every A–D from the first ``【答案】`` on
      (when it is not at the very start), else every A–D in the last ten characters, joined into
      one string (``"ACD"``; repeats and order kept, as the benchmark compares strings);
    * ``multi_question_choice`` (one letter per sub-question): the letter after each ``【答案】``
      when there are exactly ``n`` of them, else the first ``n`` capital letters A–Z of the output;
    * ``five_out_of_seven``: the first five capitals A–G.

    Nothing found is ``[]``; the benchmark scores a list of the wrong length as all wrong.
    """
    if question_type == "single_choice":
        ch = last_capital(text)
        return [ch] if ch else []
    if question_type == "multi_choice":
        content = re.sub(r"\s+", "", text)
        at = content.find("【答案】")
        region = content[at:] if at > 0 else content[-10:]
        letters = "".join(re.findall(r"[A-D]", region))
        return [letters] if letters else []
    if question_type == "multi_question_choice":
        cued = re.findall(r"【答案】\s*[:：]*\s*([A-Z])", text)
        return cued if len(cued) == n else re.findall(r"[A-Z]", text)[:n]
    if question_type == "five_out_of_seven":
        return re.findall(r"[A-G]", text)[:5]
    raise ValueError(f"unknown GAOKAO-Bench question type {question_type!r}; use one of {', '.join(BENCH_QUESTION_TYPES)}")


def extract_letters_last_capital(text: str, multi: bool = False) -> list[str] | None:
    """GAOKAO-Bench's rules: single choice takes the last capital A–D; multi takes all distinct
    capital A–D letters after the last answer cue (or in the whole output when there is none)."""
    if text is None:
        return None
    if not multi:
        ch = last_capital(text)
        return [ch] if ch else None
    m = _last_match(r"【答案】|答案[:：是为]|故选|选", text)
    region = text[m.end():] if m else text
    found = sorted(set(re.findall(r"[A-D]", region)))
    return found or None


# ----------------------------------------------------------------------------------------
# fill-in blanks
# ----------------------------------------------------------------------------------------
_ORDINALS = "一二三四五六七八九十"


def extract_blanks(text: str, n: int) -> list[str] | None:
    """``n`` answers for a fill-in with ``n`` blanks, or ``None`` when they cannot be told apart.

    Reads "第一空…第二空…", "答案依次为 a，b", ``n`` boxes, or one final answer split on
    semicolons / commas / 、 when it splits into exactly ``n`` parts.
    """
    if text is None or n < 1:
        return None
    t = text
    if n == 1:  # one blank: the response's final answer; "(1)…(2)…" in the working are not blanks
        final = extract_final_answer(t)
        if final is not None:
            return [final]
    # 第一空：...；第二空：...  or  (1) ... (2) ...  or  ① ... ② ...
    marks = list(re.finditer(r"第\s*[（(]?\s*([一二三四五六七八九十\d]+)\s*[)）]?\s*(?:空|问|个空)\s*(?:答案)?\s*[:：为是]?\s*", t))
    if len(marks) < n:
        marks = list(re.finditer(r"(?:^|(?<=[\s:：,，;；]))[（(]\s*(\d)\s*[)）]\s*[:：]?\s*|[①②③④⑤⑥]\s*[:：]?\s*", t))
    if len(marks) >= n:
        marks = marks[-n:]
        vals = []
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(t)
            seg = t[m.end(): end]
            seg = re.split(r"[；;。\n]", seg.strip(), maxsplit=1)[0]
            ans = extract_final_answer(seg) if "\\boxed" in seg else seg
            vals.append((ans or "").strip().strip("，,").strip())
        if all(vals):
            return vals
    boxes = boxed_all(t)
    if n > 1 and len(boxes) >= n:
        return [b[2] for b in boxes[-n:]]
    m = _last_match(r"(?:答案|结果)?依次(?:是|为)\s*[:：]?|分别(?:是|为)\s*[:：]?", t)
    if m is not None:
        seg = t[m.end():]
        seg = re.split(r"。|\n|(?<!\d)\.(?=\s|$)", seg.strip(), maxsplit=1)[0]
        parts = _split_blanks(seg, n)
        if parts:
            return parts
    final = extract_final_answer(t)
    if final is None:
        return None
    if n == 1:
        return [final]
    return _split_blanks(final, n)


def _split_blanks(seg: str, n: int) -> list[str] | None:
    from evalkit.grading.equivalence import split_top

    seg = seg.strip().rstrip("。.").strip()
    for seps in (["；", ";"], ["，", "、"], [","], ["和", " and "]):
        parts = [p.strip().strip("$").strip() for p in split_top(seg, seps)]
        parts = [p for p in parts if p]
        if len(parts) == n:
            return parts
    return None

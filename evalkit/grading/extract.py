"""Finding the final answer inside a long model response.

This module owns extraction only (no comparison): the last ``\\boxed{}``/``\\fbox{}`` (with
nested braces, and neighbouring boxes joined when only connectives separate them),
answer cues in English, Chinese and French ("the answer is", "答案是/为/：", "故选",
"【答案】…<eoa>", "réponse"), markdown bold, ``$…$``/``\\(…\\)``/``\\[…\\]`` segments, and as a
last resort the last number, and the blanks of a multi-blank fill-in. Nothing found is ``None``,
never a guess. Option letters are read in :mod:`evalkit.grading.letters` (their names are still
importable from here).

Public helpers: :func:`extract_final_answer`, :func:`extract_blanks`, :func:`boxed_all`.
"""

from __future__ import annotations

import re

from evalkit.grading.equivalence import clean_latex
from evalkit.grading.mathexpr import FUNCS

__all__ = ["boxed_all", "extract_blanks", "extract_final_answer", "is_bare_answer"]
# option letters have their own module; these names stay importable from here
_LETTER_NAMES = ("extract_letters", "extract_letters_last_capital", "gaokao_bench_letters", "last_capital",
                 "BENCH_QUESTION_TYPES")


def __getattr__(name: str) -> object:
    if name in _LETTER_NAMES:
        from evalkit.grading import letters

        return getattr(letters, name)
    raise AttributeError(f"module 'evalkit.grading.extract' has no attribute {name!r}")

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


# -- mathematics written in prose without delimiters ("所以概率为 \\frac{63}{400}", "所以 f′(x)=2x+1") --------
_TEX_SEED = re.compile(r"\\(?:[dtc]?frac|sqrt|pi|ln|log|lg|sin|cos|tan|cot|infty|cdot|times|div|pm|mp|leq?|geq?|neq?|"
                       r"approx|alpha|beta|theta|lambda|omega|varphi|lim|bmod|mod|sum|int|circ|prime|cup|cap|mathrm|"
                       r"text)(?![A-Za-z])|(?<=[A-Za-z0-9)′'}])\s*=\s*(?=[-−+A-Za-z0-9(\\])")
_RUN_CHARS = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\\{}()[]^_+-*/=<>|'′.!: −≤≥≠≈×÷·π√∞")
_SHORT_WORDS = {"is", "as", "so", "if", "of", "or", "an", "at", "by", "we", "it", "be", "on", "and", "the", "then"}
_MATH_NAMES = FUNCS | {"lim", "mod", "bmod", "max", "min", "frac", "dfrac", "sqrt", "pi", "infty", "cdot", "times",
                       "text", "mathrm", "left", "right", "le", "ge", "leq", "geq", "ne", "neq", "approx", "in", "cup",
                       "cap", "circ", "prime", "to", "sum", "int"}


def _protected(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _MATH_SEG.finditer(text)]
    return spans + [(a, b) for a, b, _ in boxed_all(text)]


def _bare_runs(text: str) -> list[tuple[int, int]]:
    """Spans of mathematics written in prose without ``$``: LaTeX commands or a formula with ``=``."""
    shielded = _protected(text)
    runs: list[tuple[int, int]] = []
    for m in _TEX_SEED.finditer(text):
        if any(a <= m.start() < b for a, b in shielded) or (runs and m.start() < runs[-1][1]):
            continue
        a, b = _grow(text, m.start(), -1), _grow(text, m.end(), 1)
        while a < b and text[a] in " .:=":
            a += 1
        while b > a and text[b - 1] in " .,:":
            b -= 1
        span = text[a:b]
        if not re.search(r"\\[A-Za-z]", span) and not re.match(r"[^=]*[A-Za-z][^=]*=\s*\S", span):
            continue  # a formula without commands names something: "f(0)=−1", "f′(x)=2x+1", not "18 = 4000"
        if b - a >= 2 and not any(x < b and a < y for x, y in shielded) and _balanced_span(text[a:b]):
            runs.append((a, b))
    return runs


def _balanced_span(span: str) -> bool:
    return all(span.count(o) == span.count(c) for o, c in ("{}", "()", "[]"))


def _grow(text: str, i: int, step: int) -> int:
    """Extend a formula from ``i`` while its characters are mathematics (commas only inside brackets)."""
    depth = 0
    j = i if step > 0 else i - 1
    while 0 <= j < len(text):
        ch = text[j]
        opens, closes = ("([{", ")]}") if step > 0 else (")]}", "([{")
        if ch in opens:
            depth += 1
        elif ch in closes:
            if depth == 0:  # an unmatched bracket belongs to the prose around the formula
                break
            depth -= 1
        if ch == "," and depth > 0:
            j += step
            continue
        if ch not in _RUN_CHARS:
            break
        if ch.isalpha() and ch.isascii():  # a word of prose ends the formula; a command or a name does not
            k = j
            while 0 <= k + step < len(text) and text[k + step].isascii() and text[k + step].isalpha():
                k += step
            word_start, word_end = min(j, k), max(j, k) + 1
            word = text[word_start:word_end]
            escaped = word_start > 0 and text[word_start - 1] == "\\"
            if not escaped and (len(word) >= 3 and word not in _MATH_NAMES or word.lower() in _SHORT_WORDS):
                break
            j = k
        j += step
    return j if step > 0 else j + 1


def _wrap_bare_math(text: str) -> str:
    """``$…$`` around mathematics written in prose without delimiters, so it reads as mathematics."""
    if (not re.search(r"\\[A-Za-z]|=", text) or text.count("$") % 2  # an odd "$" is money, not maths
            or not re.search(r"[\u3400-\u9fff]", text) or "\\begin" in text):  # only Chinese prose needs it
        return text
    runs = _bare_runs(text)
    for a, b in reversed(runs):
        text = f"{text[:a]}${text[a:b]}${text[b:]}"
    return text


def extract_final_answer(text: str) -> str | None:
    """The final answer of a response, or ``None`` when none can be found."""
    if text is None:
        return None
    text = clean_latex(text) if "\\\\boxed" in text else text
    text = _wrap_bare_math(_drop_discarded(text.replace("<eoa>", "\n\n")))
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


_DISCARD = r"(?:不合题意|不符合题意|不合题设|不满足题意)?[,，]?\s*(?:应)?(?:舍去|舍弃|舍)"
_ALT = r"(?:\$[^$]+\$|[-+A-Za-z0-9.=\\{}^/_]+)"  # one stated value: math, or a bare value
_DISCARD_AFTER = re.compile(r"\s*(?:或|or)\s*" + _ALT + r"\s*[（(]\s*" + _DISCARD + r"\s*[）)]")
_DISCARD_BEFORE = re.compile(r"(?<![-+A-Za-z0-9.=\\{}^/_$])" + _ALT + r"\s*[（(]\s*" + _DISCARD + r"\s*[）)]\s*(?:或|or)\s*")
_DISCARD_INSIDE = re.compile(r"\s*[（(]\s*(" + _ALT + r")\s*" + _DISCARD + r"\s*[）)]")
_DISCARD_ANY = re.compile("|".join(f"(?:{r.pattern})" for r in (_DISCARD_AFTER, _DISCARD_BEFORE))
                          + r"|\s*[（(]\s*(?:" + _DISCARD + r"\s*(?P<named>" + _ALT + r")|(?P<inside>" + _ALT + r")\s*"
                          + _DISCARD + r")\s*[）)]")


def _drop_discarded(text: str) -> str:
    """Alternatives the answer itself rules out are not the answer: '-2 或 3（舍去 3）', 'x=-2 或 x=3（舍）',
    'x=3（不合题意，舍去）或 x=-2' all state -2. One pass over the text (a hostile answer repeats it)."""
    if "舍" not in text:
        return text
    cuts: list[tuple[int, int]] = []
    for m in _DISCARD_ANY.finditer(text):
        value = m.group("named") or m.group("inside")
        if value is None:
            cuts.append(m.span())
            continue
        lo = max(m.start() - 80, cuts[-1][1] if cuts else 0)  # the alternative it names, just before
        named = r"\s*(?:或|or)\s*\$?" + re.escape(value.strip("$ ")) + r"\$?(?![\w.])"
        alt = next(reversed(list(re.finditer(named, text[lo:m.start()]))), None)
        if alt is not None:
            cuts.append((lo + alt.start(), lo + alt.end()))
        cuts.append(m.span())
    out, pos = [], 0
    for a, b in cuts:
        out.append(text[pos:a])
        pos = b
    return "".join(out) + text[pos:]


_BOILERPLATE = re.compile(r"(?:I hope it is correct\.?|<\|im_(?:start|end)\|>\w*|<\|endoftext\|>|<eoa>)\s*$", re.IGNORECASE)
_CONCLUDE = re.compile(r"\b(?:therefore|thus|hence|so|finally|in conclusion|donc|因此|所以|故|综上)", re.IGNORECASE)


_CONDITION = re.compile(r"[,，;；]\s*(?:此时|这时|当且仅当|等号成立|取等号|取得(?:最[大小]值)?(?:时|的条件)|其中)")


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
    cond = _CONDITION.search(prose, start)  # "最小值为 $2\sqrt2$，此时 $x=1$": the value, not where it is attained
    if cond is not None and any(start <= x[0] and x[1] <= cond.start() for x in segs):
        t, prose = t[: cond.start()], prose[: cond.start()]
        segs = [x for x in segs if x[1] <= cond.start()]
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
            ans = extract_final_answer(seg) if "\\boxed" in seg else _prose_value(seg)
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
    return _split_blanks(final, n) or _prose_blanks(t, n)


_LEAD_WORDS = re.compile(r"^(?:综上(?:所述)?|所以|因此|故|即|从而|于是|答案(?:为|是)?|最终答案(?:为|是)?)[\s,，:：]*")


def _prose_blanks(text: str, n: int) -> list[str] | None:
    """The blanks stated in the last line without boxes: "f(0)=−1；单调递增区间为 (0,+∞)" → ``["−1", "(0,+∞)"]``."""
    from evalkit.grading.answers import split_top

    lines = [ln.strip() for ln in text.replace("<eoa>", "\n").splitlines() if ln.strip()]
    if not lines:
        return None
    last = _LEAD_WORDS.sub("", lines[-1].rstrip("。.").strip())
    for seps in (["；", ";"], ["，"]):
        parts = [p.strip() for p in split_top(last, seps) if p.strip()]
        if len(parts) > n:  # "由上可知，f(0)=-1，…": a clause that states no value is not a blank
            parts = [p for p in parts if re.search(r"[=为是:：]", p)]
        if len(parts) == n:
            values = [_stated_value(p) for p in parts]
            return values if all(values) else None
    return None


_MATH_SPAN = re.compile(r"\$[^$]*\$")


def _prose_value(seg: str) -> str:
    """A numbered blank stated in words keeps only its value: "单调递增区间为 $(0,+\\infty)$" → ``(0,+\\infty)``.

    Only a Chinese statement (为 / 是 / a colon outside the maths) is cut; "$x=1$ 或 $x=2$" stays whole.
    """
    prose = _MATH_SPAN.sub(lambda m: " " * len(m.group()), seg)
    if not re.search(r"[\u4e00-\u9fff]", prose):
        return seg
    cut = max((m.end() for m in re.finditer(r"为|是|[:：]", prose)), default=-1)
    value = seg[cut:].strip() if cut >= 0 else ""
    return value if re.search(r"[^\s$]", value) else seg


def _stated_value(clause: str) -> str:
    """What a clause states: the text after its last "=", "为", "是" or colon outside brackets."""
    depth, cut = 0, -1
    for i, ch in enumerate(clause):
        if ch in "([{（":
            depth += 1
        elif ch in ")]}）":
            depth -= 1
        elif depth == 0 and ch in "=为是:：":
            cut = i
    return clause[cut + 1:].strip().strip("$").strip()


def _split_blanks(seg: str, n: int) -> list[str] | None:
    from evalkit.grading.answers import split_top

    seg = seg.strip().rstrip("。.").strip()
    for seps in (["；", ";"], ["，", "、"], [","], ["和", " and "]):
        parts = [p.strip().strip("$").strip() for p in split_top(seg, seps)]
        parts = [p for p in parts if p]
        if len(parts) == n:
            return parts
    return None

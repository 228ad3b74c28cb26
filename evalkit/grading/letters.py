"""Reading option letters the way a teacher does: what the student finally committed to.

This module owns option-letter extraction for single and multiple choice:

* :func:`extract_letters` — evalkit's reading. It gathers every *commitment* a response makes
  and returns the last one:

  - a cue followed by letters ("故选ACD", "答案：A、C", "The answers are (A) and (D)", "I'd go with B"),
    whatever joins them (、，, ; ； / & 和 及 与 或 and or, spaces, nothing) and however they are
    dressed (markdown bold/italics/code, ``$…$``, ``\\(…\\)``, ``\\text{}``, ``\\boxed{}``, brackets);
  - a cue that ends its line followed by the chosen options echoed one per line ("故选：\\nC．…\\nD．…");
  - a box holding letters; a conclusion naming an option with its text ("即**A. ①③**", "所以 $D.\\ 2$");
  - a refusal ("四个选项均不正确", "None of the options is correct", "【答案】无"), which reads as nothing.

  Later commitments replace earlier ones (a revision "…故选A。不对，应选B" reads B); a discussion of
  options before or after the conclusion ("选项 B 是错误的", "Option D is a common trap", "有同学会误选 C")
  is not a commitment. Statements such as "所以 B 正确" / "Both A and D are correct" count only when
  the response has no cue at all, and a response that *starts* with its letters ("B. Because …")
  is read last. Anything inside a ``<think>`` block is reasoning, not an answer.
* :func:`last_capital`, :func:`gaokao_bench_letters`, :func:`extract_letters_last_capital` — the
  GAOKAO-Bench rules, kept to reproduce its published numbers.

Measured on ``benchmarks/letter_corpus.jsonl`` by ``benchmarks/grading_conformance.py --only letters``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evalkit.grading.equivalence import _DOUBLE_ESC

__all__ = ["BENCH_QUESTION_TYPES", "extract_letter_groups", "extract_letters", "extract_letters_last_capital",
           "gaokao_bench_letters", "last_capital"]

_FULLWIDTH = str.maketrans("ＡＢＣＤＥＦＧＨＩＪ（）：，；、", "ABCDEFGHIJ（）：，；、")
_BOX_OPEN, _BOX_CLOSE = "\x01", "\x02"  # a box becomes a cue mark and a closing decoration

# ---------------------------------------------------------------------------------------- normalising
_WRAPPER = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mathsf|mbox|operatorname|bm|boldsymbol)"
                      r"\s*\{([^{}]*)\}")


def _unbox(text: str) -> str:
    """``\\boxed{X}`` / ``\\fbox{X}`` → mark X mark, nested braces respected (outermost boxes only)."""
    out, i = [], 0
    for m in re.finditer(r"\\+(?:boxed|fbox)\s*\{", text):
        if m.start() < i:
            continue
        depth, j = 0, m.end() - 1
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        if j >= len(text):
            continue
        out.append(text[i: m.start()] + _BOX_OPEN + text[m.end(): j] + _BOX_CLOSE)
        i = j + 1
    out.append(text[i:])
    return "".join(out)


_STRUCK = re.compile(r"~~(?=\S)[^~\n]{1,40}?~~|<(del|s|strike)>[^<\n]{0,40}</\1>")  # "选 ~~B~~ A、C": crossed out


def _normalise(text: str) -> str:
    """The response as a teacher sees it: after any reasoning block, LaTeX dressing removed."""
    t = _DOUBLE_ESC.sub(r"\\", text) if "\\\\" in text else text
    if "</think>" in t:
        after = t.rsplit("</think>", 1)[1]
        if after.strip():
            t = after
    t = t.translate(_FULLWIDTH)
    for _ in range(2):
        t = _WRAPPER.sub(r"\1", t)
    t = _unbox(t)
    t = _STRUCK.sub(" ", t)
    t = re.sub(r"\\[,;:! ]|\\q?quad\b|~", " ", t)
    t = re.sub(r"\\[()\[\]]", " ", t)
    t = re.sub(r"(?<![A-Za-z0-9])\(([a-d])\)", lambda m: f"({m.group(1).upper()})", t)  # "(a) and (c)"
    return t


# ---------------------------------------------------------------------------------------- letter runs
_OPEN = re.compile(r"(?:\*\*|\*|__|_|`|\$\$?|\x01|[(（\[【]|[ \t])*")
_CLOSE = re.compile(r"(?:\*\*|\*|__|_|`|\$\$?|\x02|[)）\]】])*")
_SEP = re.compile(r"[ \t]*(?:,[ \t]*and\b|,[ \t]*or\b|[、，,;；/&+]|以及|和|及|与|或|\band\b|\bor\b)?[ \t]*")
_FILLER = re.compile(r"(?:(?:the\s+)?(?:options?|choices?|statements?|letters?)\s+|选项\s*|(?<=[选是为])\s*项\s*)",
                     re.IGNORECASE)
_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-J]{1,10}(?![A-Za-z0-9'’]|_[A-Za-z0-9{])")
# after "A" or "I" a lowercase word makes an English sentence ("I hope", "A quick check"), not an option
_WORDS_AFTER_LETTER = {"and", "or", "are", "is", "as", "because", "since", "both", "only", "hold", "holds", "were",
                       "was", "for", "from", "with", "would", "must", "should", "also", "too", "seem", "seems"}
_STRICT_CJK = "项选两三四共"


@dataclass(frozen=True)
class _Run:
    letters: tuple[str, ...]
    end: int  # index after the run and its closing decorations
    labelled: bool = False  # one letter written as an option label: "(C) 45", "C) 45", "C. 45"
    tokens: int = 1  # letter groups read ("A, C and D" is three)


def _english_word_follows(text: str, j: int, token: str) -> bool:
    if token not in ("A", "I"):
        return False
    m = re.match(r"[ \t]+([a-z]+)", text[j:])
    return bool(m) and m.group(1) not in _WORDS_AFTER_LETTER


def _runs(text: str, i: int, keep_repeats: bool = False) -> list[_Run]:
    """Every way to read a run of letters starting at ``text[i]``, shortest first.

    Letters are distinct options in the order read; with ``keep_repeats`` every letter is kept in order
    (one per sub-question: "C F A E D", "BB").
    """
    pos = _OPEN.match(text, i).end()
    pos = _skip_filler(text, pos)
    letters: list[str] = []
    out: list[_Run] = []
    while True:
        m = _TOKEN.match(text, pos)
        if m is None or _english_word_follows(text, m.end(), m.group()):
            return out
        letters.extend(ch for ch in m.group() if keep_repeats or ch not in letters)
        end = _CLOSE.match(text, m.end()).end()
        label = len(m.group()) == 1 and not out and (
            bool(re.search(r"[)）]", text[m.end(): end])) or text[end: end + 1] in (".", "．", ":", "：", ")", "）", "、"))
        out.append(_Run(tuple(letters), end, label, len(out) + 1))
        sep = _SEP.match(text, end)
        nxt = _OPEN.match(text, sep.end()).end()
        nxt = _skip_filler(text, nxt)
        if nxt == end or not _TOKEN.match(text, nxt):
            return out
        pos = nxt


def _skip_filler(text: str, pos: int) -> int:
    for _ in range(2):
        m = _FILLER.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = _OPEN.match(text, m.end()).end()
    return pos


_NEGATED = re.compile(
    r"[ \t]*(?:项|选项)?(?:的说法|说法)?[ \t]*(?:都|均|皆|也)?[ \t]*(?:是)?(?:错误|不正确|不对|不符合|不成立|不满足|错|有误|"
    r"无从谈起|(?:应|可|予以)?排除|"
    r"不是(?![ \t]*[A-J](?![A-Za-z]))|is wrong|is incorrect|is false|are wrong|are incorrect|are false|"
    r"(?:is|are) not\b|does not|do not|fails?\b)", re.IGNORECASE)
_POSITIVE = re.compile(
    r"(?:[ \t]*(?:两|三|四)?个?(?:选)?项)?(?:[ \t]*的?说法)?[ \t]*(?:都|均|皆|也)?[ \t]*(?:是)?(?:正确|对|成立|符合题意|符合要求|符合条件)"
    r"|[ \t]+(?:is|are)[ \t]+(?:all[ \t]+)?(?:correct|true|right|valid)|[ \t]+holds?\b|[ \t]+hold true|[ \t]*[✓✔√]"
    r"|[ \t]+is[ \t]+the[ \t]+only[ \t]+(?:one|option|choice|answer|statement)",
    re.IGNORECASE)


def _ends_cue(text: str, run: _Run) -> bool:
    """What may follow letters read after a cue: the end, punctuation, Chinese, option text, 'is …'."""
    rest = text[run.end: run.end + 24]
    if run.tokens == 1 and re.match(r"[ \t]+[a-z]", rest):  # "réponse est C non A", "it's B since …"
        return True
    return (run.labelled or not rest.strip(" \t") or rest.lstrip(" \t")[:1] in "\n\r。.．!！?？,，;；:：、)）（(]】}—–-<\"“”'"
            or bool(re.match(r"[ \t]*[\u3400-\u9fff]", rest))
            or bool(re.match(r"[ \t]+(?:is|are|was|were|holds?|both|only|because|since|as|for|would|must|should)\b",
                             rest)))


def _ends_conclusion(text: str, run: _Run, single: bool) -> bool:
    """After "所以 / 即 / Therefore" the letters stand alone: the end, a sentence end, or one option with its text."""
    if single and run.labelled:
        return True
    rest = text[run.end: run.end + 24]
    if not rest.strip(" \t") or re.match(r"[ \t]*(?:\n|$)", rest):
        return True
    if re.match(r"[ \t]*[。!！](?:\s|$)|[ \t]*[.．](?:\s|$)|[ \t]*[,，;；]", rest):
        return True
    if single and re.match(r"[ \t]*[.．、:：)）][ \t]*\S", rest):
        return True
    return bool(re.match(f"[ \\t]*[{_STRICT_CJK}]", rest))


def _best(runs: list[_Run], ok) -> _Run | None:  # noqa: ANN001 - a predicate on the end index
    for run in reversed(runs):
        if ok(run):
            return run
    return None


# ---------------------------------------------------------------------------------------- commitments
_NOT_A_PICK = "不误错漏多会可未没单挑再别"
_CUE = re.compile(
    "|".join([
        r"【答案】", r"(?<!错误)(?<!错)答案(?:应该是|应该为|应为|应是|就是|是|为|选|应选)?", r"正确(?:的)?(?:答案|选项|选择)(?:是|为|有)?",
        r"正确的(?:是|为|有)", r"对应(?:的)?(?:选项)?(?:是|为)?", r"选项(?:是|为)",
        rf"(?<![{_NOT_A_PICK}])选(?!项|修|考|取|出|题)(?:择)?(?:的是)?", r"(?<![\u3400-\u9fff])答[ \t]*[:：]",
        r"结论(?:是|为)?[ \t]*[:：]", r"最终(?:答案|选择)(?:是|为)?",
        r"(?<!wrong )(?<!incorrect )\b(?:the\s+)?(?:final\s+|correct\s+|best\s+|right\s+)?answers?"
        r"(?:\s+(?:is|are|would be|must be|should be))?",
        r"\b(?:the\s+)?(?:correct|true|right|valid|best)\s+(?:options?|choices?|statements?|ones?)(?:\s+(?:is|are))?",
        r"\b(?:options?|choices?|statements?|ones?)\s+that\s+(?:must\s+be\s+|are\s+|is\s+)?(?:true|correct|valid|holds?|works?)"
        r"\s+(?:is|are)", r"\bwhich\s+is\s+(?:choice|option|answer)", r"\b(?:selected|chosen)\s*:",
        r"\bcorrect\s*:", r"\bmy\s+answer(?:\s+is)?", r"\bit(?:'s|’s|\s+is|\s+must\s+be|\s+should\s+be)(?=\s+\(?[A-J]\b)",
        r"\b(?:I|we)(?:'d|'ll|\s+would|\s+will|\s+should)?\s+(?:go\s+with|choose|pick|select)\b",
        r"\b(?:so|thus|therefore|hence),?\s+(?:we\s+)?(?:choose|pick|select|go\s+with)\b",
        r"réponse(?:\s+(?:finale\s+)?est)?",
        _BOX_OPEN,
    ]),
    re.IGNORECASE,
)
_CUE_TAIL = re.compile(r"[】\]]?[ \t]*(?:\*\*|__|\*)?[ \t]*(?:[:：—–-]|是|为)?[ \t]*(?:\*\*|__|\*)?"
                       r"(?:[ \t]*(?:for sure|definitely|probably|clearly|obviously|应为|应该是)[ \t]*[:：,，]?)?",
                       re.IGNORECASE)
_CONCLUDE = re.compile(r"(?:所以|因此|因而|故|即|综上(?:所述)?(?:可知)?|可知|于是|只有|∴|(?<=[,，]\s)|\b(?:therefore|thus|hence|so|consequently)\b"
                       r"|\b(?:we\s+)?conclude\s+that|(?:^|(?<=[.!?。！？\n]))\s*(?=(?:both|only|all of|options|statements|"
                       r"选项)\b)|\bboth\b|\bonly\b|\ball of\b)[ \t]*[,，:：]?[ \t]*\n?", re.IGNORECASE | re.MULTILINE)
_STRONG_CUE = re.compile(r"【答案】\s*[:：]?|(?:最终)?答案(?:是|为)?\s*[:：]|(?:the\s+)?final answer(?:\s+is)?\s*[:：]?",
                         re.IGNORECASE)
_REFUSAL = re.compile(
    r"(?<!其他)(?<!其余)(?<!其它)(?<!另外)(?<![A-J])(?<![A-J][ \t])(?:四个|所有|全部|以上|这些|各个?)?选项(?:均|都|全|全部)(?:不正确|错误|有错误|有误|不对|不符合|不满足)"
    r"|没有(?:一个)?(?:正确|符合题意|符合条件|满足条件|满足题意)?的?(?:选项|答案)(?:是正确的|正确|符合)?"
    r"|无(?:正确|符合题意的?|符合条件的?)(?:选项|答案)|本题无解|题目(?:可能)?(?:有误|出错|存在错误)"
    r"|(?:无法|不能)(?:确定|判断|作答|回答|选择)(?:答案|哪个|哪一个|正确)|无法作答"
    r"|\bnone of (?:the )?(?:options|choices|answers|them|these|the given)"
    r"|\bno (?:correct |valid )?(?:option|answer|choice)s? (?:is|are|among|matches|fits)|\bthere is no correct"
    r"|\bcannot be determined|\bcan(?:not|'t) determine|\bunable to determine|\bcan(?:not|'t) help"
    r"|\ball (?:four |the )?(?:options|choices) are (?:wrong|incorrect|false)|\bare all (?:incorrect|wrong|false)",
    re.IGNORECASE)


@dataclass(frozen=True)
class _Commitment:
    pos: int
    letters: tuple[str, ...] | None  # None: the response declines to choose
    strong: bool = True
    end: int = -1  # where its letters end: a cue inside them ("$\\boxed{A}$、$\\boxed{C}$") is the same one


def _after_cue(text: str, m: re.Match[str]) -> _Commitment | None:
    start = _CUE_TAIL.match(text, m.end()).end()
    runs = _runs(text, start)
    if runs and _NEGATED.match(text, runs[-1].end):  # "正确的是 B 与 C，A、D 不正确": the last clause is rejected
        cut = max((k.start() for k in re.finditer(r"[，,;；]", text[start: runs[-1].end])), default=-1)
        runs = [r for r in runs if cut >= 0 and r.end <= start + cut + 1]
    run = _best(runs, lambda r: _ends_cue(text, r) and not _NEGATED.match(text, r.end))
    if run is not None:
        listed = _inline_options(text, run) if run.labelled and len(run.letters) == 1 else None
        if listed is None:
            return _Commitment(m.start(), run.letters, end=run.end)
        whole = len(listed) >= 4 and "".join(listed) == "ABCDEFGHIJ"[: len(listed)]
        return _Commitment(m.start(), None if whole else listed, end=run.end)
    line_rest = text[start: text.find("\n", start) if "\n" in text[start:] else len(text)]
    if not _CLOSE.sub("", line_rest).strip(" \t:：*_`$"):
        echoed = _echoed_options(text, start)
        if echoed:
            return _Commitment(m.start(), echoed)
    return None


_INLINE_LABEL = re.compile(r"(?:(?<=[ \t;；，,。])|(?<=\*\*))(?:\*\*)?[(（]?([A-J])(?:[)）]|[ \t]*[.．、:：])(?=[ \t]*\S)")


def _inline_options(text: str, run: _Run) -> tuple[str, ...] | None:
    """Options written with their text after a cue, on its line: "A. ①② B. ①③ C. ②④ D. ③④" (the whole list
    copied: no choice) or "A. f(x) 是奇函数；C. f(1)=0" (the options chosen). Labels must run in order."""
    stop = len(text)
    for end in ("\n", "<eoa>"):
        k = text.find(end, run.end)
        stop = min(stop, k) if k >= 0 else stop
    letters = [run.letters[0]]
    for m in _INLINE_LABEL.finditer(text, run.end, stop):
        if m.group(1) <= letters[-1]:
            return None
        letters.append(m.group(1))
    return tuple(letters) if len(letters) > 1 else None


_OPTION_LINE = re.compile(r"[ \t]*(?:[-*•+][ \t]+|\d{1,2}[.、)][ \t]*)?(?:\*\*|__)?[(（]?([A-J])[)）]?(?:\*\*|__)?"
                          r"[ \t]*(?:[.．、:：)）]|\*\*|[ \t])")


def _echoed_options(text: str, start: int) -> tuple[str, ...] | None:
    """The options written out one per line after a cue that ends its line ("故选：\\nC．…\\nD．…")."""
    lines = text[start:].split("\n")[1:12]
    letters: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if not letters:  # "**答案**\n\n**B D**": the letters on the next line
            run = _best(_runs(line, 0), lambda r, ln=line: not ln[r.end:].strip(" \t*_`$.。"))
            if run is not None:
                return run.letters
        m = _OPTION_LINE.match(line + " ")
        if m:
            if m.group(1) not in letters:
                letters.append(m.group(1))
            continue
        break
    return tuple(letters) or None


def _concluded(text: str, m: re.Match[str], single: bool) -> _Commitment | None:
    runs = _runs(text, m.end())
    statement_only = not m.group().strip()  # ", (C) is the only one that works"
    for run in reversed(runs):
        if _NEGATED.match(text, run.end):
            return None
        if _POSITIVE.match(text, run.end):
            return _Commitment(m.start(), run.letters, strong=False, end=run.end)
        if not statement_only and _ends_conclusion(text, run, single and len(run.letters) == 1):
            return _Commitment(m.start(), run.letters, end=run.end)
    return None


def _commitments(text: str) -> list[_Commitment]:
    found = [c for c in (_after_cue(text, m) for m in _CUE.finditer(text)) if c is not None]
    taken = {c.pos for c in found}
    for m in _STRONG_CUE.finditer(text):  # "【答案】无正确答案": an answer line that names no option
        rest = text[m.end(): m.end() + 80].strip()
        if m.start() not in taken and rest and not rest.startswith(("<eoa>", _BOX_OPEN, "$", "<|")) \
                and not re.search(r"[A-J]", _CLOSE.sub("", rest[:12])):
            found.append(_Commitment(m.start(), None))
    found += [c for c in (_concluded(text, m, single=True) for m in _CONCLUDE.finditer(text)) if c is not None]
    found += [_Commitment(m.start(), None) for m in _REFUSAL.finditer(text)]
    final = _final_option_line(text)
    if final is not None:
        found.append(final)
    kept: list[_Commitment] = []
    for c in sorted(found, key=lambda c: c.pos):
        if _hypothetical(text, c.pos):
            continue
        if kept and c.pos < kept[-1].end and c.letters and set(c.letters) <= set(kept[-1].letters or ()):
            continue
        kept.append(c)
    return kept


_IF = re.compile(r"若|如果|假如|倘若|要是|\bif\b|\bsuppose\b|\bhad\b", re.IGNORECASE)
_BUT = re.compile(r"但|但是|可是|然而|\bbut\b|\bhowever\b", re.IGNORECASE)


def _hypothetical(text: str, pos: int) -> bool:
    """A pick inside a conditional ("若题目问错误的是，则应选 A") is not what the student chose."""
    start = max(text.rfind(ch, 0, pos) for ch in "。.!?！？\n") + 1
    sentence = text[start:pos]
    cond = None
    for cond in _IF.finditer(sentence):  # noqa: B007 - keeps the last match
        pass
    return cond is not None and not _BUT.search(sentence, cond.end())


def _final_option_line(text: str) -> _Commitment | None:
    """A response whose last line is one option alone ("$C. 45$", "**B**"): a weak commitment."""
    stripped = text.rstrip()
    start = stripped.rfind("\n") + 1
    if start == 0:
        return None
    line = stripped[start:]
    run = _best(_runs(line, 0), lambda r: r.labelled or not line[r.end:].strip(" \t*_`$.。"))
    if run is None or len(run.letters) != 1:
        return None
    return _Commitment(start, run.letters, strong=False, end=len(stripped))


def _leading(text: str) -> tuple[str, ...] | None:
    """A response that starts with its letters ("B. Because …", "**A, B, D**", "(A)(B)")."""
    run = _best(_runs(text, 0), lambda r: _ends_cue(text, r) and not _NEGATED.match(text, r.end))
    if run is None:
        return None
    return run.letters


def extract_letters(text: str | None, multi: bool = False) -> list[str] | None:
    """The option letters a response finally commits to (``["B"]``, ``["A", "C", "D"]``), or ``None``.

    ``None`` means no choice was made: nothing found, or a refusal ("no option is correct").
    For single choice a caller treats more than one distinct letter as a wrong answer.
    """
    if text is None:
        return None
    t = _normalise(text)
    if not t.strip():
        return None
    found = _commitments(t)
    strong = [c for c in found if c.strong]
    if strong:
        last = strong[-1]
        return list(last.letters) if last.letters else None
    if found:
        return list(found[-1].letters) if found[-1].letters else None
    lead = _leading(t)
    return list(lead) if lead else None


# ---------------------------------------------------------------------------------------- one letter per sub-question
_ANSWER_BLOCK = re.compile(r"【答案】")
_NUMBERED = re.compile(r"(?:^|(?<=[\s。.;；]))[(（]?(\d{1,2})[)）]?[.．、:：]?[ \t]*(?:【答案】|答案[ \t]*[:：]?)?[ \t]*[:：]?[ \t]*"
                       r"(?:\*\*)?[(（]?([A-J])[)）]?(?:\*\*)?(?![A-Za-z0-9])", re.MULTILINE)


def extract_letter_groups(text: str | None, n: int) -> list[str | None] | None:
    """One letter per sub-question of a group sharing one material (a reading passage, a cloze, a map).

    Reads, in order: ``n`` answer blocks ("（1）【答案】A <eoa>（2）【答案】C"), each read as a single choice;
    ``n`` consecutively numbered answers ("21. B  22. D …", "(1) A (2) C"); or one final answer holding
    exactly ``n`` letters ("【答案】C F A E D", "答案：BC"). A sub-question whose answer cannot be read is
    ``None``; a response in which the sub-questions cannot be told apart is ``None``.
    """
    if text is None or n < 1:
        return None
    t = _normalise(text)
    blocks = [m.start() for m in _ANSWER_BLOCK.finditer(t)]
    if len(blocks) >= n > 1:
        starts = blocks[-n:]
        ends = [*starts[1:], len(t)]
        out: list[str | None] = []
        for a, b in zip(starts, ends, strict=True):
            segment = re.split(r"<eoa>|\n\s*\n", t[a:b], maxsplit=1)[0]
            got = extract_letters(segment)
            out.append(got[0] if got and len(got) == 1 else None)
        return out
    numbered = _numbered_answers(t, n)
    if numbered is not None:
        return numbered
    return _final_letters(t, n)


_LINE_NUMBER = re.compile(r"^[ \t]*[(（]?(\d{1,2})[)）]?[.．、:：]?(?=\s|【|[A-J]\b|\*)", re.MULTILINE)


def _numbered_answers(text: str, n: int) -> list[str | None] | None:
    found = [(int(m.group(1)), m.group(2)) for m in _NUMBERED.finditer(text)]
    window = _consecutive(found, n)
    if window is not None:
        return [letter for _, letter in window]
    # lines numbered as the sub-questions, some of them answered in words ("49. The passage does not say")
    marks = [(int(m.group(1)), m.start()) for m in _LINE_NUMBER.finditer(text)]
    window = _consecutive(marks, n)
    if window is None:
        return None
    ends = [start for _, start in window[1:]] + [len(text)]
    out: list[str | None] = []
    for (_, start), end in zip(window, ends, strict=True):
        got = extract_letters(re.sub(r"^[ \t]*[(（]?\d{1,2}[)）]?[.．、:：]?", "", text[start:end]))
        out.append(got[0] if got and len(got) == 1 else None)
    return out if any(out) else None


def _consecutive(found: list[tuple[int, str]] | list[tuple[int, int]], n: int) -> list | None:  # type: ignore[type-arg]
    """The last ``n`` entries numbered one after another."""
    for end in range(len(found), n - 1, -1):
        window = found[end - n: end]
        if all(window[k + 1][0] == window[k][0] + 1 for k in range(n - 1)):
            return window
    return None


def _final_letters(text: str, n: int) -> list[str | None] | None:
    """The last cue (or answer block) followed by exactly ``n`` letters, repeats and order kept."""
    found = None
    for m in _CUE.finditer(text):
        start = _CUE_TAIL.match(text, m.end()).end()
        runs = [r for r in _runs(text, start, keep_repeats=True) if len(r.letters) == n and _ends_cue(text, r)]
        if runs:
            found = list(runs[-1].letters)
    if found is None and n > 1:
        lead = [r for r in _runs(text, 0, keep_repeats=True) if len(r.letters) == n and _ends_cue(text, r)]
        found = list(lead[-1].letters) if lead else None
    return found  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------- GAOKAO-Bench's rules
def last_capital(text: str | None, letters: str = "ABCD") -> str | None:
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


def extract_letters_last_capital(text: str | None, multi: bool = False) -> list[str] | None:
    """GAOKAO-Bench's rules: single choice takes the last capital A–D; multi takes all distinct
    capital A–D letters after the last answer cue (or in the whole output when there is none)."""
    if text is None:
        return None
    if not multi:
        ch = last_capital(text)
        return [ch] if ch else None
    m = None
    for m in re.finditer(r"【答案】|答案[:：是为]|故选|选", text):  # noqa: B007 - keeps the last match
        pass
    region = text[m.end():] if m else text
    found = sorted(set(re.findall(r"[A-D]", region)))
    return found or None

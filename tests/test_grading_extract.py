"""Final-answer, option-letter and fill-in extraction, pinned with responses written here."""

from __future__ import annotations

import pytest

from evalkit.grading.extract import (
    boxed_all,
    extract_blanks,
    extract_final_answer,
    extract_letters,
    extract_letters_last_capital,
    last_capital,
)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("So $x = \\boxed{\\frac{3}{4}}$.", "\\frac{3}{4}"),
        ("First \\boxed{1}, but correcting: \\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{\\sqrt{2}}{2}"),  # last box
        ("The set is \\boxed{\\{1, \\{2\\}\\}}", "\\{1, \\{2\\}\\}"),  # nested braces
        ("Hence \\fbox{42}.", "42"),
        ("The roots are \\boxed{2} and \\boxed{-5}.", "2, -5"),  # boxes joined by 'and'
        ("Step 1 gives \\boxed{3}. After a long detour we finally find that the value is \\boxed{7}.", "7"),
        ("We compute carefully.\nThe answer is 17.", "17"),
        ("The final answer is $\\frac{5}{8}$. I hope it is correct.", "\\frac{5}{8}"),
        ("Final Answer: The area of the lot is 360.", "360"),
        ("由题意得 a=2，所以答案是 $\\sqrt{3}$。", "\\sqrt{3}"),
        ("计算得 x=4。\n答案为：$(1,2)$", "(1,2)"),
        ("【答案】$\\frac{1}{3}$<eoa>", "\\frac{1}{3}"),
        ("Thus the total is **64**.", "64"),
        ("It follows that \\(y = 2x + 1\\).", "y = 2x + 1"),
        ("The result:\n\\[ \\frac{9}{2} \\]", "\\frac{9}{2}"),
        ("After adding, the shop has 31 apples left over now", "31"),
        ("Les deux trains se croisent à 14 h. Réponse : 14", "14"),
        ("So \\boxed{5}. The answer is correct.", "5"),  # "is correct" is not an answer
        ("The final answer is 5. This answer is correct.", "5"),
        ("The answer is Evelyn.", "Evelyn"),
    ],
)
def test_final_answer(text: str, answer: str) -> None:
    assert extract_final_answer(text) == answer


def test_nothing_found_is_none() -> None:
    assert extract_final_answer("I am not sure how to solve this problem.") is None
    assert extract_final_answer("") is None


def test_boxed_all_skips_nested_boxes() -> None:
    boxes = boxed_all("\\boxed{a+\\boxed{b}} then \\boxed{c}")
    assert [b[2] for b in boxes] == ["a+\\boxed{b}", "c"]


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("分析各选项……故选ACD", ["A", "C", "D"]),
        ("答案：A、C、D", ["A", "C", "D"]),
        ("The correct options are A and D.", ["A", "D"]),
        ("So the answer is $\\boxed{B, C}$", ["B", "C"]),
        ("(B)", ["B"]),
        ("A 错误，C 错误，D 错误。故选B", ["B"]),  # the conclusion, not the discussion
        ("Option A fails and so does C. The answer is (D).", ["D"]),
        ("B. Because the other three are false.", ["B"]),
        ("I think the correct choice is C; A and B contradict the data.", ["C"]),
        ("所以选 BD", ["B", "D"]),
        ("【解析】由a>0可知……【答案】B<eoa>", ["B"]),
        ("A项：错误；B项：正确；C项：错误；D项：正确。所以答案为BD", ["B", "D"]),
        ("因此，答案是$\\boxed{\\text{B}}$", ["B"]),
    ],
)
def test_letters(text: str, letters: list[str]) -> None:
    assert extract_letters(text, multi=True) == letters


def test_no_letter_is_none() -> None:
    assert extract_letters("This cannot be decided from the data given.") is None


def test_last_capital_rule() -> None:
    # GAOKAO-Bench's rule reads the last capital A-D anywhere, even inside the discussion
    assert last_capital("故选B，因为A不对") == "A"
    assert extract_letters_last_capital("故选B，因为A不对") == ["A"]
    assert extract_letters_last_capital("分析略。【答案】BD <eoa>", multi=True) == ["B", "D"]
    assert last_capital("no capitals here") is None


@pytest.mark.parametrize(
    ("text", "n", "blanks"),
    [
        ("第一空：$3$；第二空：$\\frac{1}{2}$。", 2, ["$3$", "$\\frac{1}{2}$"]),
        ("经计算，答案依次为 5，-2。", 2, ["5", "-2"]),
        ("The blanks are \\boxed{4} and \\boxed{\\sqrt{3}}.", 2, ["4", "\\sqrt{3}"]),
        ("The answer is 2; 7; 9", 3, ["2", "7", "9"]),
        ("The answer is $x=1$, $y=2$.", 2, ["x=1", "y=2"]),
        ("答案是 8", 1, ["8"]),
        ("答案：(1) 5 (2) 7", 2, ["5", "7"]),
        ("答案：①$x>1$；②$3$", 2, ["$x>1$", "$3$"]),
        ("第(1)问答案为2，第(2)问答案为$\\sqrt{3}$", 2, ["2", "$\\sqrt{3}$"]),
    ],
)
def test_blanks(text: str, n: int, blanks: list[str]) -> None:
    assert extract_blanks(text, n) == blanks


def test_blanks_that_cannot_be_told_apart() -> None:
    assert extract_blanks("The answer is 12", 2) is None
    assert extract_blanks("", 1) is None


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("A错误，C错误。所以B正确。", ["B"]),
        ("A is wrong. Therefore, B is correct.", ["B"]),
        ("经检验，正确的是D", ["D"]),
        ("综上，A、C正确", ["A", "C"]),
        ("综上所述，选B", ["B"]),
        ("综上，A错误，故选C", ["C"]),
    ],
)
def test_concluding_statements(text: str, letters: list[str]) -> None:
    assert extract_letters(text, multi=True) == letters


def test_a_rejected_option_is_not_a_pick() -> None:
    assert extract_letters("综上，A错误", multi=True) is None


def test_answer_blocks_in_gaokao_bench_format() -> None:
    # 【答案】 opens a block up to <eoa>; a multi-sentence block gives its conclusion
    out = "【解析】略 <eoe>\n【答案】\n解方程得 $t = 3$ 或 $t = -4$。因为 t>0，所以 $t$ 的值只能为3。<eoa>"
    assert extract_final_answer(out) == "3"
    assert extract_final_answer("【答案】$x^2$ + $2y$ = 7<eoa>") == "x^2 + 2y = 7"  # one formula in pieces
    assert extract_final_answer("【答案】\n代入得 $S$ 的最小值为 $\\frac{7}{2}$。<eoa>") == "\\frac{7}{2}"
    # an answer line that names no option is a refusal, not a pick from the discussion
    assert extract_letters("所以A、C都可能成立。<eoe>\n【答案】无正确答案<eoa>", multi=True) is None
    assert extract_letters("【答案】: C <eoa>", multi=False) == ["C"]
    assert extract_letters("B不是A", multi=False) == ["B"]


def test_letters_up_to_j_and_english_words_are_not_letters() -> None:
    assert extract_letters("The answer is (H).") == ["H"]
    assert extract_letters("故选 I") == ["I"]
    assert extract_letters("A quick check shows nothing conclusive.") is None
    assert extract_letters("I think so.") is None


def test_answer_block_after_display_math_with_latex_line_breaks() -> None:
    """A response whose math uses ``\\\\`` line breaks must still be read at its 【答案】 block."""
    response = ("解得\n$$\\begin{cases} x=\\frac{5}{3}\\\\ y=\\frac{\\sqrt{21}}{3} \\end{cases}$$\n"
                "因此距离为 $$\\frac{\\sqrt{21}}{3}$$\n<eoe>\n【答案】 B <eoa>")
    assert extract_letters(response) == ["B"]


def test_one_blank_is_the_final_answer_not_a_numbered_step_in_the_working() -> None:
    response = "由 (1)- (2)得, 2(a_1+a_3)=16(a+1)，所以 a=3.\n故答案为: 3 .\n故答案为 $\\boxed{3}$。"
    assert extract_blanks(response, 1) == ["3"]


@pytest.mark.parametrize(
    ("text", "multi", "letters"),
    [
        ("所以正确答案是 \\(C. 2\\)", False, ["C"]),  # a choice written inside inline math
        ("因此\n\\[C. 4\\]", False, ["C"]),
        ("即**A. ①③**", False, ["A"]),  # an option with its text and no cue
        ("综上 $\\text{A. ①③}$", False, ["A"]),
        ("故选A。\n选项 B 中的函数在定义域上不单调，是错误的。", False, ["A"]),  # named, then rejected
        ("故选：\nC．$f(x)$ 在 $(0,1)$ 上单调递增\nD．$f(x)$ 的最大值为 $2$", True, ["C", "D"]),  # echoed options
        ("**答案：ABD**\n\n- **选项C**：错误，因为 $f(x)$ 递减。", True, ["A", "B", "D"]),  # discussion after
        ("……故选A。 不对，应选B", False, ["B"]),  # a revision: the last commitment counts
        ("故选ACD。故选ACD。故选ACD。故选", True, ["A", "C", "D"]),  # a degenerate tail
        ("The answers are (A) and (D).", True, ["A", "D"]),
        ("答案：A;C;D", True, ["A", "C", "D"]),
        ("故选 __A、C__", True, ["A", "C"]),
        ("<think>A? no, B.</think>\n\nThe answer is C.", False, ["C"]),
    ],
)
def test_letters_as_chat_models_write_them(text: str, multi: bool, letters: list[str]) -> None:
    assert extract_letters(text, multi) == letters


def test_a_refusal_reads_as_no_choice() -> None:
    assert extract_letters("经计算，四个选项均不正确，本题无正确答案。", True) is None
    assert extract_letters("None of the options is correct: the value should be 5.") is None
    assert extract_letters("故选C。其他选项都不正确。") == ["C"]  # "the others are wrong" is no refusal


@pytest.mark.parametrize(("text", "answer"), [
    ("a 的值为 -2 或 3（舍去 3）", "-2"),
    ("a 的值为 -2 或 3（3 舍去）", "-2"),
    ("x=2 或 x=-1（舍）", "x=2"),
    ("解得 $x=3$（不合题意，舍去）或 $x=-2$", "x=-2"),
    ("舍去负根，得 $x=2$", "x=2"),
    ("x=-1（舍去）", "x=-1"),  # the only value stated: nothing else to read
])
def test_an_alternative_the_answer_rules_out_is_not_the_answer(text: str, answer: str) -> None:
    assert extract_final_answer(text) == answer


"""The built-in paper's answers, checked with sympy: every key result and option the paper relies on."""

from __future__ import annotations

import itertools

import sympy as sp
from conftest import REPO

from evalkit.tasks.gaokao import read_paper

PAPER = read_paper(REPO / "tasks" / "gaokao-math" / "paper.yaml")
ITEM = {i.number: i for i in PAPER.items}
x, n, m, a = sp.symbols("x n m a", real=True)


def test_single_choice_answers() -> None:
    sol = sp.solveset(x**2 - 3 * x - 4 < 0, x, sp.S.Reals)
    assert {v for v in (-2, -1, 0, 2, 4, 5) if sol.contains(v)} == {0, 2} and ITEM[1].answer == "A"
    z = (3 + sp.I) / (1 - sp.I)
    assert sp.simplify(sp.Abs(z) - sp.sqrt(5)) == 0 and ITEM[2].answer == "B"
    assert sp.solve(1 * (1 - m) + 2 * 3, m) == [7] and ITEM[3].answer == "D"
    t = sp.atan(2)
    assert sp.nsimplify(sp.sin(2 * t) + sp.cos(2 * t)) == sp.Rational(1, 5) and ITEM[4].answer == "C"
    pairs = list(itertools.combinations(range(1, 6), 2))
    assert sp.Rational(sum((p + q) % 2 == 0 for p, q in pairs), len(pairs)) == sp.Rational(2, 5)
    assert ITEM[5].answer == "A"
    d = (7 - 1) / 3
    assert 10 * 1 + 45 * d == 100 and ITEM[6].answer == "B"
    assert sp.sqrt(1 + 2**2) == sp.sqrt(5) and ITEM[7].answer == "D"
    # ln x - a x has two zeros iff its maximum -ln a - 1 is positive (a > 0)
    assert sp.solveset(-sp.log(a) - 1 > 0, a, sp.Interval.open(0, sp.oo)) == sp.Interval.open(0, sp.exp(-1))
    assert ITEM[8].answer == "C"


def test_multi_select_answers() -> None:
    f = sp.sin(2 * x + sp.pi / 3)
    assert sp.periodicity(f, x) == sp.pi
    assert f.subs(x, sp.pi / 12) == 1
    fp = sp.diff(f, x)
    assert fp.subs(x, sp.Rational(1, 100)) > 0 > fp.subs(x, sp.pi / 6 - sp.Rational(1, 100))  # C is false
    assert sp.simplify(f.subs(x, x - sp.pi / 6) - sp.sin(2 * x)) == 0
    assert ITEM[9].answer == ["A", "B", "D"]
    grid = [sp.Rational(k, 20) for k in range(1, 20)]
    checks = {"A": all(p * (1 - p) >= sp.Rational(1, 4) for p in grid),
              "B": all(p**2 + (1 - p) ** 2 >= sp.Rational(1, 2) for p in grid),
              "C": all(sp.sqrt(p) + sp.sqrt(1 - p) >= sp.sqrt(2) for p in grid),
              "D": all(1 / p + 1 / (1 - p) >= 4 for p in grid)}
    assert [k for k, ok in checks.items() if ok] == ITEM[10].answer == ["B", "D"]
    P = {"A": (0, 0, 0), "B": (2, 0, 0), "C": (2, 2, 0), "D": (0, 2, 0), "A1": (0, 0, 2), "B1": (2, 0, 2),
         "C1": (2, 2, 2), "D1": (0, 2, 2)}
    v = {k: sp.Matrix(p) for k, p in P.items()}
    u, w = v["B"] - v["A1"], v["C"] - v["B1"]
    assert sp.acos(abs(u.dot(w)) / (u.norm() * w.norm())) == sp.pi / 3
    bd1 = v["D1"] - v["B"]
    assert bd1.dot(v["C1"] - v["A1"]) == 0 and bd1.dot(v["D"] - v["A1"]) == 0
    vol = abs((v["B"] - v["A1"]).cross(v["C1"] - v["A1"]).dot(v["D"] - v["A1"])) / 6
    assert vol == sp.Rational(8, 3)
    assert 4 * sp.pi * 3 == 12 * sp.pi  # R^2 = 3, so "8π" (D) is false
    assert ITEM[11].answer == ["A", "B", "C"]


def test_fill_in_answers() -> None:
    expansion = sp.expand((x - 2 / x) ** 6)
    assert expansion.as_coefficients_dict()[1] == -160 and ITEM[12].answer == ["-160"]
    f = sp.Piecewise((2**x, x <= 0), (sp.log(x, 2), True))
    assert f.subs(x, f.subs(x, sp.Rational(1, 4))) == sp.Rational(1, 4)
    assert sp.solve(sp.log(x, 2) - 3, x) == [8] and sp.log(3, 2) > 0
    xs = sp.solve((2 * sp.sqrt(2) * (x - 1)) ** 2 - 4 * x, x)
    assert sorted(xi + 1 for xi in xs) == [sp.Rational(3, 2), 3] and ITEM[14].answer == ["\\frac{3}{2}"]


def test_solution_key_results() -> None:
    b, c = sp.symbols("b c", positive=True)
    assert sp.solve(sp.Eq((b + c) ** 2 - 3 * b * c, 7).subs(b + c, 4), b * c) == [3]
    assert sp.Rational(1, 2) * 3 * sp.sin(sp.pi / 3) == 3 * sp.sqrt(3) / 4
    # the triangle b=1, c=3, a=√7 satisfies the given condition with A = π/3
    A, bb, cc, aa = sp.pi / 3, 1, 3, sp.sqrt(7)
    C = sp.acos((aa**2 + bb**2 - cc**2) / (2 * aa * bb))
    assert sp.simplify(2 * bb * sp.cos(A) - (aa * sp.cos(C) + cc * sp.cos(A))) == 0
    # 16: S_n = 2a_n - 2 gives a_n = 2^n; T_n = (2n-3)2^(n+1) + 6
    for k in range(1, 12):
        assert sum(2**j for j in range(1, k + 1)) == 2 * 2**k - 2
        assert sum((2 * j - 1) * 2**j for j in range(1, k + 1)) == (2 * k - 3) * 2 ** (k + 1) + 6
    # 17: normal of plane AEC, PB parallel, sin θ = 1/3
    A3, C3, E3, P3, B3 = (sp.Matrix(t) for t in ((0, 0, 0), (2, 2, 0), (0, 1, 1), (0, 0, 2), (2, 0, 0)))
    normal = (E3 - A3).cross(C3 - A3)
    assert normal / normal[0] == sp.Matrix([1, -1, 1])
    assert (B3 - P3).dot(normal) == 0
    pc = C3 - P3
    assert abs(pc.dot(normal)) / (pc.norm() * normal.norm()) == sp.Rational(1, 3)
    # 18: x^2/4 + y^2/3 = 1 through (1, 3/2), e = 1/2; chord through F(1,0) has length 12(m^2+1)/(3m^2+4)
    assert sp.Rational(1, 4) + sp.Rational(9, 4) / 3 == 1 and sp.sqrt(4 - 3) / 2 == sp.Rational(1, 2)
    y = sp.symbols("y")
    quad = sp.Poly(sp.expand(3 * (m * y + 1) ** 2 + 4 * y**2 - 12), y)
    p2, p1, p0 = quad.all_coeffs()
    chord2 = (1 + m**2) * ((p1 / p2) ** 2 - 4 * p0 / p2)
    assert sp.simplify(chord2 - (12 * (m**2 + 1) / (3 * m**2 + 4)) ** 2) == 0
    assert sp.solve(sp.Eq(12 * (m**2 + 1) / (3 * m**2 + 4), sp.Rational(24, 7)), m) == [-1, 1]
    # 19: min of e^x - a x - 1 is a - a ln a - 1, which is >= 0 only at a = 1
    g = a - a * sp.log(a) - 1
    assert sp.diff(g, a) == -sp.log(a) and g.subs(a, 1) == 0
    assert all(g.subs(a, t) < 0 for t in (sp.Rational(1, 2), 2, 3))
    for k in (1, 2, 5, 50):
        assert sum(sp.Rational(1, j) for j in range(1, k + 1)) > sp.log(k + 1)

"""Allocation by rules: the total is exact, every line is within one of its share, the minimum
holds, and lines without the figure their rule needs are listed, never guessed."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotas.drafting.allocation import (
    FIXED,
    ISSUE_MINIMUM_EXCEEDS_TOTAL,
    ISSUE_NOTHING_TO_SCALE,
    ISSUE_PINNED_EXCEED_TOTAL,
    ISSUE_ZERO_BASIS,
    LAST_COMPLETED,
    LAST_TASK,
    MISSING_HEADCOUNT,
    MISSING_LAST_TASK,
    MISSING_RULE,
    OVERRIDE,
    RATE,
    LineInput,
    Rule,
    allocate,
    apportion,
    largest_remainder,
)

weights = st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=40)


@given(weights, st.integers(min_value=0, max_value=20_000))
def test_largest_remainder_is_exact_within_one_and_monotone(ws, total):
    result = largest_remainder(ws, total)
    assert sum(result) == total
    whole = sum(ws) or len(ws)
    shares = [Fraction(total * (w if sum(ws) else 1), whole) for w in ws]
    assert all(abs(x - s) < 1 for x, s in zip(result, shares, strict=True))
    for i, j in itertools.combinations(range(len(ws)), 2):
        if ws[i] > ws[j]:
            assert result[i] >= result[j]


@given(weights, st.integers(min_value=0, max_value=20_000))
def test_integer_weights_and_the_same_weights_as_fractions_split_alike(ws, total):
    """Integer weights (the counting core's persons) take a path without Fractions: the same split."""
    assert largest_remainder(ws, total) == largest_remainder([Fraction(w) for w in ws], total)
    assert largest_remainder(ws, total) == largest_remainder([Fraction(w, 3) for w in ws], total)


def _brute_force(ws, total):
    """Every way to write `total` as len(ws) non-negative integers: the least sum of distances."""
    shares = [Fraction(total * w, sum(ws)) for w in ws]
    best = None
    for combo in itertools.product(range(total + 1), repeat=len(ws)):
        if sum(combo) == total:
            cost = sum(abs(x - s) for x, s in zip(combo, shares, strict=True))
            best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=60)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=4), st.integers(min_value=0, max_value=9))
def test_largest_remainder_is_as_close_as_any_split(ws, total):
    result = largest_remainder(ws, total)
    shares = [Fraction(total * w, sum(ws)) for w in ws]
    assert sum(abs(x - s) for x, s in zip(result, shares, strict=True)) == _brute_force(ws, total)


@given(weights, st.integers(min_value=0, max_value=20_000), st.integers(min_value=0, max_value=30))
def test_apportion_keeps_the_minimum_and_the_total(ws, total, minimum):
    result = apportion(ws, total, minimum)
    if total < minimum * len(ws):
        assert result is None
        return
    assert sum(result) == total
    assert min(result) >= minimum
    for i, j in itertools.combinations(range(len(ws)), 2):
        if ws[i] > ws[j]:
            assert result[i] >= result[j]


def test_a_worked_example():
    # 仪征: 15 % of the headcount for organs; companies as last year; a town fixed by staff.
    lines = [
        LineInput("组织部", "party_gov", headcount=100),
        LineInput("宣传部", "party_gov", headcount=33),
        LineInput("仪化公司", "enterprise", last_task=400),
        LineInput("刘集镇", "town", override=380),
    ]
    rules = {"party_gov": Rule(RATE, Fraction(15, 100)), "enterprise": Rule(LAST_TASK)}
    unfitted = allocate(lines, rules)
    assert [r.amount for r in unfitted.lines] == [15, 5, 400, 380]  # 15, 4.95 → 5
    assert unfitted.total == 800 and unfitted.scale is None and unfitted.exact
    fitted = allocate(lines, rules, total=1000)
    assert fitted.total == 1000 and fitted.exact
    assert fitted.lines[3].amount == 380 and fitted.lines[3].rule == OVERRIDE
    # the other 620 in the ratio 15 : 4.95 : 400, i.e. 22.15, 7.31, 590.55: the floors make 619,
    # and the one person left goes to the largest fractional part (.55)
    assert [r.amount for r in fitted.lines[:3]] == [22, 7, 591]
    assert fitted.scale == Fraction(620) / Fraction(8399, 20)


def test_missing_figures_are_listed_not_guessed():
    lines = [
        LineInput(1, "party_gov", headcount=None),
        LineInput(2, "enterprise", last_task=None),
        LineInput(3, "school", headcount=10),
        LineInput(4, "party_gov", headcount=200),
    ]
    result = allocate(lines, {"party_gov": Rule(RATE, Fraction(1, 5)), "enterprise": Rule(LAST_TASK)}, total=90)
    assert [(r.key, r.amount, r.missing) for r in result.lines[:3]] == [
        (1, None, MISSING_HEADCOUNT),
        (2, None, MISSING_LAST_TASK),
        (3, None, MISSING_RULE),
    ]
    assert result.lines[3].amount == 90 and [r.key for r in result.missing] == [1, 2, 3]


def test_fixed_and_unscaled_rules_are_not_fitted():
    lines = [
        LineInput("a", "town", last_task=50),
        LineInput("b", "school", headcount=333),
        LineInput("c", "school", headcount=333),
        LineInput("d", "enterprise", last_completed=120),
    ]
    rules = {
        "town": Rule(FIXED, Fraction(30)),
        "school": Rule(RATE, Fraction(1, 10), scalable=False),  # 33.3 + 33.3 = 66.6 → 67 together
        "enterprise": Rule(LAST_COMPLETED),
    }
    result = allocate(lines, rules, total=200)
    assert [r.amount for r in result.lines] == [30, 34, 33, 103]
    assert result.total == 200 and result.lines[3].scaled


@pytest.mark.parametrize(
    ("total", "minimum", "issue"),
    [
        (100, 0, ISSUE_PINNED_EXCEED_TOTAL),  # the overrides alone are 150
        (160, 6, ISSUE_MINIMUM_EXCEEDS_TOTAL),  # 10 left for two lines of at least 6
    ],
)
def test_a_total_that_cannot_be_met_says_why(total, minimum, issue):
    lines = [LineInput(1, "x", override=150), LineInput(2, "y", last_task=10), LineInput(3, "y", last_task=20)]
    result = allocate(lines, {"y": Rule(LAST_TASK)}, total=total, minimum=minimum)
    assert issue in result.issues and not result.exact
    assert all(r.amount is not None and r.amount >= minimum for r in result.lines[1:])


def test_nothing_to_scale_and_zero_basis():
    result = allocate([LineInput(1, "x", override=10)], {}, total=20)
    assert result.issues == [ISSUE_NOTHING_TO_SCALE] and result.total == 10
    result = allocate([LineInput(1, "y", last_task=0), LineInput(2, "y", last_task=0)], {"y": Rule(LAST_TASK)}, total=9)
    assert ISSUE_ZERO_BASIS in result.issues and [r.amount for r in result.lines] == [5, 4]


lines_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=600)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
    ),
    min_size=1,
    max_size=60,
)


@given(lines_strategy, st.integers(min_value=0, max_value=30_000), st.integers(min_value=0, max_value=5))
def test_fitting_is_exact_whenever_it_can_be(raw, total, minimum):
    rules = {"a": Rule(RATE, Fraction(15, 100)), "b": Rule(LAST_TASK, Fraction(21, 20)), "c": Rule(FIXED, Fraction(7))}
    lines = [LineInput(i, c, headcount=h, last_task=t, override=o) for i, (c, h, t, o) in enumerate(raw)]
    result = allocate(lines, rules, total=total, minimum=minimum)
    computed = [r for r in result.lines if r.amount is not None and r.rule in (RATE, LAST_TASK)]
    pinned = sum(r.amount for r in result.lines if r.rule in (OVERRIDE, FIXED))
    if computed and total - pinned >= minimum * len(computed):
        assert result.exact and result.total == total
    if not result.issues:
        assert result.exact
    for line, r in zip(lines, result.lines, strict=True):
        if line.override is not None:
            assert r.amount == line.override
        elif line.category == "d":
            assert r.amount is None and r.missing == MISSING_RULE
        elif r.amount is not None and r.rule != FIXED:
            assert r.amount >= minimum

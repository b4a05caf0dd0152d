"""Spread a total over units by rules per unit category, keeping the total exact.

Pure Python. Each line (a unit, a group of units sharing one number, or a sub-jurisdiction)
gets its number from the first of:

1. its **override** (a number staff typed) — taken as it is;
2. its category's **rule**:
   - ``rate``: headcount × rate (仪征: 15 % of 适龄健康员工总人数),
   - ``last_task``: last year's task × factor (1 = the same as last year),
   - ``last_completed``: last year's completed × factor,
   - ``fixed``: a fixed number for every unit of the category.

A line whose rule needs a figure the line does not have (no headcount, no task last year) gets
no number: it is listed as missing, never guessed.

Rules other than ``fixed`` are *scalable* unless staff say otherwise: when the draft has a total,
the scalable lines are scaled together so that every line adds up to the total exactly. The
numbers are whole persons, rounded by the largest-remainder method (Hamilton's): each line gets
the integer part of its exact share, and the persons left over go one each to the largest
fractional parts. So the sum is exact, every line is within one person of its exact share, and a
larger share never gets a smaller number. A minimum (每单位至少 n 人) is met by water-filling:
lines whose share falls below it get the minimum, the rest share what is left.

Lines that are not scaled (a non-scalable rule) are rounded the same way within their category,
so the category's sum is its exact sum rounded, not the sum of each line rounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from core.apportion import largest_remainder

RATE, LAST_TASK, LAST_COMPLETED, FIXED = "rate", "last_task", "last_completed", "fixed"
OVERRIDE = "override"
RULE_KINDS = (RATE, LAST_TASK, LAST_COMPLETED, FIXED)

# What a line lacks when its rule cannot give it a number.
MISSING_HEADCOUNT, MISSING_LAST_TASK, MISSING_LAST_COMPLETED, MISSING_RULE = (
    "headcount",
    "last_task",
    "last_completed",
    "rule",
)
_NEEDS = {RATE: MISSING_HEADCOUNT, LAST_TASK: MISSING_LAST_TASK, LAST_COMPLETED: MISSING_LAST_COMPLETED}

# Why the total could not be met exactly (codes; the page words them).
ISSUE_PINNED_EXCEED_TOTAL = "pinned_exceed_total"  # overrides, fixed and unscaled lines alone exceed it
ISSUE_MINIMUM_EXCEEDS_TOTAL = "minimum_exceeds_total"  # the minimum for every scalable line exceeds what is left
ISSUE_NOTHING_TO_SCALE = "nothing_to_scale"  # a total is set but no line is scalable
ISSUE_ZERO_BASIS = "zero_basis"  # the scalable lines' rules all give 0: the rest is split evenly


@dataclass(frozen=True)
class Rule:
    """A category's rule. `value`: the rate (0.15), the factor (1.05) or the fixed number."""

    kind: str
    value: Fraction = Fraction(1)
    scalable: bool = True

    def __post_init__(self):
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule {self.kind!r}")
        if self.value < 0:
            raise ValueError("a rule's value cannot be negative")
        object.__setattr__(self, "value", Fraction(self.value))

    @property
    def scales(self) -> bool:
        return self.scalable and self.kind != FIXED


@dataclass(frozen=True)
class LineInput:
    """What the allocation knows of a line; `key` is the caller's (a line id, an index)."""

    key: object
    category: str
    headcount: int | None = None
    last_task: int | None = None
    last_completed: int | None = None
    override: int | None = None


@dataclass
class LineResult:
    key: object
    amount: int | None  # None: missing a figure its rule needs
    rule: str  # RATE / LAST_TASK / LAST_COMPLETED / FIXED / OVERRIDE, or "" when there is none
    basis: Fraction | None = None  # the rule's exact figure before scaling and rounding
    exact: Fraction | None = None  # the exact share after scaling, before rounding
    missing: str = ""
    at_minimum: bool = False  # raised to the minimum
    scaled: bool = False


@dataclass
class Allocation:
    lines: list[LineResult]
    total: int  # the sum of every line's number
    target: int | None  # the total asked for, when one was
    scale: Fraction | None  # the factor applied to the scalable lines (None: nothing scaled)
    issues: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """The lines add up to the total asked for (trivially so when none was)."""
        return self.target is None or self.total == self.target

    @property
    def missing(self) -> list[LineResult]:
        return [line for line in self.lines if line.amount is None]


def round_half_up(value: Fraction) -> int:
    return int((value + Fraction(1, 2)) // 1)


def apportion(weights: Sequence[Fraction | int], total: int, minimum: int = 0) -> list[int] | None:
    """`largest_remainder` with every number at least `minimum`; None when the total cannot
    give every line its minimum.

    Water-filling: the lines whose share would fall below the minimum get the minimum (smallest
    weights first, since a smaller weight never has a larger share), the others share the rest.
    """
    n = len(weights)
    if minimum <= 0 or n == 0:
        return largest_remainder(weights, total)
    if total < minimum * n:
        return None
    weights = [Fraction(w) for w in weights]
    if sum(weights) == 0:
        weights = [Fraction(1)] * n
    order = sorted(range(n), key=lambda i: (weights[i], i))
    remaining_weight = sum(weights)
    k = 0  # order[:k] are held at the minimum
    while k < n:
        rest = total - minimum * k
        i = order[k]
        if rest * weights[i] >= minimum * remaining_weight:
            break
        remaining_weight -= weights[i]
        k += 1
    result = [minimum] * n
    free = order[k:]
    if free:
        for i, amount in zip(free, largest_remainder([weights[i] for i in free], total - minimum * k), strict=True):
            result[i] = amount
    return result


def _basis(line: LineInput, rule: Rule) -> Fraction | None:
    figure = {RATE: line.headcount, LAST_TASK: line.last_task, LAST_COMPLETED: line.last_completed}[rule.kind]
    return None if figure is None else figure * rule.value


def allocate(
    lines: Sequence[LineInput], rules: dict[str, Rule], *, total: int | None = None, minimum: int = 0
) -> Allocation:
    """A number for every line (see the module's docstring); `total` None: no fitting."""
    results: list[LineResult] = []
    pinned = 0
    scalable: list[LineResult] = []
    unscaled: dict[str, list[LineResult]] = defaultdict(list)
    for line in lines:
        if line.override is not None:
            results.append(LineResult(line.key, line.override, OVERRIDE))
            pinned += line.override
            continue
        rule = rules.get(line.category)
        if rule is None:
            results.append(LineResult(line.key, None, "", missing=MISSING_RULE))
            continue
        if rule.kind == FIXED:
            amount = int(rule.value)
            results.append(LineResult(line.key, amount, FIXED, basis=Fraction(amount), exact=Fraction(amount)))
            pinned += amount
            continue
        basis = _basis(line, rule)
        result = LineResult(
            line.key, None, rule.kind, basis=basis, missing="" if basis is not None else _NEEDS[rule.kind]
        )
        results.append(result)
        if basis is None:
            continue
        # Without a total nothing is fitted: every line keeps its rule's number.
        (scalable if rule.scales and total is not None else unscaled[line.category]).append(result)

    for group in unscaled.values():
        amounts = largest_remainder([r.basis for r in group], round_half_up(sum(r.basis for r in group)))
        for result, amount in zip(group, amounts, strict=True):
            result.exact = result.basis
            result.amount = max(amount, minimum)
            result.at_minimum = amount < minimum
            pinned += result.amount

    issues: list[str] = []
    scale = None
    if scalable:
        basis_sum = sum(r.basis for r in scalable)
        target = total - pinned
        amounts = None
        if target < 0:
            issues.append(ISSUE_PINNED_EXCEED_TOTAL)
        else:
            amounts = apportion([r.basis for r in scalable], target, minimum)
            if amounts is None:
                issues.append(ISSUE_MINIMUM_EXCEEDS_TOTAL)
            elif basis_sum == 0 and target > 0:
                issues.append(ISSUE_ZERO_BASIS)
        if amounts is None:  # the total cannot be met: the rules unscaled (and the minimum), said above
            fallback = max(round_half_up(basis_sum), minimum * len(scalable))
            amounts = apportion([r.basis for r in scalable], fallback, minimum)
        used = sum(amounts)
        scale = Fraction(used) / basis_sum if basis_sum else None
        for result, amount in zip(scalable, amounts, strict=True):
            result.amount = amount
            result.exact = result.basis * scale if scale is not None else Fraction(used, len(scalable))
            result.at_minimum = minimum > 0 and amount == minimum and result.exact < minimum
            result.scaled = True
    elif total is not None and total != pinned:
        issues.append(ISSUE_PINNED_EXCEED_TOTAL if pinned > total else ISSUE_NOTHING_TO_SCALE)

    drafted = sum(r.amount for r in results if r.amount is not None)
    return Allocation(lines=results, total=drafted, target=total, scale=scale, issues=issues)

"""Assign units to periods so that the cumulative task follows the cumulative clinical demand.

Pure Python. The blood station collects what the units donate in their period; the hospitals use
blood all year, more in some months (采供血平衡). Given each period's expected demand and each
item's size (a unit's task, or one part of a unit split by staff), every movable item gets one
period; fixed items (a unit that always donates in March, or the parts of a split unit) keep
theirs.

**What is measured.** The demand curve scaled to the plan: D_p = T × (demand up to the end of
period p) / (the year's demand), T the sum of all items. The planned curve C_p: the tasks of the
items in periods up to p. The gap at p is C_p − D_p; the largest gap is max_p |C_p − D_p|.

**The guarantee.** With s the largest movable item and L the smallest largest gap any
assignment could reach if movable items could be cut into pieces (what the fixed items force,
computed exactly by `fluid_lower_bound`), the assignment returned has

    largest gap ≤ L + s / 2,

and since no assignment can do better than L, it is never more than s / 2 from the optimum.
Without fixed items L = 0, so the largest gap is at most half the largest movable item.

**How.** A target curve m_p that never decreases and stays within L of the demand curve (the
middle of the band every fluid optimum lies in). Then, period by period, the largest items that
still fit under m_p, and at the end of each period the one item that brings the curve closest to
m_p when adding it reduces the gap. Every period ends within s/2 of m_p, hence within L + s/2 of
D_p (proof in `greedy`). A local search then moves or swaps items across the worst boundary while
that lowers the largest gap (then the sum of squared gaps); it never raises the largest gap, so
the bound holds after it too.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Item:
    key: object
    size: int
    fixed: int | None = None  # a period index, or None: the balancer chooses


@dataclass
class Balance:
    periods: list[int]  # the period of each item, in the order given
    loads: list[int]  # the task planned in each period
    demand_curve: list[Fraction]  # D_p
    planned_curve: list[int]  # C_p
    gaps: list[Fraction]  # C_p − D_p
    largest_gap: Fraction
    lower_bound: Fraction  # L
    largest_movable: int  # s
    worst_period: int | None  # where the largest gap is (None: no gap at all)

    @property
    def bound(self) -> Fraction:
        """The guaranteed ceiling of the largest gap: L + s/2."""
        return self.lower_bound + Fraction(self.largest_movable, 2)


def cumulative_demand(demand: Sequence[Fraction | int | float], total: int) -> list[Fraction]:
    """D_p: the demand curve scaled to `total`. No demand at all counts as an even year."""
    values = [Fraction(v) for v in demand]
    whole = sum(values)
    if whole == 0:
        values, whole = [Fraction(1)] * len(values), Fraction(len(values))
    result, running = [], Fraction(0)
    for v in values:
        running += v
        result.append(total * running / whole)
    return result


def _cumulate(values: Sequence[int]) -> list[int]:
    result, running = [], 0
    for v in values:
        running += v
        result.append(running)
    return result


def fluid_lower_bound(h: Sequence[Fraction], movable_total: int) -> Fraction:
    """L: the least largest gap of any nondecreasing Y (0 ≤ Y ≤ F, Y at the end = F) against h.

    h_p is what the movable items should have reached by p (D_p minus the fixed items up to p).
    A nondecreasing Y within L of h exists iff L ≥ −h_p (Y ≥ 0), L ≥ h_p − F (Y ≤ F) and
    L ≥ (h_q − h_p)/2 for q before p (Y cannot go down): L is the largest of these.
    """
    bound = Fraction(0)
    running_max = None
    for value in h:
        bound = max(bound, -value, value - movable_total)
        if running_max is not None:
            bound = max(bound, (running_max - value) / 2)
        running_max = value if running_max is None else max(running_max, value)
    return bound


def target_curve(h: Sequence[Fraction], movable_total: int, bound: Fraction) -> list[Fraction]:
    """m_p: nondecreasing, within `bound` of h, from 0 to F — the middle of the feasible band."""
    n = len(h)
    low, running = [], None
    for value in h:
        running = value if running is None else max(running, value)
        low.append(max(Fraction(0), running - bound))
    high, running = [Fraction(0)] * n, None
    for p in range(n - 1, -1, -1):
        running = h[p] if running is None else min(running, h[p])
        high[p] = min(Fraction(movable_total), running + bound)
    curve = [(lo + hi) / 2 for lo, hi in zip(low, high, strict=True)]
    if curve:
        curve[-1] = Fraction(movable_total)
    return curve


def greedy(sizes: Sequence[int], target: Sequence[Fraction]) -> list[int]:
    """A period for each movable item, following the nondecreasing target curve m.

    Period by period, items that still fit under m_p, again and again, until none does; then,
    when the rest r = m_p − Y is positive and every remaining item is larger than r, the smallest
    one s′ if s′ < 2r. The last period takes what is left.

    Which fitting item comes next does not matter to the bound, so the choice spreads the units:
    each period first takes the largest item that fits (a large unit must go where it still
    fits), then aims at its share of the remaining units (as many units as its share of the
    remaining task), taking the item nearest the size that would fill its room with that many
    units. Largest-first would fill the first months with the largest units and leave dozens of
    small ones crowding the last month's vehicles (分段分时分流).

    Why every period ends within s/2 of m_p (s the largest item): if Y already reached m_p,
    Y − m_p ≤ Y − m_{p−1} ≤ s/2 by the previous period (m never decreases). Otherwise either
    nothing remaining is below 2r, so r < s′/2 ≤ s/2; or s′ is added and the overshoot is
    s′ − r < s′/2. The last period ends at F = m exactly.
    """
    n_periods = len(target)
    result = [0] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], -i))
    remaining_sizes = [sizes[i] for i in order]  # ascending
    remaining_ids = list(order)
    remaining_total = sum(sizes)
    placed = 0
    for p in range(n_periods):
        if p == n_periods - 1:
            for i in remaining_ids:
                result[i] = p
            break
        rest = target[p] - placed
        wanted = round(len(remaining_sizes) * max(rest, 0) / remaining_total) if remaining_total else 0
        taken = 0
        while rest > 0 and remaining_sizes:
            fits = bisect.bisect_right(remaining_sizes, rest)  # remaining_sizes[:fits] fit
            if fits == 0:
                break
            if taken == 0:
                k = fits - 1  # first the largest that fits: large units must go where they still fit
            else:
                ideal = rest / max(wanted - taken, 1)
                k = min(bisect.bisect_left(remaining_sizes, ideal, 0, fits), fits - 1)
                if k > 0 and abs(remaining_sizes[k - 1] - ideal) <= abs(remaining_sizes[k] - ideal):
                    k -= 1
            size = remaining_sizes.pop(k)
            result[remaining_ids.pop(k)] = p
            placed += size
            rest -= size
            remaining_total -= size
            taken += 1
        if rest > 0 and remaining_sizes and remaining_sizes[0] < 2 * rest:
            size = remaining_sizes.pop(0)
            result[remaining_ids.pop(0)] = p
            placed += size
            remaining_total -= size
    return result


def _objective(gaps: Sequence[float]) -> tuple[float, float]:
    return max((abs(g) for g in gaps), default=0.0), sum(g * g for g in gaps)


EXHAUSTIVE_UP_TO = 200  # movable items; above it the search tries the sizes nearest the ideal move only


def improve(
    sizes: Sequence[int],
    periods: list[int],
    fixed_loads: Sequence[int],
    demand_curve: Sequence[Fraction],
    *,
    rounds: int,
) -> list[int]:
    """Move or swap movable items across the worst boundary while the largest gap (then the sum
    of squared gaps) goes down. Works in floats; the caller checks the result exactly.

    Moving x persons across the worst boundary changes its gap g by x, which helps only when
    x < 2|g|. Small instances try every such move and swap; large ones the few sizes nearest
    |g| in each period (moves) and nearest size − |g| (swaps), found by bisection.
    """
    n_periods = len(demand_curve)
    if n_periods < 2 or not sizes:
        return periods
    periods = list(periods)
    demand = [float(d) for d in demand_curve]
    loads = list(fixed_loads)
    for i, p in enumerate(periods):
        loads[p] += sizes[i]
    exhaustive = len(sizes) <= EXHAUSTIVE_UP_TO
    for _ in range(rounds):
        gaps = [c - d for c, d in zip(_cumulate(loads), demand, strict=True)]
        change = _best_change(sizes, periods, gaps, exhaustive=exhaustive)
        if change is None:
            break
        for i, p in change:
            loads[periods[i]] -= sizes[i]
            loads[p] += sizes[i]
            periods[i] = p
    return periods


_EPS = 1e-9


def _best_change(sizes, periods, gaps, *, exhaustive: bool):
    """The move ((item, period),) or swap ((item, period), (item, period)) across the worst
    boundary that lowers the objective most, or None."""
    n_periods = len(gaps)
    worst = max(range(n_periods - 1), key=lambda q: abs(gaps[q]))
    wanted = abs(gaps[worst])
    if wanted <= _EPS:
        return None
    before, after = range(0, worst + 1), range(worst + 1, n_periods)
    sources, sinks = (before, after) if gaps[worst] > 0 else (after, before)
    # Items of the same size in the same period are interchangeable: one candidate each.
    by_period: dict[int, dict[int, int]] = {}
    for i, p in enumerate(periods):
        by_period.setdefault(p, {}).setdefault(sizes[i], i)
    sorted_sizes = {p: sorted(found) for p, found in by_period.items()}

    def near(p: int, value: float) -> list[int]:
        options = sorted_sizes.get(p, [])
        if exhaustive:
            return options
        k = bisect.bisect_left(options, value)
        return options[max(k - 2, 0) : k + 2]

    best, best_change = _objective(gaps), None
    for a in sources:
        for size in near(a, wanted):
            i = by_period[a][size]
            for b in sinks:
                candidates = [(((i, b),), size)]
                candidates += [(((i, b), (by_period[b][other], a)), size - other) for other in near(b, size - wanted)]
                for change, delta in candidates:
                    if not 0 < delta < 2 * wanted:
                        continue
                    lo, hi, sign = (a, b, -1) if a < b else (b, a, 1)
                    score = _objective([g + sign * delta if lo <= q < hi else g for q, g in enumerate(gaps)])
                    if score[0] < best[0] - _EPS or (score[0] <= best[0] + _EPS and score[1] < best[1] - _EPS):
                        best, best_change = score, change
    return best_change


def balance(items: Sequence[Item], demand: Sequence[Fraction | int | float], *, rounds: int | None = None) -> Balance:
    """Periods for the items against the demand (one value per period); see the module docstring.

    `rounds` caps the local search (default: four times the number of periods; 0: greedy only).
    """
    n_periods = len(demand)
    if n_periods == 0:
        raise ValueError("at least one period")
    for item in items:
        if item.size < 0:
            raise ValueError("an item's size cannot be negative")
        if item.fixed is not None and not 0 <= item.fixed < n_periods:
            raise ValueError(f"fixed period {item.fixed} outside 0..{n_periods - 1}")
    total = sum(item.size for item in items)
    demand_curve = cumulative_demand(demand, total)
    fixed_loads = [0] * n_periods
    for item in items:
        if item.fixed is not None:
            fixed_loads[item.fixed] += item.size
    movable = [i for i, item in enumerate(items) if item.fixed is None]
    sizes = [items[i].size for i in movable]
    movable_total = sum(sizes)
    h = [d - f for d, f in zip(demand_curve, _cumulate(fixed_loads), strict=True)]
    lower = fluid_lower_bound(h, movable_total)
    chosen = greedy(sizes, target_curve(h, movable_total, lower))
    if rounds is None:
        rounds = 4 * n_periods
    if rounds:
        improved = improve(sizes, chosen, fixed_loads, demand_curve, rounds=rounds)
        if _largest_gap(improved, sizes, fixed_loads, demand_curve) <= _largest_gap(
            chosen, sizes, fixed_loads, demand_curve
        ):
            chosen = improved
    result = [item.fixed if item.fixed is not None else 0 for item in items]
    for i, p in zip(movable, chosen, strict=True):
        result[i] = p
    loads = list(fixed_loads)
    for i, p in zip(movable, chosen, strict=True):
        loads[p] += items[i].size
    planned = _cumulate(loads)
    gaps = [c - d for c, d in zip(planned, demand_curve, strict=True)]
    largest = max((abs(g) for g in gaps), default=Fraction(0))
    worst = max(range(n_periods), key=lambda q: abs(gaps[q])) if largest else None
    return Balance(
        periods=result,
        loads=loads,
        demand_curve=demand_curve,
        planned_curve=planned,
        gaps=gaps,
        largest_gap=largest,
        lower_bound=lower,
        largest_movable=max(sizes, default=0),
        worst_period=worst,
    )


def _largest_gap(periods, sizes, fixed_loads, demand_curve) -> Fraction:
    loads = list(fixed_loads)
    for i, p in enumerate(periods):
        loads[p] += sizes[i]
    return max((abs(c - d) for c, d in zip(_cumulate(loads), demand_curve, strict=True)), default=Fraction(0))

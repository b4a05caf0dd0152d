"""A unit quota's figures: credit, pools, on time, blood units, status (rules 1–7 of the package).

Input is what the database fetched and summed — each quota's terms (`QuotaTerms`) and, for each
quota, the counted donations of each unit that may count toward it (`DonorSums`: the quota's
member units and their subordinate units, with whether that unit holds a quota of its own in the
same plan). Output is one `QuotaFigures` per quota. Nothing here reads the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from core.apportion import largest_remainder

DONE, ON_TRACK, BEHIND, OVERDUE, NOT_STARTED = "done", "on_track", "behind", "overdue", "not_started"
# Jurisdiction lines only: no plan at all, or plans whose counted targets add up to nothing.
NO_PLAN, NO_TASK = "no_plan", "no_task"
QUOTA_STATUSES = (OVERDUE, BEHIND, ON_TRACK, NOT_STARTED, DONE)  # the order the pages list them in

# On track while the completed keeps up with 80 % of a straight line from the period's start to
# its due date. A fraction, so that the status and the day it changes are computed exactly.
PACE = Fraction(4, 5)
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class QuotaTerms:
    """A quota as its plan sets it: who (member units, or a sub-jurisdiction), how many, by when."""

    id: int
    plan_id: int
    year: int
    target: int
    start: dt.date | None = None
    end: dt.date | None = None
    advisory: bool = False
    members: frozenset[int] = frozenset()
    sub_jurisdiction: int | None = None

    @property
    def due(self) -> dt.date:
        """Its period's end, or the end of the plan year when no period is set."""
        return self.end or dt.date(self.year, 12, 31)

    @property
    def counted(self) -> bool:
        """A unit quota that is summed: not advisory, not an allocation to a sub-jurisdiction."""
        return not self.advisory and self.sub_jurisdiction is None

    @property
    def group(self) -> bool:
        return len(self.members) > 1


@dataclass(frozen=True)
class DonorSums:
    """One unit's counted donations in the plan year that may count toward one quota."""

    quota_id: int
    unit_id: int
    parent_id: int | None
    has_own_quota: bool  # the unit is a member of some quota of the same plan
    persons: int
    blood_units: Decimal
    by_due: int  # persons who donated on or before the quota's due date


def credits(terms: QuotaTerms, sums: DonorSums) -> bool:
    """Rule 2: a unit's donations count for its own quotas, and for its parent's when it has
    none of its own in the plan."""
    if sums.unit_id in terms.members:
        return True
    return sums.parent_id in terms.members and not sums.has_own_quota


@dataclass(frozen=True)
class QuotaFigures:
    """What every page shows of one quota."""

    id: int
    plan_id: int
    target: int
    completed: int
    on_time: int
    blood_units: Decimal
    start: dt.date | None
    due: dt.date
    advisory: bool
    group: bool
    sub_jurisdiction: int | None
    status: str  # "" for an allocation to a sub-jurisdiction

    @property
    def counted(self) -> bool:
        return not self.advisory and self.sub_jurisdiction is None

    @property
    def shortfall(self) -> int:
        """差额: what is still missing (never negative)."""
        return max(self.target - self.completed, 0)

    remaining = shortfall

    @property
    def rate(self) -> float:
        """完成率, to four places; a quota of 0 is complete."""
        return round(self.completed / self.target, 4) if self.target else 1.0


def quota_status(
    *, target: int, completed: int, start: dt.date | None, end: dt.date | None, year: int, today: dt.date
) -> str:
    """Rule 7: done / overdue (due date passed, task not met) / not started / on track or behind."""
    if completed >= target:
        return DONE
    start = start or dt.date(year, 1, 1)
    end = end or dt.date(year, 12, 31)
    if today > end:
        return OVERDUE
    if today < start:
        return NOT_STARTED
    elapsed, span = (today - start).days + 1, (end - start).days + 1
    # completed / target >= PACE * elapsed / span, in integers
    return ON_TRACK if completed * span * PACE.denominator >= PACE.numerator * target * elapsed else BEHIND


def next_status_change(
    *, target: int, completed: int, start: dt.date | None, due: dt.date, today: dt.date
) -> dt.date | None:
    """The first day after `today` on which `quota_status` may differ with the same donations,
    or None when it cannot change without them (done, or already overdue).

    Not started → its start; on track → the first day its pace asks for more than it has;
    on track or behind → overdue the day after its due date.
    """
    if completed >= target or today > due:
        return None
    start = start or dt.date(due.year, 1, 1)
    if today < start:
        return start
    after_due = due + dt.timedelta(days=1)
    span = (due - start).days + 1
    # On track on day k (k = 1 at the start) while completed * span * den >= num * target * k.
    last_on_track = completed * span * PACE.denominator // (PACE.numerator * target)
    if last_on_track < (today - start).days + 1:  # behind today: only overdue is left
        return after_due
    return min(start + dt.timedelta(days=last_on_track), after_due)


def split_by_weight(total: Decimal, weights: list[int]) -> list[Decimal]:
    """Rule 6: `total` (to 0.1) in proportion to `weights`, in tenths by largest remainders
    (`core.apportion`), so the parts add up to `total` exactly."""
    if not weights:
        return []
    tenths = int((total / TENTH).to_integral_value(ROUND_FLOOR))
    result = [Decimal(p) * TENTH for p in largest_remainder(weights, tenths)]
    result[-1] += total - tenths * TENTH  # anything finer than 0.1 (never, for real amounts)
    return result


def _pool_key(terms: QuotaTerms):
    # Quotas with no member unit (a name not matched to any unit) share nothing.
    return (terms.plan_id, terms.members) if terms.members else ("alone", terms.id)


def count_quotas(
    quotas: Iterable[QuotaTerms], donor_sums: Iterable[DonorSums], *, today: dt.date
) -> dict[int, QuotaFigures]:
    """Every quota's figures on `today`, by quota id (rules 2–7).

    `donor_sums` must hold, for each quota passed, the rows of every unit that may count toward
    it (its members and their subordinate units); a quota's figures then depend only on the
    quotas of its own pool, never on which other quotas were passed.
    """
    rows: dict[int, list[DonorSums]] = defaultdict(list)
    for sums in donor_sums:
        rows[sums.quota_id].append(sums)
    pools: dict[object, list[QuotaTerms]] = defaultdict(list)
    result: dict[int, QuotaFigures] = {}
    for terms in quotas:
        if terms.sub_jurisdiction is not None:
            result[terms.id] = _figures(terms, completed=0, on_time=0, blood_units=Decimal(0), today=today)
        else:
            pools[_pool_key(terms)].append(terms)
    for pool in pools.values():
        result.update(_count_pool(pool, rows, today=today))
    return result


def _count_pool(pool: list[QuotaTerms], rows: dict[int, list[DonorSums]], *, today: dt.date) -> dict:
    credited = {terms.id: [s for s in rows[terms.id] if credits(terms, s)] for terms in pool}
    by_due = {pk: sum(s.by_due for s in sums) for pk, sums in credited.items()}
    first = min(pool, key=lambda t: t.id)  # every quota of a pool has the same donors
    persons = sum(s.persons for s in credited[first.id])
    blood_units = sum((s.blood_units for s in credited[first.id]), Decimal(0))

    counted = sorted((t for t in pool if not t.advisory), key=lambda t: (t.due, t.id))
    completed: dict[int, int] = {}
    on_time: dict[int, int] = {}
    available, before = persons, 0
    for terms in counted:  # rules 3 and 4
        completed[terms.id] = min(available, terms.target)
        available -= completed[terms.id]
        on_time[terms.id] = min(max(by_due[terms.id] - before, 0), terms.target)
        before += terms.target
    if counted:
        completed[counted[-1].id] += available
    shares = dict(
        zip((t.id for t in counted), split_by_weight(blood_units, [completed[t.id] for t in counted]), strict=True)
    )
    figures = {
        terms.id: _figures(
            terms, completed=completed[terms.id], on_time=on_time[terms.id], blood_units=shares[terms.id], today=today
        )
        for terms in counted
    }
    for terms in pool:  # rule 5: advisory quotas show the pool's donations and take none
        if terms.advisory:
            figures[terms.id] = _figures(
                terms,
                completed=persons,
                on_time=min(by_due[terms.id], terms.target),
                blood_units=blood_units,
                today=today,
            )
    return figures


def _figures(terms: QuotaTerms, *, completed: int, on_time: int, blood_units: Decimal, today: dt.date) -> QuotaFigures:
    status = (
        ""
        if terms.sub_jurisdiction is not None
        else quota_status(
            target=terms.target, completed=completed, start=terms.start, end=terms.due, year=terms.year, today=today
        )
    )
    return QuotaFigures(
        id=terms.id,
        plan_id=terms.plan_id,
        target=terms.target,
        completed=completed,
        on_time=on_time,
        blood_units=blood_units,
        start=terms.start,
        due=terms.due,
        advisory=terms.advisory,
        group=terms.group,
        sub_jurisdiction=terms.sub_jurisdiction,
        status=status,
    )


def quota_totals(rows: Iterable[QuotaFigures]) -> dict:
    """A table of quotas' 合计: sums over its counted quotas (advisory ones and allocations left
    out). Its 差额 is the sum of each quota's shortfall: a quota done beyond its target makes up
    for no other, so it can exceed the plan's task minus completed."""
    counted = [r for r in rows if r.counted]
    target, completed = sum(r.target for r in counted), sum(r.completed for r in counted)
    return {
        "target": target,
        "completed": completed,
        "rate": round(completed / target, 4) if target else None,
        "shortfall": sum(r.shortfall for r in counted),
        "on_time": sum(r.on_time for r in counted),
        "blood_units": float(sum((r.blood_units for r in counted), Decimal(0))),
    }

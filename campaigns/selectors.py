"""Reads for progress: how many donations each quota has, per the counting rules of DOMAIN.md.

- A donation counts for its unit's quotas in the plan year, and for the quotas of its unit's
  parent (下属单位 count toward the 主管部门), whatever the period (early donations count).
- A group quota is met jointly: its completed number is the sum over its member units.
- A unit with several quotas in a year (仪化公司 150 in June, 150 in July) fills them in order
  of due date.
- Advisory quotas are shown with their progress but never summed.
- Rejected donations never count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Func, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from quotas.models import AnnualPlan, Quota

from .models import Donation

DONE, ON_TRACK, BEHIND, OVERDUE, NOT_STARTED = "done", "on_track", "behind", "overdue", "not_started"
STATUS_LABELS = {
    DONE: "已完成",
    ON_TRACK: "进度正常",
    BEHIND: "进度落后",
    OVERDUE: "已逾期",
    NOT_STARTED: "未开始",
}


@dataclass
class QuotaProgress:
    quota: Quota
    completed: int
    status: str

    @property
    def remaining(self) -> int:
        return max(self.quota.target - self.completed, 0)

    @property
    def rate(self) -> float:
        return self.completed / self.quota.target if self.quota.target else 1.0

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def quota_status(
    *, target: int, completed: int, start: dt.date | None, end: dt.date | None, year: int, today: dt.date
) -> str:
    """done / overdue (period ended, task not met) / not started / behind or on track by pace."""
    if completed >= target:
        return DONE
    start = start or dt.date(year, 1, 1)
    end = end or dt.date(year, 12, 31)
    if today > end:
        return OVERDUE
    if today < start:
        return NOT_STARTED
    elapsed = ((today - start).days + 1) / ((end - start).days + 1)
    return ON_TRACK if completed >= target * elapsed * 0.8 else BEHIND


def credited_counts(unit_ids: set[int], year: int) -> tuple[dict[int, int], dict[int, Decimal]]:
    """Donations (persons and blood units) credited to each unit in a year, one query.

    A donation by a subordinate unit not itself in `unit_ids` is credited to its parent.
    """
    persons: dict[int, int] = defaultdict(int)
    units: dict[int, Decimal] = defaultdict(Decimal)
    if not unit_ids:
        return persons, units
    rows = (
        Donation.objects.counted()
        .in_year(year)
        .filter(Q(unit_id__in=unit_ids) | Q(unit__parent_id__in=unit_ids))
        .values("unit_id", "unit__parent_id")
        .annotate(n=Count("id"), u=Sum("blood_units"))
        .order_by()
    )
    for row in rows:
        target = row["unit_id"] if row["unit_id"] in unit_ids else row["unit__parent_id"]
        persons[target] += row["n"]
        units[target] += row["u"] or 0
    return persons, units


def quota_progress(quotas: list[Quota], *, today: dt.date | None = None) -> list[QuotaProgress]:
    """Progress of each quota (units prefetched), in the given order. Two queries at most."""
    today = today or timezone.localdate()
    by_year: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas:
        by_year[quota.year].append(quota)
    completed: dict[int, int] = {}
    for year, year_quotas in by_year.items():
        unit_ids = {u.pk for q in year_quotas for u in q.units.all()}
        persons, _ = credited_counts(unit_ids, year)
        # Quotas that share the same unit set draw on the same donations, earliest due first.
        pools: dict[frozenset[int], list[Quota]] = defaultdict(list)
        for quota in year_quotas:
            pools[frozenset(u.pk for u in quota.units.all())].append(quota)
        for members, pool in pools.items():
            available = sum(persons.get(pk, 0) for pk in members)
            for quota in sorted(pool, key=lambda q: (q.due_date, q.pk or 0)):
                take = min(available, quota.target)
                completed[id(quota)] = take
                available -= take
            if pool and available > 0:  # more than every quota asked: show it on the last one
                last = max(pool, key=lambda q: (q.due_date, q.pk or 0))
                completed[id(last)] += available
    return [
        QuotaProgress(
            quota=q,
            completed=completed.get(id(q), 0),
            status=quota_status(
                target=q.target,
                completed=completed.get(id(q), 0),
                start=q.period_start,
                end=q.period_end,
                year=q.year,
                today=today,
            ),
        )
        for q in quotas
    ]


@dataclass
class PlanTotals:
    plan: AnnualPlan
    target: int
    completed: int
    blood_units: Decimal

    @property
    def rate(self) -> float:
        return self.completed / self.target if self.target else 0.0

    @property
    def shortfall(self) -> int:
        return max(self.target - self.completed, 0)


def plan_totals(plans: list[AnnualPlan]) -> list[PlanTotals]:
    """Task and completed (persons, blood units) for each plan, in one query whatever the count.

    A donation counts once for a plan when its unit, or its unit's parent, holds a quota there.
    """
    if not plans:
        return []
    quota_units = Quota.units.through.objects.filter(quota__plan=OuterRef(OuterRef("pk"))).values("unit_id")
    credited = (
        Donation.objects.counted()
        .filter(donated_on__year=OuterRef("year"))
        .filter(Q(unit_id__in=quota_units) | Q(unit__parent_id__in=quota_units))
        .order_by()
    )
    # COUNT/SUM as plain functions: an aggregate over the whole subquery, with no GROUP BY.
    count = Func(F("id"), function="COUNT", output_field=IntegerField())
    units_sum = Func(F("blood_units"), function="SUM", output_field=DecimalField(max_digits=12, decimal_places=1))
    annotated = (
        AnnualPlan.objects.filter(pk__in=[p.pk for p in plans])
        .annotate(
            target_total=Coalesce(Sum("quotas__target", filter=Q(quotas__advisory=False)), 0),
            completed=Coalesce(Subquery(credited.annotate(n=count).values("n")[:1]), 0),
            units_total=Coalesce(
                Subquery(credited.annotate(u=units_sum).values("u")[:1]),
                Value(Decimal(0)),
                output_field=DecimalField(max_digits=12, decimal_places=1),
            ),
        )
        .values_list("pk", "target_total", "completed", "units_total")
    )
    figures = {pk: (t, c, u) for pk, t, c, u in annotated}
    return [PlanTotals(plan, *figures[plan.pk]) for plan in plans]

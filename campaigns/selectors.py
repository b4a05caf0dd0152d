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

from django.db.models import Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quotas.models import AnnualPlan, Quota
from units.models import Unit

from .models import DonationTally

DONE, ON_TRACK, BEHIND, OVERDUE, NOT_STARTED = "done", "on_track", "behind", "overdue", "not_started"
STATUS_LABELS = {
    DONE: _("已完成"),
    ON_TRACK: _("进度正常"),
    BEHIND: _("进度落后"),
    OVERDUE: _("已逾期"),
    NOT_STARTED: _("未开始"),
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


def _credit_map(unit_ids: set[int]) -> dict[int, int]:
    """Donating unit -> the unit credited: itself, or for a subordinate unit its parent."""
    credit = {pk: pk for pk in unit_ids}
    for pk, parent_id in Unit.objects.filter(parent_id__in=unit_ids).values_list("pk", "parent_id"):
        credit.setdefault(pk, parent_id)
    return credit


def _donations_by_unit(unit_ids, years) -> list[dict]:
    """Counted donations (persons and blood units) grouped by unit and year, from the tally."""
    return list(
        DonationTally.objects.filter(unit_id__in=unit_ids, day__year__in=years)
        .values("unit_id", year=ExtractYear("day"))
        .annotate(n=Sum("persons"), u=Sum("blood_units"))
        .order_by()
    )


def credited_counts(unit_ids: set[int], year: int) -> tuple[dict[int, int], dict[int, Decimal]]:
    """Donations (persons and blood units) credited to each unit in a year: two queries.

    A donation by a subordinate unit not itself in `unit_ids` is credited to its parent.
    """
    persons: dict[int, int] = defaultdict(int)
    units: dict[int, Decimal] = defaultdict(Decimal)
    if not unit_ids:
        return persons, units
    credit = _credit_map(unit_ids)
    for row in _donations_by_unit(credit, [year]):
        persons[credit[row["unit_id"]]] += row["n"]
        units[credit[row["unit_id"]]] += row["u"] or 0
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
    """Task and completed (persons, blood units) for each plan: four queries whatever the count.

    A donation counts once for a plan when its unit, or its unit's parent, holds a quota there.
    """
    if not plans:
        return []
    targets = dict(
        Quota.objects.filter(plan__in=plans, advisory=False)
        .values("plan_id")
        .annotate(t=Sum("target"))
        .values_list("plan_id", "t")
    )
    plan_units: dict[int, set[int]] = defaultdict(set)
    for plan_id, unit_id in Quota.units.through.objects.filter(quota__plan__in=plans).values_list(
        "quota__plan_id", "unit_id"
    ):
        plan_units[plan_id].add(unit_id)
    credit = _credit_map({pk for units in plan_units.values() for pk in units})
    by_unit_year = {
        (row["unit_id"], row["year"]): (row["n"], row["u"] or Decimal(0))
        for row in _donations_by_unit(credit, {p.year for p in plans})
    }
    result = []
    for plan in plans:
        members = plan_units[plan.pk]
        donors = [pk for pk, credited in credit.items() if credited in members or pk in members]
        figures = [by_unit_year.get((pk, plan.year), (0, Decimal(0))) for pk in donors]
        result.append(
            PlanTotals(
                plan,
                targets.get(plan.pk) or 0,
                sum(n for n, _ in figures),
                sum((u for _, u in figures), Decimal(0)),
            )
        )
    return result


def drives_with_figures(drives):
    """Drives annotated with `expected` (targets of the invited units' quotas whose period meets
    the drive's dates; advisory ones left out) and `logged` (donations recorded for the drive)."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from .models import DonationDrive

    # Three levels out: drive_units (here) -> quota_units -> quota -> the drive. Two levels
    # silently compared the drive with the quota's id, which held only while the ids matched.
    invited = DonationDrive.units.through.objects.filter(donationdrive_id=OuterRef(OuterRef(OuterRef("pk")))).values(
        "unit_id"
    )
    due = (
        Quota.objects.filter(
            advisory=False,
            plan_id=OuterRef("plan_id"),
            period_start__lte=OuterRef("end_date"),
            period_end__gte=OuterRef("start_date"),
            pk__in=Quota.units.through.objects.filter(unit_id__in=invited).values("quota_id"),
        )
        .order_by()
        .values("plan_id")
        .annotate(total=Sum("target"))
        .values("total")
    )
    return drives.annotate(
        expected=Coalesce(Subquery(due, output_field=IntegerField()), 0),
        logged=Count("donations", distinct=True),
    )

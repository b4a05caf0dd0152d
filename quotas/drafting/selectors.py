"""Reads for drafting: whose drafts a user works on, last year's figures, what the level above allocated."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet, Sum

from units.models import Jurisdiction
from units.scope import Scope, scope_for

from ..models import AnnualPlan, PlanDraft, Quota
from ..selectors import allocated_from_above

SUB_JURISDICTION = "jurisdiction"  # the rule category of lines that allocate to a sub-jurisdiction


# -- Scope ----------------------------------------------------------------------------------


def drafting_scope(user) -> Scope:
    """Whose drafts a user may see and change: the portal's one scope (`units.scope.scope_for`).

    Superusers: every jurisdiction. Anyone else: the subtree of their staff profile's
    jurisdiction, or nothing without one. Only blood-office staff reach the drafting pages at
    all (the views check the drafts' permissions first).
    """
    return scope_for(user)


def drafts_for(scope: Scope) -> QuerySet:
    return scope.limit(PlanDraft.objects.select_related("jurisdiction", "plan"))


def jurisdictions_for(scope: Scope) -> QuerySet:
    return scope.limit(Jurisdiction.objects.all(), path="path")


# -- Last year's figures ----------------------------------------------------------------------


@dataclass
class LastYear:
    """Last year's quotas of one unit set (or one sub-jurisdiction), added up."""

    label: str
    unit_ids: tuple[int, ...]
    sub_jurisdiction_id: int | None
    task: int = 0
    completed: int | None = 0
    position: int = 0
    location: str = ""
    months: list[int] = field(default_factory=list)  # the single months its quotas were due in
    parts: list[int] = field(default_factory=list)  # its quotas' numbers, in due-date order


# Last year's completed figures are counted by the counting core in `campaigns`, a layer above
# this one: campaigns registers its reader in CampaignsConfig.ready() (tests/test_layers.py), as
# stations registers its donation marks with campaigns. The reader answers, for one plan, the
# completed of each unit quota by quota id and of each sub-jurisdiction by jurisdiction id.
CompletedReader = Callable[[AnnualPlan, dt.date], tuple[dict[int, int], dict[int, int]]]
_completed_reader: list[CompletedReader] = []


def register_completed_reader(reader: CompletedReader) -> None:
    """Called from the counting app's ready(); the last registration wins (one reader)."""
    _completed_reader[:] = [reader]


def last_year_figures(plan: AnnualPlan, *, today: dt.date) -> list[LastYear]:
    """Task and completed of each unit set and sub-jurisdiction in last year's plan.

    Counted donations are read through the registered reader (the project's counting core, as
    every page shows them); no counting is written here. Without a reader every completed is
    None ("上年无完成数"). Advisory quotas are left out, as from every total.
    """
    quotas = list(plan.quotas.filter(advisory=False).order_by("position", "pk"))
    members: dict[int, list[int]] = defaultdict(list)
    for quota_id, unit_id in Quota.units.through.objects.filter(quota__plan=plan).values_list("quota_id", "unit_id"):
        members[quota_id].append(unit_id)
    if _completed_reader:
        by_quota, by_child = _completed_reader[0](plan, today)
    else:
        by_quota, by_child = None, {}

    found: dict[tuple, LastYear] = {}
    by_due: dict[tuple, list[Quota]] = defaultdict(list)
    for quota in quotas:
        unit_ids = tuple(sorted(members[quota.pk]))
        key = ("j", quota.sub_jurisdiction_id) if quota.sub_jurisdiction_id else ("u", unit_ids)
        if not quota.sub_jurisdiction_id and not unit_ids:
            continue  # a row matched to nothing: nothing to draft for
        entry = found.get(key)
        if entry is None:
            entry = found[key] = LastYear(
                label=quota.label,
                unit_ids=unit_ids,
                sub_jurisdiction_id=quota.sub_jurisdiction_id,
                position=quota.position,
                completed=(0 if by_quota is not None else None)
                if not quota.sub_jurisdiction_id
                else by_child.get(quota.sub_jurisdiction_id),
            )
        entry.task += quota.target
        if not quota.sub_jurisdiction_id and by_quota is not None:
            entry.completed += by_quota[quota.pk]
        entry.location = entry.location or quota.location
        by_due[key].append(quota)
    for key, entry in found.items():
        ordered = sorted(by_due[key], key=lambda q: (q.due_date, q.pk))
        entry.parts = [q.target for q in ordered]
        entry.months = [
            q.period_start.month
            for q in ordered
            if q.period_start and q.period_start.month == q.period_end.month and q.period_start.day == 1
        ]
    return sorted(found.values(), key=lambda e: e.position)


# -- The level above ------------------------------------------------------------------------


@dataclass(frozen=True)
class FromAbove:
    """What the parent jurisdiction's published plan allocated to this one (上级下达)."""

    total: int
    plan: AnnualPlan


def allocation_from_above(jurisdiction: Jurisdiction, year: int) -> FromAbove | None:
    """The parent's published (or closed) plan's quotas to this jurisdiction, added up."""
    if not jurisdiction.parent_id:
        return None
    plan = (
        AnnualPlan.objects.filter(jurisdiction_id=jurisdiction.parent_id, year=year)
        .exclude(status=AnnualPlan.Status.DRAFT)
        .select_related("jurisdiction")
        .first()
    )
    if plan is None:
        return None
    total = allocated_from_above(jurisdiction_id=jurisdiction.pk, parent_id=jurisdiction.parent_id, year=year)
    return None if total is None else FromAbove(total=total, plan=plan)


def allocations_waiting(scope: Scope, *, limit: int = 50) -> list[tuple[Jurisdiction, int, FromAbove]]:
    """Allocations from above into the scope's jurisdictions that nobody has drafted yet: the
    parent's plan is published, the jurisdiction has neither a draft nor a published plan of its
    own for that year. Latest years first."""
    rows = list(
        scope.limit(Quota.objects.filter(sub_jurisdiction__isnull=False, advisory=False), "sub_jurisdiction__path")
        .exclude(plan__status=AnnualPlan.Status.DRAFT)
        .values("sub_jurisdiction_id", "year", "plan_id")
        .annotate(total=Sum("target"))
        .order_by("-year", "sub_jurisdiction_id")
    )
    keys = {(r["sub_jurisdiction_id"], r["year"]) for r in rows}
    done = set(
        PlanDraft.objects.filter(jurisdiction_id__in={k[0] for k in keys}).values_list("jurisdiction_id", "year")
    ) | set(
        AnnualPlan.objects.filter(jurisdiction_id__in={k[0] for k in keys})
        .exclude(status=AnnualPlan.Status.DRAFT)
        .values_list("jurisdiction_id", "year")
    )
    rows = [r for r in rows if (r["sub_jurisdiction_id"], r["year"]) not in done][:limit]
    jurisdictions = Jurisdiction.objects.in_bulk({r["sub_jurisdiction_id"] for r in rows})
    plans = AnnualPlan.objects.select_related("jurisdiction").in_bulk({r["plan_id"] for r in rows})
    return [
        (jurisdictions[r["sub_jurisdiction_id"]], r["year"], FromAbove(total=r["total"], plan=plans[r["plan_id"]]))
        for r in rows
    ]

"""Reads over plans and quotas for the admin's pages."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from .models import AnnualPlan, Quota


def plan_summary(*, plan_id: int) -> AnnualPlan | None:
    """A plan with its jurisdiction and its quotas' figures, in one query: how many quotas,
    the task total (advisory numbers left out), how many are advisory, allocated to
    sub-jurisdictions, or without a period."""
    return (
        AnnualPlan.objects.select_related("jurisdiction")
        .with_totals()
        .annotate(
            advisory_count=Count("quotas", filter=Q(quotas__advisory=True), distinct=True),
            allocated_count=Count("quotas", filter=Q(quotas__sub_jurisdiction__isnull=False), distinct=True),
            undated_count=Count("quotas", filter=Q(quotas__period_end__isnull=True), distinct=True),
        )
        .filter(pk=plan_id)
        .first()
    )


def allocated_from_above(*, jurisdiction_id: int, parent_id: int | None, year: int) -> int | None:
    """What the parent's published (or closed) plan of the year allocates to this jurisdiction
    (上级下达), advisory numbers left out, in one query; None when it allocates nothing."""
    if parent_id is None:
        return None
    return (
        Quota.objects.filter(
            plan__jurisdiction_id=parent_id, plan__year=year, sub_jurisdiction_id=jurisdiction_id, advisory=False
        )
        .exclude(plan__status=AnnualPlan.Status.DRAFT)
        .aggregate(total=Sum("target"))["total"]
    )

"""Reads over plans and quotas for the admin's pages."""

from __future__ import annotations

from django.db.models import Count, Q

from .models import AnnualPlan


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

"""Chainable queries over plans and quotas."""

from __future__ import annotations

from django.db import models
from django.db.models import Count, Q, Sum


class PlanQuerySet(models.QuerySet):
    def for_year(self, year: int) -> PlanQuerySet:
        return self.filter(year=year)

    def in_subtree(self, jurisdiction) -> PlanQuerySet:
        return self.filter(jurisdiction__path__startswith=jurisdiction.path)

    def with_totals(self) -> PlanQuerySet:
        """Each plan with its quota count and the sum of the targets that count (not advisory)."""
        return self.annotate(
            quota_count=Count("quotas", distinct=True),
            target_total=Sum("quotas__target", filter=Q(quotas__advisory=False)),
        )


class QuotaQuerySet(models.QuerySet):
    def for_plan(self, plan) -> QuotaQuerySet:
        return self.filter(plan=plan)

    def counted(self) -> QuotaQuerySet:
        """Quotas that count toward totals: advisory numbers never do."""
        return self.filter(advisory=False)

    def for_units(self, units) -> QuotaQuerySet:
        return self.filter(units__in=units).distinct()

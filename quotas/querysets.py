"""Chainable queries over plans."""

from __future__ import annotations

from django.db import models
from django.db.models import Count, Q, Sum


class PlanQuerySet(models.QuerySet):
    def with_totals(self) -> PlanQuerySet:
        """Each plan with its quota count and the sum of the targets that count (not advisory)."""
        return self.annotate(
            quota_count=Count("quotas", distinct=True),
            target_total=Sum("quotas__target", filter=Q(quotas__advisory=False)),
        )

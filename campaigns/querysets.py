"""Chainable queries over donations."""

from __future__ import annotations

from django.db import models


class DonationQuerySet(models.QuerySet):
    def counted(self) -> DonationQuerySet:
        """Donations that count toward quotas: every one not rejected by staff."""
        return self.exclude(status="rejected")

    def for_user(self, user) -> DonationQuerySet:
        """What a liaison may see: only their own units' donations."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(unit__liaisons__user=user)

"""Chainable queries over jurisdictions and units."""

from __future__ import annotations

from django.db import models


class JurisdictionQuerySet(models.QuerySet):
    def subtree(self, root) -> JurisdictionQuerySet:
        """The root and every jurisdiction below it: one indexed prefix match on the path."""
        return self.filter(path__startswith=root.path)

    def roots(self) -> JurisdictionQuerySet:
        return self.filter(parent__isnull=True)


class UnitQuerySet(models.QuerySet):
    def active(self) -> UnitQuerySet:
        return self.filter(active=True)

    def in_subtree(self, jurisdiction) -> UnitQuerySet:
        """Units of a jurisdiction and of every jurisdiction below it."""
        return self.filter(jurisdiction__path__startswith=jurisdiction.path)

    def for_user(self, user) -> UnitQuerySet:
        """The units a liaison answers for; none for anyone else."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(liaisons__user=user)

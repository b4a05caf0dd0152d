"""The portal's three roles, as Django groups created by a data migration (campaigns 0002)."""

from __future__ import annotations

import functools

from django.utils.translation import gettext_lazy as _

BLOOD_OFFICE = "献血办"
LEADERSHIP = "领导"
LIAISON = "联络员"

ROLE_LABELS = {BLOOD_OFFICE: _("献血办工作人员"), LEADERSHIP: _("领导"), LIAISON: _("联络员")}
# A user in several of the groups has the first of them.
ROLES_BY_RANK = (BLOOD_OFFICE, LEADERSHIP, LIAISON)


def role_of(user) -> str | None:
    """The user's role: superusers count as blood-office staff."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return BLOOD_OFFICE
    if not hasattr(user, "_portal_role"):  # asked by the view and the template: one query
        # (config.backends.PortalBackend reads it with the signed-in user: no query at all)
        names = _group_names(user)
        user._portal_role = next((r for r in ROLES_BY_RANK if r in names), None)
    return user._portal_role


def _group_names(user) -> set[str]:
    """The user's group names, in plain SQL: every request asks, and the ORM's query building
    took longer than the query (measured for the liaisons' load benchmark)."""
    from django.contrib.auth.models import Group
    from django.db import connection

    members = user.groups.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.name FROM {Group._meta.db_table} g JOIN {members} m ON m.group_id = g.id "  # noqa: S608
            "WHERE m.user_id = %s",
            [user.pk],
        )
        return {name for (name,) in cursor.fetchall()}


def liaison_units(user) -> list:
    """The units a liaison answers for, by name, in one plain-SQL read (none for anyone else).

    The same rows as `Unit.objects.for_user(user)`; logging a donor asks on every request, and
    the ORM's query building cost more than the query.
    """
    from .models import Unit

    if not user.is_authenticated:
        return []
    return list(Unit.objects.raw(_liaison_units_sql(), [user.pk]))


@functools.cache
def _liaison_units_sql() -> str:
    from .models import Liaison, Unit

    return (
        f"SELECT u.* FROM {Unit._meta.db_table} u "  # noqa: S608 - names from the models
        f"JOIN {Liaison.units.through._meta.db_table} m ON m.unit_id = u.id "
        f"JOIN {Liaison._meta.db_table} l ON l.id = m.liaison_id "
        "WHERE l.user_id = %s ORDER BY u.name, u.id"
    )

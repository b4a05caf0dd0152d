"""The portal's roles: one registry of what each is called, where it lands and what it may do.

A role is a Django group (created by data migrations: campaigns 0002 and the permission
migrations after it) bundling permissions; pages check the permissions (`PAGE_PERMISSIONS`),
never the group's name. The group name picks the landing page and the label only. Adding a
role is one entry in `ROLES` plus a data migration creating its group with its permissions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

BLOOD_OFFICE = "献血办"
LEADERSHIP = "领导"
LIAISON = "联络员"

# The permissions the portal's own pages check (the admin checks Django's model permissions).
LOG_DONATION = "campaigns.log_donation"  # the liaison pages: log, edit, withdraw, rosters
VIEW_DASHBOARD = "campaigns.view_dashboard"  # the completion dashboard, its export, bulletins
FREEZE_BULLETIN = "campaigns.add_bulletin"  # freeze the dashboard as a bulletin
RECONCILE_STATION = "stations.reconcile_station"  # import the blood station's records, reconcile


@dataclass(frozen=True)
class Role:
    group: str  # the Django group's name, as stored
    label: str
    home: str  # URL name of the page the role lands on
    permissions: tuple[str, ...]  # what the group holds besides model permissions (documentation and tests)


ROLES = (
    Role(
        BLOOD_OFFICE,
        _("献血办工作人员"),
        "admin:quotas_annualplan_changelist",
        (VIEW_DASHBOARD, FREEZE_BULLETIN, RECONCILE_STATION),
    ),
    Role(LEADERSHIP, _("领导"), "campaigns:dashboard", (VIEW_DASHBOARD,)),
    Role(LIAISON, _("联络员"), "campaigns:liaison_home", (LOG_DONATION,)),
)
ROLE_BY_GROUP = {role.group: role for role in ROLES}
ROLE_LABELS = {role.group: role.label for role in ROLES}
# A user in several of the groups has the first of them.
ROLES_BY_RANK = tuple(role.group for role in ROLES)


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


def home_of(user) -> str | None:
    """The URL name of the user's landing page, None without a role."""
    role = ROLE_BY_GROUP.get(role_of(user))
    return role.home if role else None


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
    the ORM's query building cost more than the query; on PostgreSQL it is a prepared statement
    (`core.prepared`), planned once per connection.
    """
    from core.prepared import prepared

    from .models import Unit

    if not user.is_authenticated:
        return []
    return list(Unit.objects.raw(prepared("portal_liaison_units", _liaison_units_sql(), 1), [user.pk]))


@functools.cache
def _liaison_units_sql() -> str:
    from .models import Liaison, Unit

    columns = ", ".join(f"u.{field.column}" for field in Unit._meta.concrete_fields)
    return (
        f"SELECT {columns} FROM {Unit._meta.db_table} u "  # noqa: S608 - names from the models
        f"JOIN {Liaison.units.through._meta.db_table} m ON m.unit_id = u.id "
        f"JOIN {Liaison._meta.db_table} l ON l.id = m.liaison_id "
        "WHERE l.user_id = %s ORDER BY u.name, u.id"
    )

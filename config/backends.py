"""Authentication backend reading the signed-in user and their role in one plain SQL query.

Every signed-in request loads its user (`AuthenticationMiddleware`) and then asks for the
user's role (`units.roles.role_of`). Django's `ModelBackend.get_user` reads the user through
the ORM, whose query building cost more than PostgreSQL's answer for the liaisons' busiest
request (bench_log_cost), and the role took a second query. This backend reads both with one
raw query: the user's row as Django's would (`RawQuerySet` applies the same column converters)
plus the highest of the portal's roles among the user's groups. Signing in, permissions and
everything else stay `ModelBackend`'s.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group

from units.roles import ROLES_BY_RANK


@functools.cache
def _user_with_role_sql() -> str:
    """Built once per process: every signed-in request runs it."""
    model = get_user_model()
    members = model.groups.through._meta.db_table
    ranked = " ".join(f"WHEN %s THEN {rank}" for rank in range(len(ROLES_BY_RANK)))
    placeholders = ", ".join(["%s"] * len(ROLES_BY_RANK))
    return (
        f"SELECT u.*, (SELECT g.name FROM {Group._meta.db_table} g JOIN {members} m ON m.group_id = g.id"  # noqa: S608 - table names
        f" WHERE m.user_id = u.id AND g.name IN ({placeholders}) ORDER BY CASE g.name {ranked} END LIMIT 1)"
        f" AS portal_role FROM {model._meta.db_table} u WHERE u.{model._meta.pk.column} = %s"
    )


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001 - a malformed id in a session is no user, as in ModelBackend
            return None
        found = list(model.objects.raw(_user_with_role_sql(), [*ROLES_BY_RANK, *ROLES_BY_RANK, pk]))
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user = found[0]
        user._portal_role = user.__dict__.pop("portal_role")  # what units.roles.role_of caches
        return user

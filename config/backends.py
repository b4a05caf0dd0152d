"""Authentication backend reading the signed-in user, their role and permissions in one query.

Every signed-in request loads its user (`AuthenticationMiddleware`), then the page checks a
permission (`units.roles`) and the navigation asks for more. Django's `ModelBackend` reads the
user through the ORM, whose query building cost more than PostgreSQL's answer for the liaisons'
busiest request (bench_log_cost), and the permissions take two more queries. This backend reads
all of it with one raw query: the user's row as Django's would (`RawQuerySet` applies the same
column converters), the highest of the portal's roles among the user's groups, and the user's
permissions (their own and their groups'), which it puts where `ModelBackend` caches them, so
`has_perm` asks nothing more. Signing in and everything else stay `ModelBackend`'s. On
PostgreSQL the query is a prepared statement (`core.prepared`): planning it took 0.6 ms of the
database's CPU on every request.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from core.prepared import prepared
from units.roles import ROLES_BY_RANK


@functools.cache
def _user_with_role_sql(vendor: str) -> str:
    """Built once per process: every signed-in request runs it."""
    model = get_user_model()
    members = model.groups.through._meta.db_table
    ranked = " ".join(f"WHEN %s THEN {rank}" for rank in range(len(ROLES_BY_RANK)))
    placeholders = ", ".join(["%s"] * len(ROLES_BY_RANK))
    group_perms = Group.permissions.through._meta.db_table
    user_perms = model.user_permissions.through._meta.db_table
    joined = "ct.app_label || '.' || p.codename"
    aggregate = f"string_agg({joined}, ',')" if vendor == "postgresql" else f"group_concat({joined}, ',')"
    columns = ", ".join(f"u.{field.column}" for field in model._meta.concrete_fields)
    return (
        f"SELECT {columns}, (SELECT g.name FROM {Group._meta.db_table} g JOIN {members} m ON m.group_id = g.id"  # noqa: S608 - table names
        f" WHERE m.user_id = u.id AND g.name IN ({placeholders}) ORDER BY CASE g.name {ranked} END LIMIT 1)"
        f" AS portal_role, (SELECT {aggregate} FROM {Permission._meta.db_table} p"
        f" JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id WHERE p.id IN ("
        f"SELECT gp.permission_id FROM {group_perms} gp JOIN {members} m ON m.group_id = gp.group_id"
        f" WHERE m.user_id = u.id UNION SELECT up.permission_id FROM {user_perms} up WHERE up.user_id = u.id))"
        f" AS portal_permissions FROM {model._meta.db_table} u WHERE u.{model._meta.pk.column} = %s"
    )


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001 - a malformed id in a session is no user, as in ModelBackend
            return None
        params = [*ROLES_BY_RANK, *ROLES_BY_RANK, pk]
        sql = prepared("portal_user", _user_with_role_sql(connection.vendor), len(params))
        found = list(model.objects.raw(sql, params))
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user = found[0]
        user._portal_role = user.__dict__.pop("portal_role")  # what units.roles.role_of caches
        permissions = user.__dict__.pop("portal_permissions")
        # Where ModelBackend.get_all_permissions keeps what it read (active users only: an
        # inactive one never gets here).
        user._perm_cache = set(permissions.split(",")) if permissions else set()
        return user

"""The dashboard page's own lookups, in SQL (its figures are `campaigns.dashboard.figures`').

Raw queries (RawQuerySet, so Django's converters still apply): compiled by the ORM they cost
0.5-0.9 ms each, more than running them (docs/performance.md, "The page's own lookups in SQL").
Table names come from the models. One caller: `campaigns.dashboard.views`.
"""

from __future__ import annotations

import functools

from units.models import Jurisdiction

from ..models import Bulletin


@functools.cache
def _with_ancestors_sql() -> str:
    table = Jurisdiction._meta.db_table
    return f"""
        WITH RECURSIVE up (id, depth) AS (
            SELECT id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT j.parent_id, up.depth + 1 FROM {table} j JOIN up ON j.id = up.id WHERE j.parent_id IS NOT NULL
        )
        SELECT j.* FROM up JOIN {table} j ON j.id = up.id ORDER BY up.depth
    """  # noqa: S608 - table names from the models


def lineage(pk: int) -> list[Jurisdiction]:
    """A jurisdiction and its ancestors, nearest first (at most four levels): one query."""
    return list(Jurisdiction.objects.raw(_with_ancestors_sql(), [pk]))


def latest_bulletins(jurisdiction: Jurisdiction | None, year: int) -> list[Bulletin]:
    """The ten latest bulletins of this jurisdiction (None: everything) and year."""
    where, params = ("IS NULL", [year]) if jurisdiction is None else ("= %s", [jurisdiction.pk, year])
    sql = (
        f"SELECT * FROM {Bulletin._meta.db_table} WHERE jurisdiction_id {where} AND year = %s"  # noqa: S608
        " ORDER BY created_at DESC, id DESC LIMIT 10"  # Bulletin.Meta.ordering
    )
    return list(Bulletin.objects.raw(sql, params))

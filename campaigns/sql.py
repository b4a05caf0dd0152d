"""Small helpers for the raw queries on the dashboard's path, on PostgreSQL and SQLite alike.

The dashboard's lookups are fixed-shape queries run on every view; compiled by the ORM each cost
0.4-1.5 ms of Python on this project's machines, more than PostgreSQL takes to run it (measured
in docs/performance.md, "The page's own lookups in SQL"). Written out, they cost the round trip.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection


def fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def any_of(column: str, values) -> tuple[str, list]:
    """`column` is one of `values`: one array parameter on PostgreSQL (a list of thousands of
    literals plans much slower), a list of placeholders on SQLite."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def as_date(value) -> dt.date:
    """A date column as read raw: a date on PostgreSQL, ISO text on SQLite."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def as_datetime(value) -> dt.datetime:
    """A datetime column as read raw: aware on PostgreSQL, text in UTC on SQLite."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def as_json(value):
    """A JSON column as read raw: text on both (Django leaves PostgreSQL's jsonb undecoded)."""
    return json.loads(value) if isinstance(value, (str, bytes, bytearray)) else value


def any_of_named(column: str, name: str, values) -> tuple[str, dict]:
    """`any_of` for a statement with named parameters (`%(name)s`)."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%({name})s)", {name: values}
    if not values:
        return "1 = 0", {}
    params = {f"{name}{i}": value for i, value in enumerate(values)}
    return f"{column} IN ({', '.join(f'%({key})s' for key in params)})", params

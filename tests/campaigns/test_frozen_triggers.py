"""A database migrated from zero holds exactly the triggers the migrations' frozen SQL installs.

The tally and mark triggers live only in migrations (0006, 0010, 0011, 0013, 0017, 0020, 0022), as text
frozen there; nothing at run time rebuilds them. This reads the triggers the test database got
from `migrate` and compares them with the last text each migration installed, so a migration
that rebuilds a table (SQLite drops a table's triggers when it rebuilds it) and forgets to put
them back, or an edit of frozen text, fails here.
"""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _migration(name: str):
    return importlib.import_module(f"campaigns.migrations.{name}")


def _norm(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().rstrip(";")


def _expected(vendor: str) -> list[str]:
    """The statements in force after the last migration: 0013's marks and staff marks, the
    tally's (0006; on SQLite put back by 0017 and 0020 after their table rebuilds; on
    PostgreSQL its insert trigger replaced by 0022's statement trigger), and 0020's
    station-verified count."""
    marks = _migration("0013_staff_edits_mark_plans").SQL[vendor]
    if vendor == "sqlite":
        tally = _migration("0017_blood_units_derived").SQLITE_TALLY_TRIGGERS
    else:
        per_statement = [s for s in _migration("0022_tally_insert_per_statement").SQL["install"] if "DROP" not in s]
        kept = [s for s in _migration("0006_donation_tally_triggers").SQL[vendor]["install"] if "tally_ins" not in s]
        tally = [*kept, *per_statement]
    verified = _migration("0020_donation_source_station_verified").SQL[vendor]
    return [*tally, *marks["marks_install"], *marks["install"], *verified]


def test_sqlite_triggers_are_the_frozen_ones():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own check; PostgreSQL below")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        installed = {name: _norm(sql) for name, sql in cursor.fetchall()}
    expected = {re.search(r"CREATE TRIGGER (\w+)", sql).group(1): _norm(sql) for sql in _expected("sqlite")}
    assert sorted(installed) == sorted(expected)
    assert installed == expected


def test_postgresql_triggers_and_functions_are_the_frozen_ones():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own check; SQLite above")
    statements = _expected("postgresql")
    triggers = {re.search(r"CREATE TRIGGER (\w+)", s).group(1) for s in statements if "CREATE TRIGGER" in s}
    functions = {}
    for sql in statements:
        found = re.search(r"CREATE OR REPLACE FUNCTION (\w+)\(\).*?AS \$\$(.*)\$\$", sql, re.S)
        if found:
            functions[found.group(1)] = _norm(found.group(2))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        installed_triggers = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.prorettype = 'trigger'::regtype"
        )
        installed_functions = {name: _norm(src) for name, src in cursor.fetchall()}
    assert installed_triggers == triggers
    assert installed_functions == functions

# ruff: noqa: S608 -- SQL built only from the constant table names below, never from input.
"""The donation tally's triggers, and a recount from the donations.

The triggers are the only writers of `campaigns_donationtally`; they run inside the statement
that changes a donation, so the tally is exact at every commit. Both PostgreSQL and SQLite are
supported (the demo runs on SQLite); other databases have no triggers installed and
`recount_tallies` must be run after writes.
"""

from __future__ import annotations

from django.db import connection, transaction

DONATION = "campaigns_donation"
TALLY = "campaigns_donationtally"

# Which changes move a donation between tally rows, or in or out of the count.
_CHANGED = (
    "OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.donated_on IS DISTINCT FROM NEW.donated_on"
    " OR OLD.blood_units IS DISTINCT FROM NEW.blood_units"
    " OR (OLD.status = 'rejected') IS DISTINCT FROM (NEW.status = 'rejected')"
)

_UPSERT = (
    f"INSERT INTO {TALLY} (unit_id, day, persons, blood_units) VALUES (NEW.unit_id, NEW.donated_on, 1, NEW.blood_units)"
    f" ON CONFLICT (unit_id, day) DO UPDATE SET persons = {TALLY}.persons + 1,"
    f" blood_units = {TALLY}.blood_units + excluded.blood_units"
)
_SUBTRACT = (
    f"UPDATE {TALLY} SET persons = persons - 1, blood_units = blood_units - OLD.blood_units"
    " WHERE unit_id = OLD.unit_id AND day = OLD.donated_on"
)

POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION campaigns_donation_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'rejected' THEN
        {_SUBTRACT};
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'rejected' THEN
        {_UPSERT};
      END IF;
      RETURN NULL;
    END $$
    """,
    f"""CREATE TRIGGER campaigns_donation_tally_ins AFTER INSERT OR DELETE ON {DONATION}
        FOR EACH ROW EXECUTE FUNCTION campaigns_donation_tally()""",
    f"""CREATE TRIGGER campaigns_donation_tally_upd AFTER UPDATE ON {DONATION}
        FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION campaigns_donation_tally()""",
]
POSTGRESQL_REMOVE = [
    f"DROP TRIGGER IF EXISTS campaigns_donation_tally_ins ON {DONATION}",
    f"DROP TRIGGER IF EXISTS campaigns_donation_tally_upd ON {DONATION}",
    "DROP FUNCTION IF EXISTS campaigns_donation_tally()",
]

_SQLITE_CHANGED = _CHANGED.replace("IS DISTINCT FROM", "IS NOT")
SQLITE_INSTALL = [
    f"""CREATE TRIGGER campaigns_donation_tally_ins AFTER INSERT ON {DONATION}
        WHEN NEW.status <> 'rejected' BEGIN {_UPSERT}; END""",
    f"""CREATE TRIGGER campaigns_donation_tally_del AFTER DELETE ON {DONATION}
        WHEN OLD.status <> 'rejected' BEGIN {_SUBTRACT}; END""",
    f"""CREATE TRIGGER campaigns_donation_tally_upd AFTER UPDATE ON {DONATION}
        WHEN {_SQLITE_CHANGED} BEGIN
          {_SUBTRACT} AND OLD.status <> 'rejected';
          {
        _UPSERT.replace(
            "VALUES (NEW.unit_id, NEW.donated_on, 1, NEW.blood_units)",
            "SELECT NEW.unit_id, NEW.donated_on, 1, NEW.blood_units WHERE NEW.status <> 'rejected'",
        )
    };
        END""",
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS campaigns_donation_tally_{name}" for name in ("ins", "del", "upd")]

RECOUNT = [
    f"DELETE FROM {TALLY}",
    f"""INSERT INTO {TALLY} (unit_id, day, persons, blood_units)
        SELECT unit_id, donated_on, COUNT(*), SUM(blood_units) FROM {DONATION}
        WHERE status <> 'rejected' GROUP BY unit_id, donated_on""",
]

MISMATCHES = f"""
    SELECT COALESCE(d.unit_id, t.unit_id), COALESCE(d.day, t.day), COALESCE(d.persons, 0), COALESCE(t.persons, 0)
    FROM (SELECT unit_id, donated_on AS day, COUNT(*) AS persons FROM {DONATION}
          WHERE status <> 'rejected' GROUP BY unit_id, donated_on) d
    FULL OUTER JOIN (SELECT unit_id, day, persons FROM {TALLY} WHERE persons <> 0) t
      ON t.unit_id = d.unit_id AND t.day = d.day
    WHERE COALESCE(d.persons, 0) <> COALESCE(t.persons, 0)
"""


def statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL_INSTALL if install else POSTGRESQL_REMOVE
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    return []


def install_triggers(schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor, install=True):
        schema_editor.execute(sql)


def remove_triggers(schema_editor) -> None:
    for sql in statements(schema_editor.connection.vendor, install=False):
        schema_editor.execute(sql)


def switch_triggers(*, enabled: bool) -> None:
    """Switch the donation table's triggers on PostgreSQL, for a bulk load or a comparison; the
    tally misses what is written meanwhile, so `recount()` after switching them back on."""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # ALTER TABLE refuses while deferred FK checks are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"ALTER TABLE {DONATION} {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER")


@transaction.atomic
def recount() -> None:
    """Rebuild the tally from the donations (after a bulk load with triggers disabled)."""
    from . import progress

    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute(f"LOCK TABLE {DONATION} IN SHARE MODE")
            # Marking plans row by row is pointless here: every summary is invalidated below.
            cursor.execute("SET LOCAL campaigns.recounting = 'on'")
        for sql in RECOUNT:
            cursor.execute(sql)
        if postgresql:
            cursor.execute("SET LOCAL campaigns.recounting = 'off'")
    progress.invalidate_all()


def mismatches(limit: int = 20) -> list[tuple]:
    """(unit, day, counted donations, tally) wherever the two disagree."""
    sql = MISMATCHES
    if connection.vendor == "sqlite":  # SQLite has FULL OUTER JOIN only since 3.39
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 39):
            raise RuntimeError("SQLite 3.39 or later is needed for the check.")
    with connection.cursor() as cursor:
        cursor.execute(sql + f" LIMIT {int(limit)}")
        return cursor.fetchall()

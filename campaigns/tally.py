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

# The triggers themselves (insert, update, delete on the donations; PostgreSQL and SQLite) are
# installed by migration 0006 and put back by 0017 after SQLite's table rebuild, their SQL
# frozen there; tests/campaigns/test_frozen_triggers.py checks a migrated database holds them.

VERIFIED = "campaigns_verifiedtally"

RECOUNT = [
    f"DELETE FROM {TALLY}",  # noqa: S608
    f"""INSERT INTO {TALLY} (unit_id, day, persons, blood_units)
        SELECT unit_id, donated_on, COUNT(*), SUM(blood_units) FROM {DONATION}
        WHERE status <> 'rejected' GROUP BY unit_id, donated_on""",  # noqa: S608
    # The station-verified count (migration 0020), per jurisdiction and year; {year} per vendor.
    f"DELETE FROM {VERIFIED}",  # noqa: S608
    f"""INSERT INTO {VERIFIED} (jurisdiction_id, year, persons)
        SELECT u.jurisdiction_id, {{year}}, COUNT(*) FROM {DONATION} d JOIN units_unit u ON u.id = d.unit_id
        WHERE d.station_verified AND d.status <> 'rejected' GROUP BY u.jurisdiction_id, {{year}}""",  # noqa: S608
]
YEAR_OF = {
    "postgresql": "CAST(EXTRACT(YEAR FROM d.donated_on) AS integer)",
    "sqlite": "CAST(strftime('%Y', d.donated_on) AS integer)",
}

MISMATCHES = f"""
    SELECT COALESCE(d.unit_id, t.unit_id), COALESCE(d.day, t.day), COALESCE(d.persons, 0), COALESCE(t.persons, 0)
    FROM (SELECT unit_id, donated_on AS day, COUNT(*) AS persons FROM {DONATION}
          WHERE status <> 'rejected' GROUP BY unit_id, donated_on) d
    FULL OUTER JOIN (SELECT unit_id, day, persons FROM {TALLY} WHERE persons <> 0) t
      ON t.unit_id = d.unit_id AND t.day = d.day
    WHERE COALESCE(d.persons, 0) <> COALESCE(t.persons, 0)
"""  # noqa: S608


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
    from .dashboard import kept

    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute(f"LOCK TABLE {DONATION} IN SHARE MODE")
            # Marking plans row by row is pointless here: every summary is invalidated below.
            cursor.execute("SET LOCAL campaigns.recounting = 'on'")
        for sql in RECOUNT:
            cursor.execute(sql.replace("{year}", YEAR_OF.get(connection.vendor, YEAR_OF["postgresql"])))
        if postgresql:
            cursor.execute("SET LOCAL campaigns.recounting = 'off'")
    kept.invalidate_all()


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

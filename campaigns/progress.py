# ruff: noqa: S608 -- SQL built only from constant table names and generated placeholders.
"""Per-plan summaries of unit-quota progress and per-jurisdiction monthly sums, recomputed
only where something changed.

The national dashboard needs, for every published plan of the year, its on-time total, its
status counts and its worst quotas. Computing that for 95,000 quotas takes seconds, but
between two page views only the plans whose donations, settings or statuses changed need it
again. So each plan's summary is kept in `PlanProgress` and recomputed when:

- the date reached its `valid_until`: the first day on which one of its quotas may change
  status with the same donations (starts, falls behind its pace, passes its due date), or the
  next month (the "due this month" list) — `next_status_change`;
- anything else it reads changed: its quotas, their member units, the plan, or which unit is a
  unit's parent — triggers on those tables mark the plans they touch in `PlanProgressDirty`
  (on PostgreSQL once per statement, from its transition tables: a 60,000-quota import writes
  one mark per plan); a unit moved to another jurisdiction marks that jurisdiction's sums;
- a donation of one of its units changed — a trigger on the donation tally (itself kept by
  triggers on donations) inserts a row naming the plan into `PlanProgressDirty` in the same
  transaction that logs the donation. Every change adds its own row (no unique key): no row
  lock is taken, so liaisons of one plan never wait for each other;
- `ProgressVersion` was bumped: a recount of the tally, or a TRUNCATE — everything is stale.

A page view takes (deletes, with RETURNING) the marks of the plans it shows before computing.
A DELETE only sees rows of committed transactions, so a mark it takes belongs to a donation
its computation (which starts later) sees, and a donation still uncommitted leaves its mark for
the next view. (A unique mark skipped "on conflict" would not: the view could take the mark a
still-open transaction had relied on.) A summary is only replaced by one whose computation
started later, and marks are taken and summaries stored in one transaction.

A reader recomputes at most `DASHBOARD_RECOMPUTE_QUOTAS` quotas itself; beyond that it is shown
the last kept summaries with their time, and `manage.py refresh_figures` (run every minute, or
as a loop) brings everything up to date ahead of readers — after a busy hour of logging, an
import, a recount, and right after midnight on the first of a month.

Each jurisdiction's counted donations per month (headline, chart and drill-down lines) are
kept the same way in `JurisdictionProgress`, marked by a second trigger on the tally.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .counting.plans import FORMAT, summarise_plan
from .models import JurisdictionProgress, PlanProgress, ProgressVersion
from .sql import any_of, as_date, as_datetime, as_json, fetch

STORE_BATCH = 1000  # summaries per INSERT (SQLite allows 32,766 parameters)
DIRTY = "campaigns_planprogressdirty"
JURISDICTION_DIRTY = "campaigns_jurisdictionprogressdirty"
VERSION = "campaigns_progressversion"
TALLY = "campaigns_donationtally"
PLAN_PROGRESS = PlanProgress._meta.db_table
JURISDICTION_PROGRESS = JurisdictionProgress._meta.db_table
WATCHED = ["quotas_quota", "quotas_quota_units", "quotas_annualplan", "units_unit"]

# Plans whose quotas count the tally row's unit: its own, and its parent unit's (subordinate
# units count toward their parent's quota), in the tally day's year.
_MARK_SELECT = """
    SELECT DISTINCT q.plan_id FROM quotas_quota_units qu JOIN quotas_quota q ON q.id = qu.quota_id
    WHERE q.year = {year} AND qu.unit_id IN (NEW.unit_id, (SELECT parent_id FROM units_unit WHERE id = NEW.unit_id))
"""

POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION campaigns_tally_mark_plans() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('campaigns.recounting', true) = 'on' THEN  -- tally.recount invalidates all
        RETURN NULL;
      END IF;
      INSERT INTO {DIRTY} (plan_id) {_MARK_SELECT.format(year="EXTRACT(YEAR FROM NEW.day)::int")};
      RETURN NULL;
    END $$
    """,
    f"""CREATE TRIGGER campaigns_tally_mark_plans AFTER INSERT OR UPDATE ON {TALLY}
        FOR EACH ROW EXECUTE FUNCTION campaigns_tally_mark_plans()""",
]
# Migration 0010 also installed a trigger bumping the version on every change to the watched
# tables; migration 0013 replaced it with the staff-edit marks below. Removing stays here.
_BUMP_POSTGRESQL_REMOVE = [
    *(f"DROP TRIGGER IF EXISTS campaigns_progress_bump ON {table}" for table in WATCHED),
    "DROP FUNCTION IF EXISTS campaigns_progress_bump()",
]
_BUMP_SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS campaigns_progress_bump_{t}_{op}" for t in WATCHED for op in ("insert", "update", "delete")
]
POSTGRESQL_REMOVE = [
    f"DROP TRIGGER IF EXISTS campaigns_tally_mark_plans ON {TALLY}",
    "DROP FUNCTION IF EXISTS campaigns_tally_mark_plans()",
    *_BUMP_POSTGRESQL_REMOVE,
]
SQLITE_INSTALL = [
    f"""CREATE TRIGGER campaigns_tally_mark_plans_{op.lower()} AFTER {op} ON {TALLY} BEGIN
        INSERT INTO {DIRTY} (plan_id)
        {_MARK_SELECT.format(year="CAST(strftime('%Y', NEW.day) AS INTEGER)")};
    END"""
    for op in ("INSERT", "UPDATE")
]
SQLITE_REMOVE = [
    *(f"DROP TRIGGER IF EXISTS campaigns_tally_mark_plans_{op}" for op in ("insert", "update")),
    *_BUMP_SQLITE_REMOVE,
]


def _for_vendor(vendor: str, install: bool, postgresql: tuple[list, list], sqlite: tuple[list, list]) -> list[str]:
    """The (install, remove) statements for this database; none for others."""
    pair = {"postgresql": postgresql, "sqlite": sqlite}.get(vendor)
    return (pair[0] if install else pair[1]) if pair else []


def statements(vendor: str, *, install: bool) -> list[str]:
    """The tally's plan marks' triggers (migrations 0010, 0011); removing also drops 0010's bump."""
    return _for_vendor(vendor, install, (POSTGRESQL_INSTALL, POSTGRESQL_REMOVE), (SQLITE_INSTALL, SQLITE_REMOVE))


# The jurisdiction (and year) whose monthly sums the tally row belongs to. A trigger of its own,
# installed by migration 0011 beside the plan marks of 0010.
_JURISDICTION_SELECT = "SELECT jurisdiction_id, {year} FROM units_unit WHERE id = NEW.unit_id"
JURISDICTION_POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION campaigns_tally_mark_jurisdictions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('campaigns.recounting', true) = 'on' THEN
        RETURN NULL;
      END IF;
      INSERT INTO {JURISDICTION_DIRTY} (jurisdiction_id, year)
      {_JURISDICTION_SELECT.format(year="EXTRACT(YEAR FROM NEW.day)::int")};
      RETURN NULL;
    END $$
    """,
    f"""CREATE TRIGGER campaigns_tally_mark_jurisdictions AFTER INSERT OR UPDATE ON {TALLY}
        FOR EACH ROW EXECUTE FUNCTION campaigns_tally_mark_jurisdictions()""",
]
JURISDICTION_POSTGRESQL_REMOVE = [
    f"DROP TRIGGER IF EXISTS campaigns_tally_mark_jurisdictions ON {TALLY}",
    "DROP FUNCTION IF EXISTS campaigns_tally_mark_jurisdictions()",
]
JURISDICTION_SQLITE_INSTALL = [
    f"""CREATE TRIGGER campaigns_tally_mark_jurisdictions_{op.lower()} AFTER {op} ON {TALLY} BEGIN
        INSERT INTO {JURISDICTION_DIRTY} (jurisdiction_id, year)
        {_JURISDICTION_SELECT.format(year="CAST(strftime('%Y', NEW.day) AS INTEGER)")};
    END"""
    for op in ("INSERT", "UPDATE")
]
JURISDICTION_SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS campaigns_tally_mark_jurisdictions_{op}" for op in ("insert", "update")
]


def jurisdiction_statements(vendor: str, *, install: bool) -> list[str]:
    """The jurisdiction marks' trigger (migration 0011)."""
    return _for_vendor(
        vendor,
        install,
        (JURISDICTION_POSTGRESQL_INSTALL, JURISDICTION_POSTGRESQL_REMOVE),
        (JURISDICTION_SQLITE_INSTALL, JURISDICTION_SQLITE_REMOVE),
    )


# Staff edits mark only the plans (and jurisdictions) they touch (migration 0013). What a plan's
# summary reads besides donations: its quotas, their member units, the plan, and which unit is
# whose parent (a subordinate unit counts toward its parent's quota); a jurisdiction's monthly
# sums read which jurisdiction each unit is in. On PostgreSQL the triggers run once per statement
# over its transition tables, so a 60,000-quota import writes one mark per plan it touched.
JURISDICTION_DIRTY_INSERT = f"INSERT INTO {JURISDICTION_DIRTY} (jurisdiction_id, year)"
_PLANS_OF_UNITS = (
    "SELECT DISTINCT q.plan_id FROM quotas_quota_units qu JOIN quotas_quota q ON q.id = qu.quota_id"
    " WHERE qu.unit_id IN ({units})"
)
_REPARENTED = (
    "SELECT {side}.parent_id FROM old_rows o JOIN new_rows n ON n.id = o.id"
    " WHERE o.parent_id IS DISTINCT FROM n.parent_id AND {side}.parent_id IS NOT NULL"
)
_MOVED = (
    "SELECT n.id, {side}.jurisdiction_id AS jurisdiction_id FROM old_rows o JOIN new_rows n ON n.id = o.id"
    " WHERE o.jurisdiction_id IS DISTINCT FROM n.jurisdiction_id"
)
# Per table: (what to mark from a transition table `rows`), installed for these events.
_STAFF_MARKS = {
    "quotas_quota": (
        f"INSERT INTO {DIRTY} (plan_id) SELECT DISTINCT plan_id FROM {{rows}}",
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "quotas_quota_units": (
        f"INSERT INTO {DIRTY} (plan_id)"
        " SELECT DISTINCT q.plan_id FROM {rows} r JOIN quotas_quota q ON q.id = r.quota_id",
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "quotas_annualplan": (f"INSERT INTO {DIRTY} (plan_id) SELECT id FROM {{rows}}", ("UPDATE",)),
}
_TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _staff_function(table: str, mark: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION campaigns_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {mark.format(rows="old_rows")};
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {mark.format(rows="new_rows")};
      END IF;
      RETURN NULL;
    END $$
    """


STAFF_POSTGRESQL_INSTALL = [
    *(
        sql
        for table, (mark, events) in _STAFF_MARKS.items()
        for sql in (
            _staff_function(table, mark),
            *(
                f"""CREATE TRIGGER campaigns_mark_{table}_{event.lower()} AFTER {event} ON {table}
                    {_TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION campaigns_mark_{table}()"""
                for event in events
            ),
        )
    ),
    f"""
    CREATE OR REPLACE FUNCTION campaigns_mark_units_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO {DIRTY} (plan_id) {
        _PLANS_OF_UNITS.format(units=_REPARENTED.format(side="o") + " UNION " + _REPARENTED.format(side="n"))
    };
      {JURISDICTION_DIRTY_INSERT}
      SELECT DISTINCT moved.jurisdiction_id, EXTRACT(YEAR FROM t.day)::int
      FROM ({_MOVED.format(side="o")} UNION {_MOVED.format(side="n")}) moved
      JOIN {TALLY} t ON t.unit_id = moved.id;
      RETURN NULL;
    END $$
    """,
    f"""CREATE TRIGGER campaigns_mark_units_unit_update AFTER UPDATE ON units_unit
        {_TRANSITIONS["UPDATE"]} FOR EACH STATEMENT EXECUTE FUNCTION campaigns_mark_units_unit()""",
    # TRUNCATE has no rows to name: everything kept is stale.
    f"""
    CREATE OR REPLACE FUNCTION campaigns_progress_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE {VERSION} SET n = n + 1 WHERE id = 1;
      RETURN NULL;
    END $$
    """,
    *(
        f"""CREATE TRIGGER campaigns_progress_truncated AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION campaigns_progress_truncated()"""
        for table in WATCHED
    ),
]
STAFF_POSTGRESQL_REMOVE = [
    *(
        f"DROP TRIGGER IF EXISTS campaigns_mark_{table}_{event.lower()} ON {table}"
        for table, (_, events) in _STAFF_MARKS.items()
        for event in events
    ),
    *(f"DROP FUNCTION IF EXISTS campaigns_mark_{table}()" for table in _STAFF_MARKS),
    "DROP TRIGGER IF EXISTS campaigns_mark_units_unit_update ON units_unit",
    "DROP FUNCTION IF EXISTS campaigns_mark_units_unit()",
    *(f"DROP TRIGGER IF EXISTS campaigns_progress_truncated ON {table}" for table in WATCHED),
    "DROP FUNCTION IF EXISTS campaigns_progress_truncated()",
]
# SQLite has no transition tables: row triggers, one per table and event.
_SQLITE_ROW = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}
_SQLITE_MARKS = {
    "quotas_quota": "SELECT {row}.plan_id",
    "quotas_quota_units": "SELECT plan_id FROM quotas_quota WHERE id = {row}.quota_id",
    "quotas_annualplan": "SELECT {row}.id",
}


def _sqlite_marked(table: str, event: str) -> str:
    return " UNION ".join(_SQLITE_MARKS[table].format(row=row) for row in _SQLITE_ROW[event])


STAFF_SQLITE_INSTALL = [
    *(
        f"""CREATE TRIGGER campaigns_mark_{table}_{event.lower()} AFTER {event} ON {table} BEGIN
            INSERT INTO {DIRTY} (plan_id) {_sqlite_marked(table, event)};
        END"""
        for table, (_, events) in _STAFF_MARKS.items()
        for event in events
    ),
    f"""CREATE TRIGGER campaigns_mark_units_unit_parent AFTER UPDATE OF parent_id ON units_unit
        WHEN OLD.parent_id IS NOT NEW.parent_id BEGIN
        INSERT INTO {DIRTY} (plan_id) {_PLANS_OF_UNITS.format(units="OLD.parent_id, NEW.parent_id")};
    END""",
    f"""CREATE TRIGGER campaigns_mark_units_unit_jurisdiction AFTER UPDATE OF jurisdiction_id ON units_unit
        WHEN OLD.jurisdiction_id IS NOT NEW.jurisdiction_id BEGIN
        {JURISDICTION_DIRTY_INSERT}
        SELECT DISTINCT j.id, CAST(strftime('%Y', t.day) AS INTEGER)
        FROM {TALLY} t, (SELECT OLD.jurisdiction_id AS id UNION SELECT NEW.jurisdiction_id) j
        WHERE t.unit_id = NEW.id;
    END""",
]
STAFF_SQLITE_REMOVE = [
    *(
        f"DROP TRIGGER IF EXISTS campaigns_mark_{table}_{event.lower()}"
        for table, (_, events) in _STAFF_MARKS.items()
        for event in events
    ),
    "DROP TRIGGER IF EXISTS campaigns_mark_units_unit_parent",
    "DROP TRIGGER IF EXISTS campaigns_mark_units_unit_jurisdiction",
]


def staff_statements(vendor: str, *, install: bool) -> list[str]:
    """The staff-edit marks' triggers (migration 0013, which removes 0010's version bump)."""
    return _for_vendor(
        vendor,
        install,
        (STAFF_POSTGRESQL_INSTALL, STAFF_POSTGRESQL_REMOVE),
        (STAFF_SQLITE_INSTALL, STAFF_SQLITE_REMOVE),
    )


def invalidate_all() -> None:
    """Every summary is stale (after a recount of the tally, or a bulk load with triggers off)."""
    ProgressVersion.objects.filter(pk=1).update(n=F("n") + 1)


# -- kept plan summaries ---------------------------------------------------------------------


def _marked(plan_ids: list[int]) -> set[int]:
    where, params = any_of("plan_id", plan_ids)
    return {pk for (pk,) in fetch(f"SELECT DISTINCT plan_id FROM {DIRTY} WHERE {where}", params)}


def _take_marks(plan_ids: list[int]) -> set[int]:
    where, params = any_of("plan_id", plan_ids)
    # a set: several rows may name one plan
    return {pk for (pk,) in fetch(f"DELETE FROM {DIRTY} WHERE {where} RETURNING plan_id", params)}


def _quota_count(plan_ids: list[int]) -> int:
    where, params = any_of("plan_id", plan_ids)
    return fetch(f"SELECT COUNT(*) FROM quotas_quota WHERE {where}", params)[0][0]


def _upsert_newer(table: str, keys: tuple[str, ...], values: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert or replace kept rows, one statement per batch; a row is only replaced by one whose
    computation started later (`started` must be among `values`)."""
    columns = (*keys, *values)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{column} = excluded.{column}" for column in values)
    with connection.cursor() as cursor:
        for at in range(0, len(rows), STORE_BATCH):
            batch = rows[at : at + STORE_BATCH]
            cursor.execute(
                f"""INSERT INTO {table} ({", ".join(columns)}) VALUES {", ".join([placeholders] * len(batch))}
                    ON CONFLICT ({", ".join(keys)}) DO UPDATE SET {updates}
                    WHERE {table}.started <= excluded.started""",
                [value for row in batch for value in row],
            )


def _store(summaries: dict[int, tuple[dict, dt.date]], *, today: dt.date, version: int, started) -> None:
    ops = connection.ops
    when, day = ops.adapt_datetimefield_value(started), ops.adapt_datefield_value(today)
    _upsert_newer(
        PLAN_PROGRESS,
        ("plan_id",),
        ("as_of", "valid_until", "version", "started", "summary"),
        [
            (pk, day, ops.adapt_datefield_value(until), version, when, json.dumps(summary, ensure_ascii=False))
            for pk, (summary, until) in summaries.items()
        ],
    )


def current_version() -> int:
    rows = fetch(f"SELECT n FROM {VERSION} WHERE id = 1", [])
    return rows[0][0] if rows else 0


@dataclass
class Kept:
    """Plan summaries for a page, and since when the oldest summary shown unrefreshed was kept."""

    summaries: dict[int, dict]
    behind_since: dt.datetime | None = None


def plan_summaries(
    plan_ids: list[int], *, year: int, today: dt.date, version: int, compute, budget: int | None = None, exact=()
) -> Kept:
    """Each plan's summary, recomputing (with `compute(stale_plan_ids)` → rows) only stale ones.

    `budget`: the most quotas a reader recomputes itself. When the stale plans hold more (after
    a busy hour of logging, on the first of a month, after a recount) the reader is shown their
    last kept summaries, with the time they were computed, and the marks stay for
    `refresh_figures`, which keeps everything fresh ahead of readers. A plan never summarised, or
    summarised by an older format, is always computed, and so is every plan in `exact` (the page's
    own plan, whose unit table is computed anyway). None (exports, bulletins, the refresher):
    everything exact.

    The marks are taken, the summaries computed and stored in one transaction: a process that
    dies half-way leaves the marks in place, never a stale summary taken for a fresh one.
    Queries (after `current_version()`): the marks, the kept summaries; when any plan is stale,
    its size (with a budget), the marks taken, its computation and one write of the new summaries.
    """
    if not plan_ids:
        return Kept({})
    marked = _marked(plan_ids)
    where, params = any_of("plan_id", plan_ids)
    kept, readable, started_at = {}, {}, {}
    for pk, as_of, until, kept_version, started, summary in fetch(
        f"SELECT plan_id, as_of, valid_until, version, started, summary FROM {PLAN_PROGRESS} WHERE {where}", params
    ):
        summary = as_json(summary)
        if summary.get("format") != FORMAT:
            continue
        readable[pk], started_at[pk] = summary, started
        if as_date(as_of) <= today < as_date(until) and kept_version == version and pk not in marked:
            kept[pk] = summary
    stale = [pk for pk in plan_ids if pk not in kept]
    if not stale:
        return Kept(kept)
    behind: list[int] = []
    if budget is not None:
        old = [pk for pk in stale if pk in readable and pk not in exact]
        if old and _quota_count(stale) > budget:
            behind = old
            stale = [pk for pk in stale if pk not in set(old)]
    fresh = {}
    if stale:
        started = timezone.now()
        with transaction.atomic():
            _take_marks(stale)
            rows_by_plan: dict[int, list] = {pk: [] for pk in stale}
            for row in compute(stale):
                rows_by_plan[row.plan_id].append(row)
            fresh = {pk: summarise_plan(rows, year=year, today=today) for pk, rows in rows_by_plan.items()}
            _store(fresh, today=today, version=version, started=started)
    since = min((as_datetime(started_at[pk]) for pk in behind), default=None)
    return Kept(kept | {pk: readable[pk] for pk in behind} | {pk: summary for pk, (summary, _) in fresh.items()}, since)


# -- each jurisdiction's donations per month ----------------------------------------------------


def _jurisdiction_marks(prefix: str, year: int) -> set[int]:
    return {
        pk
        for (pk,) in fetch(
            f"""SELECT DISTINCT jurisdiction_id FROM {JURISDICTION_DIRTY} WHERE year = %s
                AND jurisdiction_id IN (SELECT id FROM units_jurisdiction WHERE path LIKE %s)""",
            [year, prefix + "%"],  # paths hold digits and slashes only: nothing to escape
        )
    }


def _take_jurisdiction_marks(jurisdiction_ids: list[int], year: int) -> None:
    where, params = any_of("jurisdiction_id", jurisdiction_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {JURISDICTION_DIRTY} WHERE year = %s AND {where}", [year, *params])


def _store_months(months: dict[int, list], *, year: int, version: int, started) -> None:
    when = connection.ops.adapt_datetimefield_value(started)
    _upsert_newer(
        JURISDICTION_PROGRESS,
        ("jurisdiction_id", "year"),
        ("version", "started", "months"),
        [(pk, year, version, when, json.dumps(value)) for pk, value in months.items()],
    )


def jurisdiction_months(
    jurisdiction_ids, *, prefix: str, year: int, version: int, compute, budget: int | None = None, exact=()
) -> tuple[dict[int, tuple[list[int], Decimal]], dt.datetime | None]:
    """Counted donations by each jurisdiction's own units in `year`: (persons per month, blood
    units), and since when the oldest sums shown unrefreshed were kept (None: all current).

    `jurisdiction_ids` are the subtree at path `prefix`; kept sums are reused, stale ones
    recomputed with `compute(stale_ids or None for all)` → (jurisdiction, month, persons, blood
    units) rows. `budget`: the most stale jurisdictions a reader recomputes; beyond it the kept
    sums of the others are shown (those in `exact` and those never kept are always computed), as
    in plan_summaries. Queries: the marks, the kept sums; when any is stale, the marks taken, its
    sum and one write.
    """
    marked = _jurisdiction_marks(prefix, year)
    kept, readable, started_at = {}, {}, {}
    for pk, kept_version, started, months in fetch(
        f"""SELECT k.jurisdiction_id, k.version, k.started, k.months FROM {JURISDICTION_PROGRESS} k
            JOIN units_jurisdiction j ON j.id = k.jurisdiction_id WHERE k.year = %s AND j.path LIKE %s""",
        [year, prefix + "%"],
    ):
        months = as_json(months)
        readable[pk], started_at[pk] = months, started
        if kept_version == version and pk not in marked:
            kept[pk] = months
    stale = [pk for pk in jurisdiction_ids if pk not in kept]
    behind: list[int] = []
    if budget is not None and len(stale) > budget:
        behind = [pk for pk in stale if pk in readable and pk not in exact]
        stale = [pk for pk in stale if pk not in set(behind)]
    if stale:
        # Marks taken (only the stale ones': a mark committed since was not seen, and stays), the
        # sums computed after that and stored, in one transaction (see plan_summaries).
        with transaction.atomic():
            started = timezone.now()
            _take_jurisdiction_marks(stale, year)
            fresh = {pk: [[0, "0"] for _ in range(12)] for pk in stale}
            for pk, month, persons, units in compute(None if len(stale) == len(jurisdiction_ids) else stale):
                if pk in fresh:
                    fresh[pk][month - 1] = [persons or 0, str(units or 0)]
            _store_months(fresh, year=year, version=version, started=started)
        kept |= fresh
    kept |= {pk: readable[pk] for pk in behind}
    since = min((as_datetime(started_at[pk]) for pk in behind), default=None)
    return {
        pk: ([persons for persons, _ in months], sum((Decimal(units) for _, units in months), Decimal(0)))
        for pk, months in kept.items()
    }, since

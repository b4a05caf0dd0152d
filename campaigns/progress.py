# ruff: noqa: S608 -- SQL built only from constant table names and generated placeholders.
"""Per-plan summaries of unit-quota progress and per-jurisdiction monthly sums, recomputed
only where something changed.

The national dashboard needs, for every published plan of the year, its on-time total, its
status counts and its worst quotas. Computing that for 95,000 quotas takes over a second, but
between two page views only the plans whose donations or settings changed need it again. So
each plan's summary is kept in `PlanProgress` and recomputed when:

- the date changed (statuses depend on today) — `as_of`;
- anything it reads besides donations changed: quotas, quota members, plans, units — a
  trigger on those tables bumps the single `ProgressVersion` counter (staff edits are rare;
  on PostgreSQL the trigger is per statement, so a 60,000-row import bumps it once);
- a donation of one of its units changed — a trigger on the donation tally (itself kept by
  triggers on donations) inserts a row naming the plan into `PlanProgressDirty` in the same
  transaction that logs the donation. Every change adds its own row (no unique key): no row
  lock is taken, so liaisons of one plan never wait for each other.

A page view takes (deletes, with RETURNING) the marks of the plans it shows before computing.
A DELETE only sees rows of committed transactions, so a mark it takes belongs to a donation
its computation (which starts later) sees, and a donation still uncommitted leaves its mark for
the next view. (A unique mark skipped "on conflict" would not: the view could take the mark a
still-open transaction had relied on.) A summary is only replaced by one whose computation
started later. Figures stay real time: nothing is refreshed by a timer.

Each jurisdiction's counted donations per month (headline, chart and drill-down lines) are
kept the same way in `JurisdictionProgress`, marked by a second trigger on the tally.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections import Counter
from decimal import Decimal
from itertools import chain

from django.db import connection
from django.db.models import F
from django.utils import timezone

from .models import JurisdictionProgress, PlanProgress, ProgressVersion
from .selectors import DONE, OVERDUE

LIST_LENGTH = 10
THIS_MONTH_LENGTH = LIST_LENGTH * 3
STORE_BATCH = 1000  # summaries per INSERT (SQLite allows 32,766 parameters)
DIRTY = "campaigns_planprogressdirty"
JURISDICTION_DIRTY = "campaigns_jurisdictionprogressdirty"
VERSION = "campaigns_progressversion"
TALLY = "campaigns_donationtally"
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
    f"""
    CREATE OR REPLACE FUNCTION campaigns_progress_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE {VERSION} SET n = n + 1 WHERE id = 1;
      RETURN NULL;
    END $$
    """,
    *(
        f"""CREATE TRIGGER campaigns_progress_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION campaigns_progress_bump()"""
        for table in WATCHED
    ),
]
POSTGRESQL_REMOVE = [
    f"DROP TRIGGER IF EXISTS campaigns_tally_mark_plans ON {TALLY}",
    "DROP FUNCTION IF EXISTS campaigns_tally_mark_plans()",
    *(f"DROP TRIGGER IF EXISTS campaigns_progress_bump ON {table}" for table in WATCHED),
    "DROP FUNCTION IF EXISTS campaigns_progress_bump()",
]
SQLITE_INSTALL = [
    *(
        f"""CREATE TRIGGER campaigns_tally_mark_plans_{op.lower()} AFTER {op} ON {TALLY} BEGIN
            INSERT INTO {DIRTY} (plan_id)
            {_MARK_SELECT.format(year="CAST(strftime('%Y', NEW.day) AS INTEGER)")};
        END"""
        for op in ("INSERT", "UPDATE")
    ),
    *(
        f"""CREATE TRIGGER campaigns_progress_bump_{table}_{op.lower()} AFTER {op} ON {table} BEGIN
            UPDATE {VERSION} SET n = n + 1 WHERE id = 1;
        END"""
        for table in WATCHED
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
]
SQLITE_REMOVE = [
    *(f"DROP TRIGGER IF EXISTS campaigns_tally_mark_plans_{op}" for op in ("insert", "update")),
    *(
        f"DROP TRIGGER IF EXISTS campaigns_progress_bump_{t}_{op}"
        for t in WATCHED
        for op in ("insert", "update", "delete")
    ),
]


def _for_vendor(vendor: str, install: bool, postgresql: tuple[list, list], sqlite: tuple[list, list]) -> list[str]:
    """The (install, remove) statements for this database; none for others."""
    pair = {"postgresql": postgresql, "sqlite": sqlite}.get(vendor)
    return (pair[0] if install else pair[1]) if pair else []


def statements(vendor: str, *, install: bool) -> list[str]:
    """The plan marks' and the version's triggers (migrations 0010, 0011)."""
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


def invalidate_all() -> None:
    """Every summary is stale (after a recount of the tally, or a bulk load with triggers off)."""
    ProgressVersion.objects.filter(pk=1).update(n=F("n") + 1)


# -- summaries ------------------------------------------------------------------------------


def _by_shortfall(row: dict) -> int:
    return row["shortfall"]


def _this_month_order(row: dict) -> tuple:
    return (row["due"], -row["shortfall"])


# What the dashboard shows of a listed quota, kept as a JSON array in this order (the national
# page reads 3,000 summaries: arrays are about half the text of objects and decode faster).
_KEPT = (
    "id",
    "target",
    "completed",
    "on_time",
    "rate",
    "shortfall",
    "status",
    "advisory",
    "group",
    "due",
    "blood_units",
)
_SHORTFALL, _DUE = _KEPT.index("shortfall"), _KEPT.index("due")


def _stored(row: dict) -> list:
    """JSON-ready: the due date as ISO text, which sorts as the date does."""
    return [*(row[key] for key in _KEPT[:_DUE]), row["due"].isoformat(), str(row["blood_units"])]


def _loaded(kept: list) -> dict:
    row = dict(zip(_KEPT[:_DUE], kept, strict=False))
    row.update(due=dt.date.fromisoformat(kept[_DUE]), blood_units=Decimal(kept[_DUE + 1]))
    return row


def _kept_by_shortfall(kept: list) -> int:
    return kept[_SHORTFALL]


def _kept_this_month_order(kept: list) -> tuple:
    return (kept[_DUE], -kept[_SHORTFALL])


def summarise(rows: list[dict], *, year: int, today: dt.date) -> dict:
    """One plan's counted (non-advisory) quota rows, reduced to what the dashboard shows."""
    counted = [r for r in rows if not r["advisory"]]
    overdue = [r for r in counted if r["status"] == OVERDUE]
    this_month = (
        [r for r in counted if r["status"] != DONE and r["due"].year == today.year and r["due"].month == today.month]
        if year == today.year
        else []
    )
    return {
        "on_time": sum(min(r["on_time"], r["target"]) for r in counted),
        "counts": dict(Counter(r["status"] for r in counted)),
        "overdue_total": len(overdue),
        "overdue": [_stored(r) for r in heapq.nlargest(LIST_LENGTH, overdue, key=_by_shortfall)],
        "shortfalls": [
            _stored(r)
            for r in heapq.nlargest(LIST_LENGTH, (r for r in counted if r["shortfall"] > 0), key=_by_shortfall)
        ],
        "this_month_total": len(this_month),
        "this_month": [_stored(r) for r in sorted(this_month, key=_this_month_order)[:THIS_MONTH_LENGTH]],
    }


def merge(summaries) -> dict:
    """The lists of several plans' summaries, as one summary over all of them would give.

    Chosen on the stored rows (shortfall is a number, the due date ISO text, which sorts as the
    date does), and only the chosen ones converted back: the national page merges 3,000 plans.
    """
    summaries = list(summaries)

    def pick(key: str, choose) -> list[dict]:
        return [_loaded(r) for r in choose(chain.from_iterable(s[key] for s in summaries))]

    return {
        "overdue": pick("overdue", lambda rows: heapq.nlargest(LIST_LENGTH, rows, key=_kept_by_shortfall)),
        "overdue_total": sum(s["overdue_total"] for s in summaries),
        "shortfalls": pick("shortfalls", lambda rows: heapq.nlargest(LIST_LENGTH, rows, key=_kept_by_shortfall)),
        "this_month": pick(
            "this_month", lambda rows: heapq.nsmallest(THIS_MONTH_LENGTH, rows, key=_kept_this_month_order)
        ),
        "this_month_total": sum(s["this_month_total"] for s in summaries),
    }


def _take_marks(plan_ids: list[int]) -> set[int]:
    placeholders = ", ".join(["%s"] * len(plan_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DIRTY} WHERE plan_id IN ({placeholders}) RETURNING plan_id", plan_ids)
        # a set: several rows may name one plan
        return {pk for (pk,) in cursor.fetchall()}


def _put_marks_back(plan_ids) -> None:
    rows = [(pk,) for pk in plan_ids]
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {DIRTY} (plan_id) VALUES (%s)", rows)


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


def _store(summaries: dict[int, dict], *, today: dt.date, version: int, started) -> None:
    ops = connection.ops
    when, day = ops.adapt_datetimefield_value(started), ops.adapt_datefield_value(today)
    _upsert_newer(
        PlanProgress._meta.db_table,
        ("plan_id",),
        ("as_of", "version", "started", "summary"),
        [(pk, day, version, when, json.dumps(summary, ensure_ascii=False)) for pk, summary in summaries.items()],
    )


def current_version() -> int:
    return ProgressVersion.objects.filter(pk=1).values_list("n", flat=True).first() or 0


def plan_summaries(plan_ids: list[int], *, year: int, today: dt.date, version: int, compute) -> dict[int, dict]:
    """Each plan's summary, recomputing (with `compute(stale_plan_ids)` → rows) only stale ones.

    Queries (after `current_version()`): the marks, the kept summaries; and when any plan is
    stale, its computation and one write of the new summaries.
    """
    if not plan_ids:
        return {}
    marked = _take_marks(plan_ids)
    kept = {
        pk: summary
        for pk, as_of, kept_version, summary in PlanProgress.objects.filter(plan_id__in=plan_ids).values_list(
            "plan_id", "as_of", "version", "summary"
        )
        if as_of == today and kept_version == version and pk not in marked
    }
    stale = [pk for pk in plan_ids if pk not in kept]
    if not stale:
        return kept
    started = timezone.now()
    try:
        rows_by_plan: dict[int, list[dict]] = {pk: [] for pk in stale}
        for row in compute(stale):
            rows_by_plan[row["plan_id"]].append(row)
        fresh = {pk: summarise(rows, year=year, today=today) for pk, rows in rows_by_plan.items()}
        _store(fresh, today=today, version=version, started=started)
    except BaseException:
        _put_marks_back(marked)  # the next view recomputes them
        raise
    return kept | fresh


# -- each jurisdiction's donations per month ----------------------------------------------------


def _take_jurisdiction_marks(prefix: str, year: int) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""DELETE FROM {JURISDICTION_DIRTY} WHERE year = %s
                AND jurisdiction_id IN (SELECT id FROM units_jurisdiction WHERE path LIKE %s)
                RETURNING jurisdiction_id""",
            [year, prefix + "%"],  # paths hold digits and slashes only: nothing to escape
        )
        return {pk for (pk,) in cursor.fetchall()}


def _put_jurisdiction_marks_back(jurisdiction_ids, year: int) -> None:
    rows = [(pk, year) for pk in jurisdiction_ids]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {JURISDICTION_DIRTY} (jurisdiction_id, year) VALUES (%s, %s)", rows)


def _store_months(months: dict[int, list], *, year: int, version: int, started) -> None:
    when = connection.ops.adapt_datetimefield_value(started)
    _upsert_newer(
        JurisdictionProgress._meta.db_table,
        ("jurisdiction_id", "year"),
        ("version", "started", "months"),
        [(pk, year, version, when, json.dumps(value)) for pk, value in months.items()],
    )


def jurisdiction_months(
    jurisdiction_ids, *, prefix: str, year: int, version: int, compute
) -> dict[int, tuple[list[int], Decimal]]:
    """Counted donations by each jurisdiction's own units in `year`: (persons per month, blood units).

    `jurisdiction_ids` are the subtree at path `prefix`; kept sums are reused, stale ones
    recomputed with `compute(stale_ids or None for all)` → (jurisdiction, month, persons, blood
    units) rows. Queries: the marks, the kept sums; when any is stale, its sum and one write.
    """
    marked = _take_jurisdiction_marks(prefix, year)
    kept = {
        pk: months
        for pk, kept_version, months in JurisdictionProgress.objects.filter(
            year=year, jurisdiction__path__startswith=prefix
        ).values_list("jurisdiction_id", "version", "months")
        if kept_version == version and pk not in marked
    }
    stale = [pk for pk in jurisdiction_ids if pk not in kept]
    if stale:
        started = timezone.now()
        try:
            fresh = {pk: [[0, "0"] for _ in range(12)] for pk in stale}
            for pk, month, persons, units in compute(None if len(stale) == len(jurisdiction_ids) else stale):
                if pk in fresh:
                    fresh[pk][month - 1] = [persons or 0, str(units or 0)]
            _store_months(fresh, year=year, version=version, started=started)
        except BaseException:
            _put_jurisdiction_marks_back(marked, year)
            raise
        kept |= fresh
    return {
        pk: ([persons for persons, _ in months], sum((Decimal(units) for _, units in months), Decimal(0)))
        for pk, months in kept.items()
    }

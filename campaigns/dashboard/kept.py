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

from ..counting.plans import FORMAT, summarise_plan
from ..models import JurisdictionProgress, PlanProgress, ProgressVersion
from ..sql import any_of, as_date, as_datetime, as_json, fetch

STORE_BATCH = 1000  # summaries per INSERT (SQLite allows 32,766 parameters)
DIRTY = "campaigns_planprogressdirty"
JURISDICTION_DIRTY = "campaigns_jurisdictionprogressdirty"
VERSION = "campaigns_progressversion"
TALLY = "campaigns_donationtally"
PLAN_PROGRESS = PlanProgress._meta.db_table
JURISDICTION_PROGRESS = JurisdictionProgress._meta.db_table
WATCHED = ["quotas_quota", "quotas_quota_units", "quotas_annualplan", "units_unit"]

# The triggers that mark plans and jurisdictions (on the tally, for donations; on quotas, their
# members, plans and units, for staff edits) are installed by migrations 0010, 0011 and 0013,
# whose SQL is frozen there; tests/campaigns/test_frozen_triggers.py checks a migrated database
# holds exactly those triggers.


def invalidate_all() -> None:
    """Every summary is stale (after a recount of the tally, or a bulk load with triggers off)."""
    ProgressVersion.objects.filter(pk=1).update(n=F("n") + 1)


# -- kept plan summaries ---------------------------------------------------------------------


def _marked(plan_ids: list[int]) -> set[int]:
    where, params = any_of("plan_id", plan_ids)
    return {pk for (pk,) in fetch(f"SELECT DISTINCT plan_id FROM {DIRTY} WHERE {where}", params)}  # noqa: S608


def _take_marks(plan_ids: list[int]) -> set[int]:
    where, params = any_of("plan_id", plan_ids)
    # a set: several rows may name one plan
    return {pk for (pk,) in fetch(f"DELETE FROM {DIRTY} WHERE {where} RETURNING plan_id", params)}  # noqa: S608


def _quota_count(plan_ids: list[int]) -> int:
    where, params = any_of("plan_id", plan_ids)
    return fetch(f"SELECT COUNT(*) FROM quotas_quota WHERE {where}", params)[0][0]  # noqa: S608


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
                    WHERE {table}.started <= excluded.started""",  # noqa: S608
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
    rows = fetch(f"SELECT n FROM {VERSION} WHERE id = 1", [])  # noqa: S608
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
        f"SELECT plan_id, as_of, valid_until, version, started, summary FROM {PLAN_PROGRESS} WHERE {where}", params  # noqa: S608
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
            behind, shown_behind = old, set(old)  # a set built once: not once per stale plan
            stale = [pk for pk in stale if pk not in shown_behind]
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
                AND jurisdiction_id IN (SELECT id FROM units_jurisdiction WHERE path LIKE %s)""",  # noqa: S608
            [year, prefix + "%"],  # paths hold digits and slashes only: nothing to escape
        )
    }


def _take_jurisdiction_marks(jurisdiction_ids: list[int], year: int) -> None:
    where, params = any_of("jurisdiction_id", jurisdiction_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {JURISDICTION_DIRTY} WHERE year = %s AND {where}", [year, *params])  # noqa: S608


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
            JOIN units_jurisdiction j ON j.id = k.jurisdiction_id WHERE k.year = %s AND j.path LIKE %s""",  # noqa: S608
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
        shown_behind = set(behind)  # built once: not once per stale jurisdiction
        stale = [pk for pk in stale if pk not in shown_behind]
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

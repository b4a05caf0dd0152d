"""A plan's summary (rule 8): what the dashboard needs of its quotas, kept between views.

`summarise_plan` reduces one plan's `QuotaFigures` to targets by due month, allocations to
sub-jurisdictions, its counted unit quotas' on-time total, status counts and the three lists,
plus the day until which it holds. `merge_lists` combines several plans' lists exactly as one
summary over all their quotas would. The summary is JSON-ready: it is kept in the database.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from itertools import chain

from .quotas import DONE, OVERDUE, QuotaFigures, next_status_change

LIST_LENGTH = 10
THIS_MONTH_LENGTH = LIST_LENGTH * 3
# The layout of a summary. A kept summary of another format is stale (campaigns/dashboard/kept.py),
# so changing what a summary holds needs no migration: bump this.
FORMAT = 3  # 3: blood units split by core.apportion (ties to the larger weight)

# What the dashboard shows of a listed quota, kept as a JSON array in this order (the national
# page reads 3,000 summaries: arrays are about half the text of objects and decode faster).
KEPT = ("id", "target", "completed", "on_time", "status", "advisory", "group", "due", "blood_units")
_ID, _TARGET, _COMPLETED, _DUE = KEPT.index("id"), KEPT.index("target"), KEPT.index("completed"), KEPT.index("due")


def stored(row: QuotaFigures) -> list:
    """A listed quota as kept: the due date as ISO text (which sorts as the date does)."""
    return [
        row.id,
        row.target,
        row.completed,
        row.on_time,
        row.status,
        row.advisory,
        row.group,
        row.due.isoformat(),
        str(row.blood_units),
    ]


def loaded(kept: list) -> dict:
    """A kept listed quota as the pages read it."""
    row = dict(zip(KEPT, kept, strict=True))
    row["due"] = dt.date.fromisoformat(row["due"])
    row["blood_units"] = Decimal(row["blood_units"])
    row["shortfall"] = max(row["target"] - row["completed"], 0)
    row["rate"] = round(row["completed"] / row["target"], 4) if row["target"] else 1.0
    return row


# The lists' orders are total: the larger shortfall first, then the earlier due date, then the
# lower quota id (the month's list: due date, larger shortfall, id). Two views of the same figures
# — or a bulletin and today — list tied quotas in the same order.
def _by_shortfall(row: QuotaFigures) -> tuple:
    return (-row.shortfall, row.due, row.id)


def _this_month_order(row: QuotaFigures) -> tuple:
    return (row.due, -row.shortfall, row.id)


def _kept_shortfall(kept: list) -> int:
    return max(kept[_TARGET] - kept[_COMPLETED], 0)


def _kept_by_shortfall(kept: list) -> tuple:
    return (-_kept_shortfall(kept), kept[_DUE], kept[_ID])


def _kept_this_month_order(kept: list) -> tuple:
    return (kept[_DUE], -_kept_shortfall(kept), kept[_ID])


def month_after(day: dt.date) -> dt.date:
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)


def summarise_plan(rows: Iterable[QuotaFigures], *, year: int, today: dt.date) -> tuple[dict, dt.date]:
    """One plan's quotas reduced to what the dashboard shows, and the first day it may no longer
    hold (the earliest status change of a counted quota, or the next month: "due this month")."""
    rows = list(rows)
    due = [0] * 12  # non-advisory targets by due month: unit quotas and allocations
    unit_due = [0] * 12  # of those, the unit quotas'
    allocated: dict[int, int] = defaultdict(int)
    for r in rows:
        if r.advisory:
            continue
        due[r.due.month - 1] += r.target
        if r.sub_jurisdiction is None:
            unit_due[r.due.month - 1] += r.target
        else:
            allocated[r.sub_jurisdiction] += r.target
    counted = [r for r in rows if r.counted]
    overdue = [r for r in counted if r.status == OVERDUE]
    this_month = (
        [r for r in counted if r.status != DONE and (r.due.year, r.due.month) == (today.year, today.month)]
        if year == today.year
        else []
    )
    changes = (
        next_status_change(target=r.target, completed=r.completed, start=r.start, due=r.due, today=today)
        for r in counted
    )
    valid_until = min([month_after(today), *(day for day in changes if day is not None)])
    summary = {
        "format": FORMAT,
        "due": due,
        "unit_due": unit_due,
        "allocated": sorted(allocated.items()),
        "on_time": sum(r.on_time for r in counted),
        "counts": dict(Counter(r.status for r in counted)),
        "overdue_total": len(overdue),
        "overdue": [stored(r) for r in heapq.nsmallest(LIST_LENGTH, overdue, key=_by_shortfall)],
        "shortfalls": [
            stored(r) for r in heapq.nsmallest(LIST_LENGTH, (r for r in counted if r.shortfall), key=_by_shortfall)
        ],
        "this_month_total": len(this_month),
        "this_month": [stored(r) for r in sorted(this_month, key=_this_month_order)[:THIS_MONTH_LENGTH]],
    }
    return summary, valid_until


def merge_lists(summaries: Iterable[dict]) -> dict:
    """The lists of several plans' summaries, as one summary over all of them would give.

    Chosen on the kept rows, and only the chosen ones converted back: the national page merges
    3,000 plans.
    """
    summaries = list(summaries)

    def pick(key: str, length: int, order) -> list[dict]:
        return [loaded(r) for r in heapq.nsmallest(length, chain.from_iterable(s[key] for s in summaries), key=order)]

    return {
        "overdue": pick("overdue", LIST_LENGTH, _kept_by_shortfall),
        "overdue_total": sum(s["overdue_total"] for s in summaries),
        "shortfalls": pick("shortfalls", LIST_LENGTH, _kept_by_shortfall),
        "this_month": pick("this_month", THIS_MONTH_LENGTH, _kept_this_month_order),
        "this_month_total": sum(s["this_month_total"] for s in summaries),
    }

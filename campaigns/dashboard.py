"""The leadership dashboard's figures for one jurisdiction and year, in a fixed number of queries.

Definitions (DOMAIN.md, "Counting rules"; docs/architecture.md explains them at length):

- **Task** of a jurisdiction: the non-advisory targets of its own published plan for the year
  (quotas to units and to sub-jurisdictions). A jurisdiction without a plan (a province, the
  whole country) takes the sum of its children's tasks, recursively.
- **Completed**: every counted donation (not rejected) in the year by a unit located in the
  jurisdiction's subtree — a county's donations roll up into its city whatever the quotas say.
- **Completed on time**: for every unit quota in the subtree's plans, the donations credited to
  it on or before its due date, capped at its target; summed, and never above Completed.
- A unit quota's progress follows `campaigns.selectors`: members' donations (a group meets its
  number jointly; a subordinate unit without its own quota counts toward its parent's), several
  quotas of the same units filled earliest-due first; advisory quotas shown, never summed.

Everything is read from `DonationTally` (kept by triggers), so a donation logged a second ago is
in the figures, and the result is plain JSON-ready data: a bulletin (通报) stores it as it is.
Queries: a fixed number whatever the number of units and jurisdictions (pinned by the test
`test_queries_do_not_grow_with_units_or_jurisdictions`); per-plan quota summaries and
per-jurisdiction monthly sums are kept between views (campaigns/progress.py).
"""

# ruff: noqa: S608 -- the raw SQL below is built from constant table names; values are parameters.
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import ExtractMonth

from quotas.models import AnnualPlan
from units.models import Jurisdiction, Unit

from .models import DonationTally
from .progress import current_version, jurisdiction_months, merge, plan_summaries
from .selectors import BEHIND, DONE, NOT_STARTED, ON_TRACK, OVERDUE, STATUS_LABELS, quota_status
from .sql import any_of, as_date, fetch

STATUS_ORDER = [OVERDUE, BEHIND, ON_TRACK, NOT_STARTED, DONE]
UNIT_TABLE_LIMIT = 1000
SORTS = {
    "rate": lambda r: (r["rate"], -r["shortfall"]),
    "shortfall": lambda r: (-r["shortfall"], r["rate"]),
    "due": lambda r: (r["due"], r["rate"]),
    "seq": lambda r: (r["seq"] is None, r["seq"] or 0, r["id"]),
}

_UNIT_QUOTAS_SQL = """
WITH q AS (
    SELECT q.id, q.target, q.period_start, q.period_end, q.advisory, q.plan_id, q.sub_jurisdiction_id
    FROM quotas_quota q
    JOIN quotas_annualplan p ON p.id = q.plan_id
    WHERE {plans}
),
m AS (
    SELECT qu.quota_id, qu.unit_id, q.plan_id FROM quotas_quota_units qu JOIN q ON q.id = qu.quota_id
),
-- A subordinate unit counts toward its parent's quota unless it has a quota of its own in the
-- same plan: a plan's figures depend on that plan alone, so plans can be computed separately.
donors AS (
    SELECT m.quota_id, m.unit_id AS donor FROM m
    UNION ALL
    SELECT m.quota_id, u.id FROM m JOIN units_unit u ON u.parent_id = m.unit_id
    WHERE NOT EXISTS (SELECT 1 FROM m AS own WHERE own.unit_id = u.id AND own.plan_id = m.plan_id)
),
got AS (
    SELECT d.quota_id,
           SUM(t.persons) AS persons,
           SUM(t.blood_units) AS blood_units,
           SUM(CASE WHEN t.day <= COALESCE(q.period_end, %(year_end)s) THEN t.persons ELSE 0 END) AS by_due
    FROM donors d
    JOIN q ON q.id = d.quota_id
    JOIN campaigns_donationtally t ON t.unit_id = d.donor AND t.day >= %(year_start)s AND t.day <= %(year_end)s
    GROUP BY d.quota_id
),
shape AS (
    SELECT quota_id, MIN(unit_id) AS lo, MAX(unit_id) AS hi, COUNT(*) AS n, SUM(unit_id) AS total
    FROM m GROUP BY quota_id
)
SELECT q.id, q.plan_id, q.target, q.period_start, q.period_end, q.advisory, q.sub_jurisdiction_id,
       shape.lo, shape.hi, shape.n, shape.total,
       COALESCE(got.persons, 0), COALESCE(got.blood_units, 0), COALESCE(got.by_due, 0)
FROM q
LEFT JOIN shape ON shape.quota_id = q.id
LEFT JOIN got ON got.quota_id = q.id
"""


@dataclass
class Scope:
    """Who may see what: a jurisdiction subtree, or everything (None)."""

    root: Jurisdiction | None

    def allows(self, jurisdiction: Jurisdiction | None) -> bool:
        if self.root is None:
            return True
        return jurisdiction is not None and jurisdiction.path.startswith(self.root.path)


# The per-view lookups, written out (campaigns/sql.py says why).
_TREE_SQL = "SELECT id, name, level, path FROM units_jurisdiction WHERE path LIKE %s"
_PLANS_SQL = """
    SELECT p.id, p.jurisdiction_id FROM quotas_annualplan p JOIN units_jurisdiction j ON j.id = p.jurisdiction_id
    WHERE p.year = %s AND p.status <> %s AND j.path LIKE %s
"""
_LABELS_SQL = """
    SELECT q.id, q.label, q.period_text, q.seq, j.name FROM quotas_quota q
    JOIN quotas_annualplan p ON p.id = q.plan_id JOIN units_jurisdiction j ON j.id = p.jurisdiction_id
    WHERE {where}
"""
_MEMBERS_SQL = """
    SELECT qu.quota_id, u.name, u.category FROM quotas_quota_units qu JOIN units_unit u ON u.id = qu.unit_id
    WHERE {where}
"""


def _pace_status(*, task: int, completed: int, due_by_today: int, year: int, today: dt.date) -> str:
    """A jurisdiction's status: done, overdue after the year, else behind or on track by what is due."""
    if task and completed >= task:
        return DONE
    if today > dt.date(year, 12, 31):
        return OVERDUE if task else DONE
    if today < dt.date(year, 1, 1) or not due_by_today:
        return ON_TRACK if completed or not task else NOT_STARTED
    return ON_TRACK if completed >= due_by_today else BEHIND


def _figures(task: int, completed: int, blood_units: Decimal, on_time: int) -> dict:
    return {
        "task": task,
        "completed": completed,
        "blood_units": float(blood_units),
        "on_time": min(on_time, completed),
        "rate": round(completed / task, 4) if task else None,
        "shortfall": max(task - completed, 0),
    }


def _quota_rows(plan_ids: list[int], year: int, today: dt.date) -> list[dict]:
    """Every quota of these plans: unit quotas with their completed, on-time and status, and
    quotas to sub-jurisdictions (`sub_jurisdiction` set: target and due date only). One query."""
    if not plan_ids:
        return []
    params = {"year_start": dt.date(year, 1, 1), "year_end": dt.date(year, 12, 31)}
    if connection.vendor == "postgresql":  # one array parameter: 3,000 literals plan much slower
        sql = _UNIT_QUOTAS_SQL.replace("{plans}", "p.id = ANY(%(plans)s)")
        params["plans"] = list(plan_ids)
    else:
        params |= {f"plan{i}": pk for i, pk in enumerate(plan_ids)}
        sql = _UNIT_QUOTAS_SQL.replace(
            "{plans}", f"p.id IN ({', '.join(f'%(plan{i})s' for i in range(len(plan_ids)))})"
        )
    raw = fetch(sql, params)
    rows = []
    pools: dict[tuple, list[dict]] = defaultdict(list)
    for qid, plan_id, target, start, end, advisory, sub_id, lo, hi, n, total, persons, units, by_due in raw:
        start, end = as_date(start), as_date(end)
        row = {
            "id": qid,
            "plan_id": plan_id,
            "target": target,
            "start": start,
            "due": end or dt.date(year, 12, 31),
            "advisory": bool(advisory),
            "sub_jurisdiction": sub_id,
            "group": (n or 0) > 1,
            "persons": int(persons),
            "blood_units": Decimal(str(units)),
            "by_due": int(by_due),
        }
        rows.append(row)
        if sub_id is None:
            pools[(lo, hi, n, total) if n else ("quota", qid)].append(row)
    # Quotas of the same units draw on the same donations, earliest due first (selectors.quota_progress).
    for pool in pools.values():
        pool.sort(key=lambda r: (r["due"], r["id"]))
        available = pool[0]["persons"]
        taken_before = 0
        for row in pool:
            row["completed"] = min(available, row["target"])
            available -= row["completed"]
            row["on_time"] = max(min(row["by_due"] - taken_before, row["target"]), 0)
            taken_before += row["target"]
        pool[-1]["completed"] += max(available, 0)
    for row in rows:
        if row["sub_jurisdiction"] is not None:
            continue
        row["status"] = quota_status(
            target=row["target"],
            completed=row["completed"],
            start=row["start"],
            end=row["due"],
            year=year,
            today=today,
        )
        row["shortfall"] = max(row["target"] - row["completed"], 0)
        row["rate"] = round(row["completed"] / row["target"], 4) if row["target"] else 1.0
    return rows


def dashboard_figures(*, jurisdiction: Jurisdiction | None, year: int, today: dt.date) -> dict:
    """The whole dashboard for a jurisdiction (None: everything) and year, as JSON-ready data."""
    prefix = jurisdiction.path if jurisdiction else "/"
    depth = prefix.count("/") - 1  # segments in the prefix: children have depth + 1
    year_start, year_end = dt.date(year, 1, 1), dt.date(year, 12, 31)

    under = prefix + "%"  # paths hold digits and slashes only: nothing to escape

    # 1. The subtree's jurisdictions.
    tree = {
        pk: {"id": pk, "name": name, "level": level, "path": path}
        for pk, name, level, path in fetch(_TREE_SQL, [under])
    }

    # 2. Published plans of the year in the subtree.
    plans = dict(fetch(_PLANS_SQL, [year, AnnualPlan.Status.DRAFT.value, under]))
    planned = {jid: pk for pk, jid in plans.items()}

    own_plan = planned.get(jurisdiction.pk) if jurisdiction else None

    # 4. Counted donations per jurisdiction and month: kept sums, recomputed from the tally for
    # jurisdictions whose donations changed. 5. Every plan's quotas, summarised the same way.
    version = current_version()

    def monthly_from_tally(stale: list[int] | None):
        rows = DonationTally.objects.filter(day__gte=year_start, day__lte=year_end)
        if stale is None:
            rows = rows.filter(unit__jurisdiction__path__startswith=prefix)
        else:
            rows = rows.filter(unit__jurisdiction_id__in=stale)
        return (
            rows.values_list(F("unit__jurisdiction_id"), ExtractMonth("day"))
            .annotate(p=Sum("persons"), u=Sum("blood_units"))
            .order_by()
        )

    months = jurisdiction_months(list(tree), prefix=prefix, year=year, version=version, compute=monthly_from_tally)
    done_by_month = {jid: persons for jid, (persons, _) in months.items()}
    units_by_jur = {jid: units for jid, (_, units) in months.items()}

    summaries = plan_summaries(
        sorted(plans), year=year, today=today, version=version, compute=lambda stale: _quota_rows(stale, year, today)
    )
    # 3. Non-advisory targets per plan and due month (summary["due"]), and what the page's own
    # plan allocates to each sub-jurisdiction: kept in the summaries (a quota edit marks its plan).
    allocated = dict(summaries[own_plan]["allocated"]) if own_plan else {}

    # Roll-ups: the headline sums the whole subtree; each drill-down line sums the subtree of one
    # child (the jurisdiction at depth + 1 on a member's path). One pass over jurisdictions and
    # one over plans, whatever the number of lines.
    chains = {jid: [int(seg) for seg in node["path"].strip("/").split("/")] for jid, node in tree.items()}

    def line_of(chain: list[int]) -> int | None:
        """The drill-down line a jurisdiction (or plan) on this path belongs to; None: the page's own."""
        return chain[depth] if len(chain) > depth else None

    lines: dict[int | None, dict] = defaultdict(
        lambda: {
            "done": [0] * 12,
            "due": [0] * 12,
            "blood_units": Decimal(0),
            "on_time": 0,
            "counts": dict.fromkeys(STATUS_ORDER, 0),
        }
    )
    headline_due = [0] * 12
    for jid, chain in chains.items():
        if jid not in done_by_month:
            continue
        line = lines[line_of(chain)]
        for i, n in enumerate(done_by_month[jid]):
            line["done"][i] += n
        line["blood_units"] += units_by_jur[jid]
    for plan_id, summary in summaries.items():
        chain = chains[plans[plan_id]]
        line = lines[line_of(chain)]
        line["on_time"] += summary["on_time"]
        for status, n in summary["counts"].items():
            line["counts"][status] += n
        # A plan makes the task of a jurisdiction at n segments (its own, else the topmost plans
        # below it) when no jurisdiction from there down to the plan's (exclusive) plans: when the
        # deepest planning jurisdiction above the plan's lies above n.
        deepest_planning_above = max((i for i, a in enumerate(chain[:-1], start=1) if a in planned), default=0)
        if deepest_planning_above < max(depth, 1):
            for i, n in enumerate(summary["due"]):
                headline_due[i] += n
        if len(chain) > depth and deepest_planning_above < depth + 1:
            for i, n in enumerate(summary["due"]):
                line["due"][i] += n

    def node_summary(rolled: dict, monthly_due: list[int]) -> dict:
        monthly_done = rolled["done"]
        task, completed = sum(monthly_due), sum(monthly_done)
        due_by_today = sum(n for i, n in enumerate(monthly_due) if dt.date(year, i + 1, 1) <= today)
        if today.year == year:  # the current month is due only at its end
            due_by_today -= monthly_due[today.month - 1] if today.day < 28 else 0
        summary = _figures(task, completed, rolled["blood_units"], rolled["on_time"])
        summary.update(
            status=_pace_status(task=task, completed=completed, due_by_today=due_by_today, year=year, today=today),
            status_counts=rolled["counts"],
            monthly_due=monthly_due,
            monthly_done=monthly_done,
        )
        summary["status_label"] = str(STATUS_LABELS[summary["status"]])
        return summary

    whole = lines.default_factory()
    for rolled in lines.values():
        for i in range(12):
            whole["done"][i] += rolled["done"][i]
        whole["blood_units"] += rolled["blood_units"]
        whole["on_time"] += rolled["on_time"]
        for status, n in rolled["counts"].items():
            whole["counts"][status] += n
    headline = node_summary(whole, headline_due)
    children = []
    for node in sorted(tree.values(), key=lambda n: n["path"]):
        if node["path"].count("/") - 1 != depth + 1:
            continue
        rolled = lines[node["id"]]
        line = node_summary(rolled, rolled["due"])
        line.update(id=node["id"], name=node["name"], level=node["level"], allocated=allocated.get(node["id"]))
        line.pop("monthly_due")
        line.pop("monthly_done")
        children.append(line)

    # 6. The lists over all plans, and the page's own plan's unit table (computed afresh).
    lists = merge(summaries.values())
    overdue, shortfalls, shown_this_month = lists["overdue"], lists["shortfalls"], lists["this_month"]
    own_rows = [r for r in _quota_rows([own_plan], year, today) if r["sub_jurisdiction"] is None] if own_plan else []
    truncated = len(own_rows) > UNIT_TABLE_LIMIT
    own_rows = sorted(own_rows, key=lambda r: r["id"])[:UNIT_TABLE_LIMIT]
    shown = {r["id"]: r for r in [*own_rows, *overdue, *shortfalls, *shown_this_month]}
    labels = {}
    if shown:
        where, params = any_of("q.id", shown)
        labels = {pk: rest for pk, *rest in fetch(_LABELS_SQL.format(where=where), params)}
    categories: dict[int, list[str]] = defaultdict(list)
    names: dict[int, list[str]] = defaultdict(list)
    if own_rows:  # 7. Members and categories of the unit table's quotas.
        where, params = any_of("qu.quota_id", [r["id"] for r in own_rows])
        for qid, name, category in fetch(_MEMBERS_SQL.format(where=where), params):
            names[qid].append(name)
            categories[qid].append(category)
    # Labels translated once per page, not once per row (a lazy label costs a lookup each time).
    category_labels = {value: str(label) for value, label in Unit.Category.choices}
    status_labels = {status: str(label) for status, label in STATUS_LABELS.items()}

    def present(row: dict) -> dict:
        label, period_text, seq, jname = labels[row["id"]]
        cats = sorted(set(categories.get(row["id"], [])))
        return {
            "id": row["id"],
            "label": label,
            "jurisdiction": jname,
            "members": sorted(names.get(row["id"], [])),
            "category": cats[0] if cats else "",
            "category_label": category_labels.get(cats[0], "") if cats else "",
            "target": row["target"],
            "completed": row["completed"],
            "on_time": row["on_time"],
            "blood_units": float(row["blood_units"]),
            "rate": row["rate"],
            "shortfall": row["shortfall"],
            "period_text": period_text,
            "due": row["due"].isoformat(),
            "seq": seq,
            "status": row["status"],
            "status_label": status_labels[row["status"]],
            "advisory": row["advisory"],
            "group": row["group"],
        }

    return {
        "year": year,
        "as_of": today.isoformat(),
        "jurisdiction": {"id": jurisdiction.pk, "name": jurisdiction.name, "path": jurisdiction.path}
        if jurisdiction
        else None,
        "has_own_plan": bool(own_plan),
        "headline": headline,
        "children": children,
        "units": [present(r) for r in own_rows],
        "units_truncated": truncated,
        "overdue": [present(r) for r in overdue],
        "overdue_total": lists["overdue_total"],
        "shortfalls": [present(r) for r in shortfalls],
        "this_month": [present(r) for r in shown_this_month],
        "this_month_total": lists["this_month_total"],
    }


def warm(*, today: dt.date) -> list[int]:
    """Compute and keep the summaries of every plan and the monthly sums of every jurisdiction,
    for each year with a published or closed plan. A recount of the tally invalidates them all;
    warming right after it means the first reader of the national page does not wait for the
    whole country to be summed (seconds at national scale). Returns the years warmed."""
    years = (
        AnnualPlan.objects.exclude(status=AnnualPlan.Status.DRAFT)
        .order_by("year")
        .values_list("year", flat=True)
        .distinct()
    )
    warmed = list(years)
    for year in warmed:
        dashboard_figures(jurisdiction=None, year=year, today=today)
    return warmed


def filter_and_sort_units(units: list[dict], *, category: str = "", status: str = "", sort: str = "seq") -> list[dict]:
    """The unit table as the reader asked: by category and status, sorted by rate, shortfall or due date."""
    rows = [u for u in units if (not category or u["category"] == category) and (not status or u["status"] == status)]
    key = SORTS.get(sort, SORTS["seq"])
    return sorted(rows, key=key)

"""The leadership dashboard's figures for one jurisdiction and year, in a fixed number of queries.

Every rule — what a task is, what counts as completed and on time, a quota's or a jurisdiction's
status, the lists' order — is `campaigns.counting`'s. This module fetches what the rules read
(the subtree, its plans, each plan's kept summary and each jurisdiction's kept monthly sums,
recomputed where stale: campaigns/dashboard/kept.py), hands it to `counting.roll_up`, and lays the
result out as plain JSON-ready data for the page, the Excel export and the bulletins (a bulletin
stores it as it is). Queries: a fixed number whatever the number of units and jurisdictions
(pinned by `test_queries_do_not_grow_with_units_or_jurisdictions`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, F, Sum
from django.db.models.functions import ExtractMonth

from quotas.models import AnnualPlan
from units.models import Jurisdiction, Unit

from .. import counting
from ..counting.jurisdictions import JurisdictionTree, Line
from ..counting.plans import summarise_plan
from ..models import Donation, DonationTally
from ..selectors import ALL, STATUS_LABELS, VERIFIED, quota_figures, quota_figures_by_basis
from ..sql import any_of, fetch
from .kept import current_version, jurisdiction_months, plan_summaries

STATUS_ORDER = list(counting.QUOTA_STATUSES)
UNIT_TABLE_LIMIT = 1000
SORTS = {
    "rate": lambda r: (r["rate"], -r["shortfall"]),
    "shortfall": lambda r: (-r["shortfall"], r["rate"]),
    "due": lambda r: (r["due"], r["rate"]),
    "seq": lambda r: (r["seq"] is None, r["seq"] or 0, r["id"]),
}

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
# Station-verified donations per jurisdiction (own units) of the year, kept by triggers (0020).
_VERIFIED_SQL = """
    SELECT t.jurisdiction_id, t.persons FROM campaigns_verifiedtally t
    JOIN units_jurisdiction j ON j.id = t.jurisdiction_id WHERE t.year = %s AND j.path LIKE %s AND t.persons <> 0
"""
_MEMBERS_SQL = """
    SELECT qu.quota_id, u.name, u.category FROM quotas_quota_units qu JOIN units_unit u ON u.id = qu.unit_id
    WHERE {where}
"""


def _line(line: Line, status_labels: dict[str, str]) -> dict:
    """A line (the headline, a child, the page's own units) as the page and the export read it."""
    return {
        "task": line.task,
        "completed": line.completed,
        "blood_units": float(line.blood_units),
        "on_time": line.on_time,
        "rate": line.rate,
        "shortfall": line.shortfall,
        "status": line.status,
        "status_label": status_labels[line.status],
        "status_counts": dict(line.status_counts),
        "has_plan": bool(line.plans),
    }


def _verified_months(prefix: str, year: int, jurisdiction_ids) -> dict[int, tuple[list[int], Decimal]]:
    """Station-verified counted donations by each jurisdiction's own units in `year`: (persons
    per month, blood units), as `jurisdiction_months` returns the kept sums of every donation.
    Summed from the donations (nothing keeps them per month). One query."""
    months = {pk: ([0] * 12, Decimal(0)) for pk in jurisdiction_ids}
    rows = (
        Donation.objects.counted()
        .filter(
            station_verified=True,
            donated_on__gte=dt.date(year, 1, 1),
            donated_on__lte=dt.date(year, 12, 31),
            unit__jurisdiction__path__startswith=prefix,
        )
        .values_list(F("unit__jurisdiction_id"), ExtractMonth("donated_on"))
        .annotate(p=Count("id"), u=Sum("blood_units"))
        .order_by()
    )
    for pk, month, persons, units in rows:
        if pk in months:
            done, total = months[pk]
            done[month - 1] = persons
            months[pk] = (done, total + Decimal(str(units or 0)))
    return months


def _present(row: dict, labels: dict, names: dict, categories: dict, labels_of: dict, *, verified=None) -> dict:
    """A quota's row of the unit table or a list, as the page and the export read it."""
    label, period_text, seq, jname = labels[row["id"]]
    cats = sorted(set(categories.get(row["id"], [])))
    return {
        "id": row["id"],
        "label": label,
        "jurisdiction": jname,
        "members": sorted(names.get(row["id"], [])),
        "category": cats[0] if cats else "",
        "category_label": labels_of["category"].get(cats[0], "") if cats else "",
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
        "status_label": labels_of["status"][row["status"]],
        "advisory": row["advisory"],
        "group": row["group"],
    } | (
        {"verified": verified, "verified_share": verified / row["completed"] if row["completed"] else None}
        if verified is not None
        else {}
    )


def _as_row(figures: counting.QuotaFigures) -> dict:
    return {
        "id": figures.id,
        "target": figures.target,
        "completed": figures.completed,
        "on_time": figures.on_time,
        "blood_units": figures.blood_units,
        "rate": figures.rate,
        "shortfall": figures.shortfall,
        "due": figures.due,
        "status": figures.status,
        "advisory": figures.advisory,
        "group": figures.group,
    }


def _verified_basis(prefix: str, year: int, today: dt.date, tree: dict, plans: dict, own_plan):
    """Months, plan summaries and the own plan's rows over the station-verified donations only,
    computed afresh (nothing is kept for that basis)."""
    months = _verified_months(prefix, year, tree)
    own_rows, summaries = {}, {}
    if plans:
        fresh = quota_figures(sorted(plans), year=year, today=today, basis=VERIFIED)
        rows_by_plan: dict[int, list] = {pk: [] for pk in plans}
        for row in fresh.values():
            rows_by_plan[row.plan_id].append(row)
        summaries = {pk: summarise_plan(rows, year=year, today=today)[0] for pk, rows in rows_by_plan.items()}
        own_rows = {pk: row for pk, row in fresh.items() if row.plan_id == own_plan}
    return months, summaries, own_rows


def _kept_basis(jurisdiction, prefix: str, year: int, today: dt.date, tree: dict, plans: dict, own_plan, budget):
    """Months and plan summaries of every reported donation, kept (campaigns/dashboard/kept.py) and
    recomputed where stale within `budget`; the own plan's rows on both bases (its unit table
    and its station-verified column); since when the figures shown are behind, if they are."""
    year_start, year_end = dt.date(year, 1, 1), dt.date(year, 12, 31)

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

    version = current_version()
    months, months_behind = jurisdiction_months(
        list(tree),
        prefix=prefix,
        year=year,
        version=version,
        compute=monthly_from_tally,
        budget=None if budget is None else settings.DASHBOARD_RECOMPUTE_JURISDICTIONS,
        exact=[jurisdiction.pk] if jurisdiction else [],
    )
    # The page's own plan is computed afresh for its unit table (with its station-verified
    # column: the same quotas on the VERIFIED basis); a stale summary of it reuses that.
    if own_plan:
        both = quota_figures_by_basis([own_plan], year=year, today=today, bases=(ALL, VERIFIED))
        own_rows, own_verified = both[ALL], both[VERIFIED]
    else:
        own_rows = own_verified = {}

    def compute(stale: list[int]):
        others = [pk for pk in stale if pk != own_plan]
        fresh = quota_figures(others, year=year, today=today) if others else {}
        return [*fresh.values(), *(own_rows.values() if own_plan in stale else ())]

    kept = plan_summaries(
        sorted(plans), year=year, today=today, version=version, compute=compute, budget=budget, exact=[own_plan]
    )
    behind_since = min((t for t in (kept.behind_since, months_behind) if t is not None), default=None)
    return months, kept.summaries, own_rows, own_verified, behind_since


def _lines(rolled, *, tree: dict, prefix: str, year: int, jurisdiction, own_plan, status_labels: dict) -> dict:
    """The headline, the drill-down lines (children, then the page's own units) and their 合计,
    each with its station-verified count: kept per jurisdiction and year (a few thousand rows for
    the country), added up per line as the completed figures are: a line's subtree."""
    under = prefix + "%"
    verified_by_path = {tree[pk][2]: n for pk, n in fetch(_VERIFIED_SQL, [year, under]) if pk in tree}

    def verified(path: str, completed: int, *, own_only: bool = False) -> dict:
        n = (
            verified_by_path.get(path, 0)
            if own_only
            else sum(v for p, v in verified_by_path.items() if p.startswith(path))
        )
        return {"verified": n, "verified_share": n / completed if completed else None}

    children = []
    for pk, line in rolled.children.items():
        name, level, path = tree[pk]
        children.append(
            _line(line, status_labels)
            | {"id": pk, "name": name, "level": level, "allocated": rolled.allocated.get(pk)}
            | verified(path, line.completed)
        )
    headline = (
        _line(rolled.headline, status_labels)
        | {"monthly_due": rolled.headline.monthly_due, "monthly_done": rolled.headline.monthly_done}
        | verified(prefix, rolled.headline.completed)
    )
    own = None  # the page's own units: shown when it has a plan of its own or they donated
    if jurisdiction is not None and (own_plan or rolled.own.completed):
        own = (
            _line(rolled.own, status_labels)
            | {"allocated": rolled.own.task if own_plan else None}
            | verified(prefix, rolled.own.completed, own_only=True)
        )
    # The lines' table ends with a 合计 equal to the headline: the allocations (and the own units'
    # task) add up to the own plan's task; the lines' shortfalls add up to something else, shown
    # apart and labelled (a line done beyond its task makes up for no other).
    lines = [*children, *([own] if own else [])]
    allocations = [line["allocated"] for line in lines if line["allocated"] is not None]
    lines_totals = {
        "allocated": sum(allocations) if allocations else None,
        "shortfall": sum(line["shortfall"] for line in lines),
    }
    return {"headline": headline, "children": children, "own": own, "lines_totals": lines_totals}


def _quota_tables(summaries: dict, own_rows: dict, verified_rows: dict, status_labels: dict) -> dict:
    """The lists over all plans (overdue, shortfalls, due this month) and the page's own plan's
    unit table with its station-verified column, labelled and with their member units."""
    lists = counting.merge_lists(summaries.values())
    unit_rows = [r for r in own_rows.values() if r.sub_jurisdiction is None]
    totals = counting.quota_totals(unit_rows)
    if unit_rows:
        totals["verified"] = counting.quota_totals(verified_rows[r.id] for r in unit_rows)["completed"]
        totals["verified_share"] = totals["verified"] / totals["completed"] if totals["completed"] else None
    truncated = len(unit_rows) > UNIT_TABLE_LIMIT
    unit_rows = sorted(unit_rows, key=lambda r: r.id)[:UNIT_TABLE_LIMIT]
    listed = [*lists["overdue"], *lists["shortfalls"], *lists["this_month"]]
    shown = {r.id for r in unit_rows} | {r["id"] for r in listed}
    labels = {}
    if shown:
        where, params = any_of("q.id", shown)
        labels = {pk: rest for pk, *rest in fetch(_LABELS_SQL.format(where=where), params)}
    categories: dict[int, list[str]] = defaultdict(list)
    names: dict[int, list[str]] = defaultdict(list)
    if unit_rows:  # members and categories of the unit table's quotas
        where, params = any_of("qu.quota_id", [r.id for r in unit_rows])
        for qid, name, category in fetch(_MEMBERS_SQL.format(where=where), params):
            names[qid].append(name)
            categories[qid].append(category)
    labels_of = {"status": status_labels, "category": {value: str(label) for value, label in Unit.Category.choices}}

    def present(row: dict, **verified) -> dict:
        return _present(row, labels, names, categories, labels_of, **verified)

    return {
        "units": [present(_as_row(r), verified=verified_rows[r.id].completed) for r in unit_rows],
        "units_totals": totals,
        "units_truncated": truncated,
        "overdue": [present(r) for r in lists["overdue"]],
        "overdue_total": lists["overdue_total"],
        "shortfalls": [present(r) for r in lists["shortfalls"]],
        "this_month": [present(r) for r in lists["this_month"]],
        "this_month_total": lists["this_month_total"],
    }


def dashboard_figures(
    *, jurisdiction: Jurisdiction | None, year: int, today: dt.date, budget: int | None = None, basis: str = ALL
) -> dict:
    """The whole dashboard for a jurisdiction (None: everything) and year, as JSON-ready data.

    `basis` (`campaigns.selectors`): ALL counts every reported donation, from the kept figures;
    VERIFIED only the station-verified ones, by the same rules, computed afresh for every plan
    and jurisdiction of the page (kept summaries exist for ALL only, and are neither read nor
    written): one query for the months, two for all the plans' quotas, instead of the marks and
    the kept rows.

    `budget`: the most quotas of stale plans this call recomputes itself (the page passes
    `settings.DASHBOARD_RECOMPUTE_QUOTAS`); beyond it, other plans' last kept summaries are used
    and `behind_since` says since when. None: every figure exact (exports, bulletins, refresher).
    The page's own plan is always exact: its unit table is computed anyway.
    """
    prefix = jurisdiction.path if jurisdiction else "/"
    under = prefix + "%"  # paths hold digits and slashes only: nothing to escape

    # The subtree's jurisdictions and its published (or closed) plans of the year.
    tree = {pk: (name, level, path) for pk, name, level, path in fetch(_TREE_SQL, [under])}
    plans = dict(fetch(_PLANS_SQL, [year, AnnualPlan.Status.DRAFT.value, under]))
    planned = {jid: pk for pk, jid in plans.items()}
    own_plan = planned.get(jurisdiction.pk) if jurisdiction else None

    # Counted donations per jurisdiction and month, and every plan's summary.
    if basis == VERIFIED:
        months, summaries, own_rows = _verified_basis(prefix, year, today, tree, plans, own_plan)
        verified_rows, behind_since = own_rows, None  # on this basis, completed is the verified figure
    elif basis == ALL:
        months, summaries, own_rows, verified_rows, behind_since = _kept_basis(
            jurisdiction, prefix, year, today, tree, plans, own_plan, budget
        )
    else:
        raise ValueError(f"unknown basis {basis!r}")
    rolled = counting.roll_up(
        tree=JurisdictionTree(root_path=prefix, paths={pk: path for pk, (_, _, path) in tree.items()}),
        plans=plans,
        summaries=summaries,
        months=months,
        own_plan=own_plan,
        year=year,
        today=today,
    )
    # Labels translated once per page, not once per row (a lazy label costs a lookup each time).
    status_labels = {status: str(label) for status, label in STATUS_LABELS.items()}
    return (
        {
            "year": year,
            "basis": basis,
            "as_of": today.isoformat(),
            "behind_since": behind_since.isoformat() if behind_since else None,
            "jurisdiction": {"id": jurisdiction.pk, "name": jurisdiction.name, "path": jurisdiction.path}
            if jurisdiction
            else None,
            "has_own_plan": bool(own_plan),
        }
        | _lines(
            rolled,
            tree=tree,
            prefix=prefix,
            year=year,
            jurisdiction=jurisdiction,
            own_plan=own_plan,
            status_labels=status_labels,
        )
        | _quota_tables(summaries, own_rows, verified_rows, status_labels)
    )


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
    with _refresh_work_mem():
        for year in warmed:
            dashboard_figures(jurisdiction=None, year=year, today=today)
    return warmed


# A whole country's summaries sort ~100,000 quotas' rows: at PostgreSQL's default 4 MB those
# sorts spill to disk. 16 MB made a refresh ~9 % faster, alternating with the default, and
# changed no page view (docs/performance.md, "Settings"); only the refresh asks for it, so the
# web workers' connections keep the server's setting.
REFRESH_WORK_MEM = "16MB"


@contextmanager
def _refresh_work_mem():
    """`work_mem` raised to REFRESH_WORK_MEM for the refresh (never lowered: a server set higher
    keeps its own), then set back to what it was."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('work_mem'), pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s)",
            [REFRESH_WORK_MEM],
        )
        before, lower = cursor.fetchone()
        if lower:
            cursor.execute("SELECT set_config('work_mem', %s, false)", [REFRESH_WORK_MEM])
    try:
        yield
    finally:
        if lower:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('work_mem', %s, false)", [before])
            except DatabaseError:
                # The refresh failed inside the caller's transaction, now aborted: its rollback
                # undoes the setting too, and the refresh's own error is the one to raise.
                pass


def filter_and_sort_units(units: list[dict], *, category: str = "", status: str = "", sort: str = "seq") -> list[dict]:
    """The unit table as the reader asked: by category and status, sorted by rate, shortfall or due date."""
    rows = [u for u in units if (not category or u["category"] == category) and (not status or u["status"] == status)]
    key = SORTS.get(sort, SORTS["seq"])
    return sorted(rows, key=key)


def plan_completed(plan: AnnualPlan, today: dt.date) -> tuple[dict[int, int], dict[int, int]]:
    """One plan's completed figures as every page shows them, for drafting next year's plan
    (registered with `quotas.drafting.selectors` in CampaignsConfig.ready): each quota's completed
    by quota id, and each sub-jurisdiction's drill-down line (its whole subtree) by its id."""
    by_quota = {pk: f.completed for pk, f in quota_figures([plan.pk], year=plan.year, today=today).items()}
    by_child = {}
    if plan.quotas.filter(sub_jurisdiction__isnull=False).exists():
        lines = dashboard_figures(jurisdiction=plan.jurisdiction, year=plan.year, today=today)["children"]
        by_child = {line["id"]: line["completed"] for line in lines}
    return by_quota, by_child

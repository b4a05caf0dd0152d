"""Reads for progress: the rows the counting core (`campaigns.counting`) needs, fetched and summed.

`quota_figures` is the only way any page, export or kept summary gets a quota's figures: it
fetches the quotas' terms and, per quota, the counted donations of every unit that may count
toward it (members and their subordinate units, from the tally), and hands them to
`counting.count_quotas`, which applies the rules. The liaison's cards (`liaison_progress`) and
the dashboard (fresh, kept, unit table, lists, export, bulletins) all come through here.

The two statements are plain SQL: they run for every dashboard view that recomputes a plan and
for the county page's unit table, where the ORM's query building cost more than the query
(docs/performance.md). Table names come from the models.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quotas.models import AnnualPlan, Quota
from units.models import Unit

from . import counting
from .models import Donation, DonationTally
from .sql import any_of_named, as_date, fetch

STATUS_LABELS = {
    counting.DONE: _("已完成"),
    counting.ON_TRACK: _("进度正常"),
    counting.BEHIND: _("进度落后"),
    counting.OVERDUE: _("已逾期"),
    counting.NOT_STARTED: _("未开始"),
    counting.NO_PLAN: _("无计划"),
    counting.NO_TASK: _("无任务"),
}

_QUOTA = Quota._meta.db_table
_MEMBERS = Quota.units.through._meta.db_table
_UNIT = Unit._meta.db_table
_TALLY = DonationTally._meta.db_table
_DONATION = Donation._meta.db_table

# A figure's basis: which donations it counts. The rules (campaigns.counting) are the same for
# every basis; only the rows they are handed differ.
#   ALL      every counted donation as units reported it (the default), from the tally kept by
#            triggers — the only basis whose plan summaries and monthly sums are kept;
#   VERIFIED only the counted donations a blood-station collection record verified
#            (`Donation.station_verified`, written by stations), summed from the donations
#            themselves: no tally keeps them per unit and day. One donation is one person, as in
#            the tally.
ALL, VERIFIED = "all", "verified"
BASES = (ALL, VERIFIED)
_SOURCES = {
    ALL: _TALLY,
    VERIFIED: f"""(SELECT unit_id, donated_on AS day, 1 AS persons, blood_units FROM {_DONATION}
                  WHERE station_verified AND status <> '{Donation.Status.REJECTED.value}')""",  # noqa: S608
}
_SOURCE = "{source}"  # where a statement reads (unit_id, day, persons, blood_units) rows from

# The quotas asked for: those of some plans, optionally only those with one of some units among
# their members (a set closed under pools: a pool's quotas have the same members).
_SELECTED = "{plans}{units}"
_WITH_UNITS = f" AND q.id IN (SELECT quota_id FROM {_MEMBERS} WHERE {{units}})"  # noqa: S608

_TERMS_SQL = f"""
    SELECT q.id, q.plan_id, q.year, q.target, q.period_start, q.period_end, q.advisory, q.sub_jurisdiction_id,
           qu.unit_id
    FROM {_QUOTA} q LEFT JOIN {_MEMBERS} qu ON qu.quota_id = q.id
    WHERE {_SELECTED}
"""  # noqa: S608

# Per quota, the counted donations of each unit that may count toward it: its members and their
# subordinate units, each with its parent and whether it holds a quota of its own in the plan.
# Which of them count is the counting core's decision (counting.quotas.credits).
_DONOR_SUMS_TEMPLATE = f"""
WITH q AS (
    SELECT q.id, q.plan_id, q.period_end FROM {_QUOTA} q WHERE {_SELECTED}
),
m AS (
    SELECT qu.quota_id, qu.unit_id, q.plan_id, q.period_end FROM {_MEMBERS} qu JOIN q ON q.id = qu.quota_id
),
donors AS (
    SELECT quota_id, plan_id, period_end, unit_id AS donor FROM m
    UNION
    SELECT m.quota_id, m.plan_id, m.period_end, u.id FROM m JOIN {_UNIT} u ON u.parent_id = m.unit_id
),
sums AS (
    SELECT d.quota_id, d.plan_id, d.donor,
           SUM(t.persons) AS persons,
           SUM(t.blood_units) AS blood_units,
           SUM(CASE WHEN t.day <= COALESCE(d.period_end, %(year_end)s) THEN t.persons ELSE 0 END) AS by_due
    FROM donors d
    JOIN {_SOURCE} t ON t.unit_id = d.donor AND t.day >= %(year_start)s AND t.day <= %(year_end)s
    GROUP BY d.quota_id, d.plan_id, d.donor
)
SELECT s.quota_id, s.donor, u.parent_id,
       EXISTS (SELECT 1 FROM {_MEMBERS} own JOIN {_QUOTA} oq ON oq.id = own.quota_id
               WHERE own.unit_id = s.donor AND oq.plan_id = s.plan_id),
       s.persons, s.blood_units, s.by_due
FROM sums s JOIN {_UNIT} u ON u.id = s.donor
"""  # noqa: S608
_DONOR_SUMS_SQL = _DONOR_SUMS_TEMPLATE.replace(_SOURCE, _SOURCES[ALL])  # the all-reported basis, from the tally


def _decimal(value) -> Decimal:
    """A summed DECIMAL column: a Decimal on PostgreSQL, a float on SQLite (blood units are
    multiples of 0.5, exact in binary)."""
    return Decimal(str(value or 0)).quantize(counting.quotas.TENTH)


def quota_figures(
    plan_ids, *, year: int, today: dt.date, unit_ids=None, basis: str = ALL
) -> dict[int, counting.QuotaFigures]:
    """The figures of the quotas of these plans of `year` — all of them, or only those with one of
    `unit_ids` among their members — by quota id, counting the donations of `basis` (ALL or
    VERIFIED) by the same rules. Two queries."""
    source = _SOURCES[basis]  # KeyError for an unknown basis: never a silent default
    plans_sql, params = any_of_named("q.plan_id", "plans", plan_ids)
    units_sql = ""
    if unit_ids is not None:
        where, unit_params = any_of_named("unit_id", "units", unit_ids)
        units_sql, params = _WITH_UNITS.format(units=where), params | unit_params
    selected = _SELECTED.format(plans=plans_sql, units=units_sql)
    members: dict[int, set[int]] = defaultdict(set)
    terms_rows = {}
    for qid, plan_id, q_year, target, start, end, advisory, sub_id, unit_id in fetch(
        _TERMS_SQL.replace(_SELECTED, selected), params
    ):
        terms_rows[qid] = (plan_id, q_year, target, start and as_date(start), end and as_date(end), advisory, sub_id)
        if unit_id is not None:
            members[qid].add(unit_id)
    if not terms_rows:
        return {}
    terms = [
        counting.QuotaTerms(
            id=qid,
            plan_id=plan_id,
            year=q_year,
            target=target,
            start=start,
            end=end,
            advisory=bool(advisory),
            members=frozenset(members[qid]),
            sub_jurisdiction=sub_id,
        )
        for qid, (plan_id, q_year, target, start, end, advisory, sub_id) in terms_rows.items()
    ]
    params |= {"year_start": dt.date(year, 1, 1), "year_end": dt.date(year, 12, 31)}
    sums = [
        counting.DonorSums(
            quota_id=qid,
            unit_id=donor,
            parent_id=parent,
            has_own_quota=bool(own),
            persons=int(persons or 0),
            blood_units=_decimal(units),
            by_due=int(by_due or 0),
        )
        for qid, donor, parent, own, persons, units, by_due in fetch(
            _DONOR_SUMS_TEMPLATE.replace(_SOURCE, source).replace(_SELECTED, selected), params
        )
    ]
    return counting.count_quotas(terms, sums, today=today)


@dataclass(frozen=True)
class QuotaProgress:
    """A quota (the model, for its label, period and place) with its figures."""

    quota: Quota
    figures: counting.QuotaFigures

    @property
    def completed(self) -> int:
        return self.figures.completed

    @property
    def on_time(self) -> int:
        return self.figures.on_time

    @property
    def remaining(self) -> int:
        return self.figures.remaining

    @property
    def rate(self) -> float:
        return self.figures.rate

    @property
    def status(self) -> str:
        return self.figures.status

    @property
    def closed(self) -> bool:
        """The plan is closed (已结束): its figures are final."""
        return self.quota.plan.status == AnnualPlan.Status.CLOSED

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.figures.status]


# The liaison's order: what needs doing first — overdue, behind, then due soonest, then done;
# a closed plan's quotas (final figures) after the open ones.
_LIAISON_RANK = {counting.OVERDUE: 0, counting.BEHIND: 1, counting.ON_TRACK: 2, counting.NOT_STARTED: 2}


def quota_progress(quotas: list[Quota], *, today: dt.date | None = None) -> list[QuotaProgress]:
    """Progress of each quota (units prefetched), in the given order: two queries per plan year.

    The figures are the dashboard's: each quota's plan is counted with all its pools, whichever
    quotas were passed in (who is looking never changes a number).
    """
    today = today or timezone.localdate()
    by_year: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas:
        by_year[quota.year].append(quota)
    figures: dict[int, counting.QuotaFigures] = {}
    for year, year_quotas in by_year.items():
        units = {unit.pk for quota in year_quotas for unit in quota.units.all()}
        figures |= quota_figures({q.plan_id for q in year_quotas}, year=year, today=today, unit_ids=units)
        missing = {q.plan_id for q in year_quotas if q.pk not in figures}  # quotas with no member unit
        if missing:
            figures |= quota_figures(missing, year=year, today=today)
    return [QuotaProgress(quota=q, figures=figures[q.pk]) for q in quotas]


def liaison_progress(units, *, today: dt.date, year: int | None = None) -> list[QuotaProgress]:
    """The quotas a liaison's units hold in published or closed plans (of `year`, or every year),
    with their figures: open plans first, latest year first, then overdue, behind, due soonest and
    done (`_LIAISON_RANK`), each by due date."""
    quotas = Quota.objects.filter(
        units__in=list(units), plan__status__in=[AnnualPlan.Status.PUBLISHED, AnnualPlan.Status.CLOSED]
    )
    if year is not None:
        quotas = quotas.filter(year=year)
    quotas = list(
        quotas.distinct()
        .select_related("plan", "plan__jurisdiction")
        .prefetch_related("units")
        .order_by("-year", "period_end", "position", "id")
    )
    progress = quota_progress(quotas, today=today)
    return sorted(progress, key=lambda p: (p.closed, -p.quota.year, _LIAISON_RANK.get(p.status, 3)))


def drives_with_figures(drives):
    """Drives annotated with `expected` (targets of the invited units' quotas whose period meets
    the drive's dates; advisory ones left out) and `logged` (donations recorded for the drive)."""
    from .models import DonationDrive

    # Three levels out: drive_units (here) -> quota_units -> quota -> the drive. Two levels
    # silently compared the drive with the quota's id, which held only while the ids matched.
    invited = DonationDrive.units.through.objects.filter(donationdrive_id=OuterRef(OuterRef(OuterRef("pk")))).values(
        "unit_id"
    )
    due = (
        Quota.objects.filter(
            advisory=False,
            plan_id=OuterRef("plan_id"),
            period_start__lte=OuterRef("end_date"),
            period_end__gte=OuterRef("start_date"),
            pk__in=Quota.units.through.objects.filter(unit_id__in=invited).values("quota_id"),
        )
        .order_by()
        .values("plan_id")
        .annotate(total=Sum("target"))
        .values("total")
    )
    return drives.annotate(
        expected=Coalesce(Subquery(due, output_field=IntegerField()), 0),
        logged=Count("donations", distinct=True),
    )


@dataclass
class DonorHistory:
    """A donor's donations as the reviewing staff member may see them."""

    donations: list  # Donation rows in the staff member's scope, newest first, the reviewed one included
    elsewhere: int  # how many more are in other offices' units (counted by the rules, not shown)


def donor_history(donation, *, user, limit: int = 50) -> DonorHistory:
    """Every donation of the same person (by the ID number's keyed hash): dates, kinds,
    amounts, units, statuses and flags, masked IDs only; another office's are only counted."""
    from units.scope import scope_for

    from .models import Donation

    same = Donation.objects.filter(id_number_hash=donation.id_number_hash)
    visible = scope_for(user).filter(same, "unit__jurisdiction")
    rows = list(visible.select_related("unit").order_by("-donated_on", "-id")[:limit])
    return DonorHistory(donations=rows, elsewhere=same.count() - visible.count())

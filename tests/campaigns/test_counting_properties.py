"""For random jurisdiction trees, plans, quotas, donations, rejections and dates: every quota has the
same figures on its liaison's page and on the dashboard computed afresh; the dashboard's kept
figures after random edits equal a fresh computation; every drill-down line equals its own page.

Random cases include a unit with quotas in a city plan and a county plan, groups that share
members, several quotas of one unit, subordinate units with and without quotas of their own,
advisory quotas, allocations to sub-jurisdictions, draft and closed plans, rejected donations and
donations of another year. `PROPERTY_EXAMPLES` (default 500) sets the number of cases.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.dashboard.figures import dashboard_figures
from campaigns.dashboard.kept import invalidate_all
from campaigns.models import Donation
from campaigns.selectors import liaison_progress
from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction, Unit
from units.naming import normalize_name
from units.services import jurisdiction_save

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "500"))
YEAR = 2026
FIGURES = ("target", "completed", "on_time", "blood_units", "shortfall", "rate", "status")

# The tree: a city (0) with counties 1 and 2, and town 3 under county 1.
PARENTS = {0: None, 1: 0, 2: 0, 3: 1}
days = st.dates(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
periods = st.one_of(
    st.none(),
    st.integers(1, 12).map(lambda m: (dt.date(YEAR, m, 1), dt.date(YEAR, m, 28))),
    st.tuples(days, days).map(sorted).map(tuple),
)
UNITS = 6
units = st.lists(
    st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, UNITS - 1))),  # (jurisdiction, parent unit)
    min_size=UNITS,
    max_size=UNITS,
)
quotas = st.lists(
    st.fixed_dictionaries(
        {
            "plan": st.integers(0, 3),
            "members": st.sets(st.integers(0, UNITS - 1), min_size=1, max_size=3),
            "sub": st.one_of(st.none(), st.integers(1, 3)),
            "target": st.integers(0, 8),
            "period": periods,
            "advisory": st.sampled_from([False] * 6 + [True]),
        }
    ),
    min_size=2,
    max_size=10,
)
donations = st.lists(
    st.tuples(
        st.integers(0, UNITS - 1),
        st.one_of(days, st.just(dt.date(YEAR - 1, 6, 1))),
        st.sampled_from([("whole", 200), ("whole", 300), ("whole", 400), ("platelets", 1), ("platelets", 2)]),
        st.booleans(),  # rejected
    ),
    min_size=4,
    max_size=24,
)
plan_statuses = st.lists(st.sampled_from(["published"] * 3 + ["closed", "draft", None]), min_size=4, max_size=4)
edits = st.lists(
    st.one_of(
        st.tuples(st.just("donate"), st.integers(0, UNITS - 1), days),
        st.tuples(st.just("reject"), st.integers(0, 20)),
        st.tuples(st.just("target"), st.integers(0, 20), st.integers(0, 9)),
        st.tuples(st.just("member"), st.integers(0, 20), st.integers(0, UNITS - 1)),
        st.tuples(st.just("parent"), st.integers(0, UNITS - 1), st.one_of(st.none(), st.integers(0, UNITS - 1))),
        st.tuples(st.just("move"), st.integers(0, UNITS - 1), st.integers(0, 3)),
    ),
    max_size=4,
)
todays = st.one_of(days, st.just(dt.date(YEAR + 1, 1, 1)))

_ids = itertools.count(1)


def _donate(unit: Unit, day: dt.date, kind_amount=("whole", 400), rejected=False) -> Donation:
    kind, amount = kind_amount
    n = next(_ids)
    # Straight to the table (the triggers keep the tally): the ID checks are not what is tested.
    return Donation.objects.create(
        donor_name="甲",
        id_number_encrypted="-",
        id_number_hash=f"h{n}",
        id_number_masked="3604**********0071",
        sex="M",
        birth_date=dt.date(1990, 1, 1),
        unit=unit,
        donated_on=day,
        kind=kind,
        volume_ml=amount if kind == "whole" else None,
        doses=amount if kind == "platelets" else None,
        blood_units=amount / 200 if kind == "whole" else amount,
        status="rejected" if rejected else "logged",
    )


def _build(unit_specs, plan_specs, quota_specs, donation_specs):
    jurisdictions = {}
    for index, parent in PARENTS.items():
        jurisdictions[index] = jurisdiction_save(
            jurisdiction=Jurisdiction(
                name=f"区{next(_ids)}",
                level=Jurisdiction.Level.CITY if parent is None else Jurisdiction.Level.COUNTY,
                parent=jurisdictions[parent] if parent is not None else None,
            )
        )
    made: list[Unit] = []
    for index, (where, parent) in enumerate(unit_specs):
        name = f"单位{next(_ids)}"
        made.append(
            Unit.objects.create(
                name=name,
                normalized_name=normalize_name(name),
                jurisdiction=jurisdictions[where],
                parent=made[parent] if parent is not None and parent < index else None,
            )
        )
    plans = {
        index: AnnualPlan.objects.create(jurisdiction=jurisdictions[index], year=YEAR, status=status)
        for index, status in enumerate(plan_specs)
        if status is not None
    }
    made_quotas = []
    for position, spec in enumerate(quota_specs):
        plan = plans.get(spec["plan"])
        if plan is None:
            continue
        start, end = spec["period"] or (None, None)
        sub = spec["sub"]
        is_allocation = sub is not None and PARENTS[sub] == spec["plan"]
        quota = Quota.objects.create(
            plan=plan,
            year=YEAR,
            label=f"任务{position}",
            target=spec["target"],
            period_start=start,
            period_end=end,
            advisory=spec["advisory"],
            position=position,
            sub_jurisdiction=jurisdictions[sub] if is_allocation else None,
        )
        if not is_allocation:
            quota.units.add(*(made[m] for m in spec["members"] if m < len(made)))
        made_quotas.append(quota)
    for unit, day, kind_amount, rejected in donation_specs:
        if unit < len(made):
            _donate(made[unit], day, kind_amount, rejected)
    return jurisdictions, made, made_quotas


def _edit(edit, made: list[Unit], made_quotas: list[Quota], jurisdictions) -> None:
    kind, *args = edit
    if kind == "donate" and args[0] < len(made):
        _donate(made[args[0]], args[1])
    elif kind == "reject":
        donations = list(Donation.objects.order_by("id"))
        if donations:
            donation = donations[args[0] % len(donations)]
            donation.status = "logged" if donation.status == "rejected" else "rejected"
            donation.save()
    elif kind in ("target", "member") and made_quotas:
        quota = made_quotas[args[0] % len(made_quotas)]
        if kind == "target":
            quota.target = args[1]
            quota.save()
        elif quota.sub_jurisdiction_id is None and args[1] < len(made):
            unit = made[args[1]]
            if quota.units.filter(pk=unit.pk).exists():
                quota.units.remove(unit)
            else:
                quota.units.add(unit)
    elif kind == "parent" and args[0] < len(made):
        unit = made[args[0]]
        parent = made[args[1]] if args[1] is not None and args[1] < len(made) and args[1] != args[0] else None
        if parent is None or parent.parent_id != unit.pk:
            unit.parent = parent
            unit.save()
    elif kind == "move" and args[0] < len(made):
        unit = made[args[0]]
        unit.jurisdiction = jurisdictions[args[1]]
        unit.save()


def _by_the_rules() -> dict[int, tuple[int, int]]:
    """Each counted plan's unit quotas' (completed, on time), by brute force from the donation rows
    themselves (not the tally, not the counting core): the contract of `campaigns.counting`, with
    the donations of a pool handed out one by one in date order to its quotas in due order."""
    counted = sorted(
        (d.donated_on, d.unit_id) for d in Donation.objects.exclude(status="rejected") if d.donated_on.year == YEAR
    )
    parent = dict(Unit.objects.values_list("pk", "parent_id"))
    result = {}
    for plan in AnnualPlan.objects.exclude(status="draft"):
        quotas = [q for q in plan.quotas.prefetch_related("units") if q.sub_jurisdiction_id is None]
        members = {q.pk: frozenset(u.pk for u in q.units.all()) for q in quotas}
        holders = frozenset().union(*members.values())
        pools: dict = {}
        for q in quotas:
            pools.setdefault((members[q.pk] or q.pk), []).append(q)
        for pool in pools.values():
            share = members[pool[0].pk]
            days = [day for day, unit in counted if unit in share or (parent[unit] in share and unit not in holders)]
            handed = 0
            in_due_order = sorted((q for q in pool if not q.advisory), key=lambda q: (q.due_date, q.pk))
            for q in in_due_order:
                taken = days[handed : handed + q.target]
                handed += len(taken)
                result[q.pk] = [len(taken), sum(day <= q.due_date for day in taken)]
            if in_due_order:
                result[in_due_order[-1].pk][0] += len(days) - handed
            for q in pool:
                if q.advisory:
                    result[q.pk] = [len(days), min(sum(day <= q.due_date for day in days), q.target)]
    return {pk: tuple(v) for pk, v in result.items()}


def _fresh(jurisdiction, today):
    invalidate_all()
    return dashboard_figures(jurisdiction=jurisdiction, year=YEAR, today=today)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(units, plan_statuses, quotas, donations, edits, todays)
def test_every_page_gives_every_quota_the_same_figures(
    unit_specs, plan_specs, quota_specs, donation_specs, edit_specs, today
):
    with transaction.atomic():
        jurisdictions, made, made_quotas = _build(unit_specs, plan_specs, quota_specs, donation_specs)
        tree = list(jurisdictions.values())

        # kept figures after random edits equal fresh ones
        for jurisdiction in [*tree, None]:
            dashboard_figures(jurisdiction=jurisdiction, year=YEAR, today=today)
        for edit in edit_specs:
            _edit(edit, made, made_quotas, jurisdictions)
        kept = {j: dashboard_figures(jurisdiction=j, year=YEAR, today=today) for j in [*tree, None]}
        fresh = {j: _fresh(j, today) for j in [*tree, None]}
        for j, page in kept.items():
            assert page == fresh[j], j

        # a drill-down line equals its own page
        by_id = {j.pk: page for j, page in fresh.items() if j is not None}
        for page in fresh.values():
            for line in page["children"]:
                child = by_id[line["id"]]["headline"]
                assert {k: line[k] for k in child if not k.startswith("monthly")} == {
                    k: v for k, v in child.items() if not k.startswith("monthly")
                }

        # every quota on its jurisdiction's page (the dashboard) as the rules say, and on each
        # member's liaison page
        dashboard = {u["id"]: {k: u[k] for k in FIGURES} for page in fresh.values() for u in page["units"]}
        assert {pk: (f["completed"], f["on_time"]) for pk, f in dashboard.items()} == _by_the_rules()
        for unit in Unit.objects.filter(pk__in=[u.pk for u in made]):
            for p in liaison_progress([unit], today=today):
                seen = {
                    "target": p.quota.target,
                    "completed": p.completed,
                    "on_time": p.on_time,
                    "blood_units": float(p.figures.blood_units),
                    "shortfall": p.remaining,
                    "rate": p.rate,
                    "status": p.status,
                }
                assert seen == dashboard[p.quota.pk], (unit, p.quota)
        transaction.set_rollback(True)

"""Drafting 仪征市 2025 from its real 2024 plan (fixtures/notices), as the office would.

15 % of the headcount for party and government organs and public institutions, last year's
task for companies (and everyone else), a total to meet and the hospitals' monthly demand. The
total is exact, every unit is placed, the largest gap is within the stated bound, and the issued
attachment, read back by `import_notice --dry-run --json`, gives the draft's rows exactly.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from fractions import Fraction

import pytest
from django.core.management import call_command

from quotas.drafting.allocation import LAST_TASK, RATE
from quotas.drafting.balancing import Item, balance
from quotas.drafting.periods import demand_by_period
from quotas.drafting.publishing import draft_publish
from quotas.drafting.rows import draft_attachment, draft_export
from quotas.drafting.services import draft_create, draft_update, rule_entry
from quotas.models import AnnualPlan, DraftLine, PlanDraft
from tests.quotas.drafting_world import yizheng_2024
from units.models import Unit
from units.services import unit_headcounts_set

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 1, 10)
DEMAND = [820, 760, 850, 880, 900, 870, 910, 930, 880, 900, 860, 940]  # 医疗机构临床用血量 (U) by month
TOTAL = 9800
ORGANS = {Unit.Category.PARTY_GOVERNMENT, Unit.Category.PUBLIC_INSTITUTION}


@pytest.fixture
def draft(tmp_path):
    county, plan = yizheng_2024()
    # Headcounts of the organs and institutions (the 15 % rule's base): about last year's task / 15 %.
    organs = Unit.objects.filter(jurisdiction=county, category__in=ORGANS).order_by("pk")
    unit_headcounts_set(changes=[(u.pk, 40 + (u.pk * 37) % 400) for u in organs], reason="test")
    draft = draft_create(jurisdiction=county, year=2025, today=TODAY)
    categories = set(draft.rules)
    rules = {c: {"kind": LAST_TASK, "value": 1, "scalable": True} for c in categories}
    for c in ORGANS & categories:
        rules[c] = {"kind": RATE, "value": "0.15", "scalable": True}
    draft_update(draft=draft, rules=rules, demand=DEMAND, total=TOTAL, fit_total=True)
    draft.refresh_from_db()
    return draft


def test_the_draft_starts_from_last_years_plan(draft):
    assert draft.base_plan == AnnualPlan.objects.get(jurisdiction=draft.jurisdiction, year=2024)
    lines = list(draft.lines.prefetch_related("units"))
    # 123 quotas last year: 仪化公司 had three and the 卫健委 group two, so 120 unit sets.
    assert len(lines) == 120
    yihua = next(line for line in lines if line.label == "仪化公司")
    assert (yihua.last_task, yihua.period_mode, yihua.fixed_periods) == (400, "fixed", [5, 6, 7])
    group = next(line for line in lines if line.label.startswith("卫健委"))
    assert group.units.count() == 7 and group.last_task == 560
    assert sum(line.last_task for line in lines) == 9478


def test_total_exact_every_unit_placed_gap_within_bound(draft):
    result = draft.result
    assert result["missing"] == {} and result["issues"] == []
    assert result["total"] == TOTAL and result["exact"]
    lines = list(draft.lines.all())
    assert sum(line.proposal for line in lines) == TOTAL
    for line in lines:
        assert line.proposal is not None
        assert sum(amount for amount, _ in line.parts) == line.proposal
        assert all(period is not None for _, period in line.parts), line.label
        if line.period_mode == DraftLine.PeriodMode.FIXED:
            assert [p for _, p in line.parts] == line.fixed_periods
    # the rules: organs get 15 % of their headcount (scaled by the same factor as everyone)
    scale = Fraction(result["scale"]).limit_denominator(10**9)
    for line in lines:
        if line.rule == RATE:
            assert abs(line.proposal - line.headcount * Fraction(15, 100) * scale) < 1
        else:
            assert abs(line.proposal - line.last_task * scale) < 1

    # the gap, recomputed here from the lines: within L + s/2
    items = [
        Item(i, amount, fixed=period if line.period_mode == DraftLine.PeriodMode.FIXED else None)
        for i, (line, (amount, period)) in enumerate((line, part) for line in lines for part in line.parts)
    ]
    loads = [0] * 12
    for line in lines:
        for amount, period in line.parts:
            loads[period] += amount
    demand = demand_by_period("month", 2025, DEMAND)
    reference = balance(items, demand, rounds=0)
    running, largest = 0, Fraction(0)
    for p in range(12):
        running += loads[p]
        largest = max(largest, abs(running - reference.demand_curve[p]))
    assert largest <= reference.bound
    assert result["within_bound"] and result["largest_gap"] == pytest.approx(float(largest))
    assert result["largest_gap"] <= max(amount for line in lines for amount, _ in line.parts) / 2


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_the_attachment_reads_back_exactly(draft, fmt, tmp_path):
    data, name = draft_export(draft=draft, fmt=fmt)
    path = tmp_path / name
    path.write_bytes(data)
    out = io.StringIO()
    call_command(
        "import_notice", str(path), "--jurisdiction", "仪征市", "--year", "2025", "--dry-run", "--json", stdout=out
    )
    document = json.loads(out.getvalue())
    assert document["errors"] == [] and document["warnings"] == []
    read = sorted(
        (r["seq"], r["unit"], r["target"], r["period_label"], r["location"])
        for rows in document["sheets"].values()
        for r in rows
    )
    expected = [(r.seq, r.unit, r.target, r.period, r.location or None) for r in draft_attachment(draft).rows]
    assert read == expected
    assert sum(r[2] for r in read) == TOTAL
    assert document["plan"]["declared_total"] == TOTAL
    # 仪化公司 in its three months, the group as one row of seven units
    assert [r[3] for r in read if r[1] == "仪化公司"] == ["六月", "七月", "八月"]


def test_publishing_makes_it_the_years_plan_with_its_audit_entries(draft, staff_user):
    plan = draft_publish(draft=draft, user=staff_user)
    assert plan.status == AnnualPlan.Status.PUBLISHED and plan.year == 2025
    assert plan.quotas.count() == len(draft_attachment(draft).rows)
    assert sum(plan.quotas.values_list("target", flat=True)) == TOTAL
    assert plan.declared_total == TOTAL
    reasons = list(plan.history.values_list("history_change_reason", "history_user__username"))
    assert any("任务分解" in (reason or "") and user == "office" for reason, user in reasons)
    assert any("已发布" in (reason or "") for reason, _ in reasons)
    assert plan.sources.get().original_name.endswith(".xlsx")
    draft.refresh_from_db()
    assert draft.status == PlanDraft.Status.PUBLISHED and draft.plan == plan
    yihua = plan.quotas.filter(label="仪化公司").order_by("period_start")
    assert [q.period_start.month for q in yihua] == [6, 7, 8]
    assert all(list(q.units.values_list("name", flat=True)) == ["仪化公司"] for q in yihua)


def test_rule_entry_checks_its_value():
    assert rule_entry(RATE, "0.150") == {"kind": RATE, "value": "0.15", "scalable": True}

"""Importing a notice into a plan: apply all or nothing, re-import as a diff, aliases learned."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from campaigns.models import Donation
from quotas.models import AnnualPlan, PlanSource, Quota
from quotas.services import CHANGED, NEW, UNCHANGED, plan_import, preview_import
from tests.factories import UnitFactory, make_donation
from units.models import Unit, UnitAlias

from .workbooks import xlsx

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"


def notice(*rows):
    return xlsx([["献血时间", "单位", "目标数"], *rows])


@pytest.mark.django_db
def test_apply_creates_plan_units_quotas_and_keeps_the_file(jurisdiction, staff_user):
    data = (NOTICES / "yizheng-2024.xlsx").read_bytes()
    report = plan_import(data=data, filename="yizheng-2024.xlsx", jurisdiction=jurisdiction, year=2024, user=staff_user)
    assert report.applied and report.errors == []
    plan = AnnualPlan.objects.get(jurisdiction=jurisdiction, year=2024)
    assert plan.quotas.count() == 123
    group = plan.quotas.get(label__startswith="卫健委、", period_start=dt.date(2024, 1, 1))
    assert sorted(u.name for u in group.units.all())[:2] == ["中医院", "人民医院"] and group.units.count() == 7
    assert plan.quotas.filter(label="仪化公司").count() == 3
    assert Unit.objects.filter(name="仪化公司").count() == 1
    source = PlanSource.objects.get(plan=plan)
    assert (source.uploaded_by, source.original_name, source.size) == (staff_user, "yizheng-2024.xlsx", len(data))
    assert group.source == source and group.source_cell == "B4" and group.source_sheet == "附件2"


@pytest.mark.django_db
def test_reimport_of_an_amended_notice_is_a_diff_and_keeps_donations(jurisdiction):
    plan_import(
        data=notice(["三月", "教育局", 170], ["三月", "水利局", 26]),
        filename="v1.xlsx",
        jurisdiction=jurisdiction,
        year=2024,
    )
    water = Unit.objects.get(name="水利局")
    donation = make_donation(water, donated_on=dt.date(2024, 3, 5))
    amended = notice(["三月", "教育局", 180], ["四月", "司法局", 20], ["三月", "水利局", 26])
    preview = preview_import(data=amended, filename="v2.xlsx", jurisdiction=jurisdiction, year=2024)
    assert [p.status for p in preview.rows] == [CHANGED, NEW, UNCHANGED]
    assert preview.rows[0].changes == ["任务数：170 → 180"]
    assert preview.removed == []
    plan_import(data=amended, filename="v2.xlsx", jurisdiction=jurisdiction, year=2024)
    plan = AnnualPlan.objects.get()
    assert sorted(plan.quotas.values_list("label", "target")) == [("司法局", 20), ("教育局", 180), ("水利局", 26)]
    removed = preview_import(
        data=notice(["三月", "教育局", 180]), filename="v3.xlsx", jurisdiction=jurisdiction, year=2024
    )
    assert sorted(q.label for q in removed.removed) == ["司法局", "水利局"]
    Donation.objects.get(pk=donation.pk, unit=water)  # donations stay linked to their unit


@pytest.mark.django_db
def test_unknown_name_mapped_to_an_existing_unit_becomes_an_alias(jurisdiction):
    bank = UnitFactory(name="中国建设银行仪征支行", jurisdiction=jurisdiction)
    data = notice(["七月", "建设银行", 20])
    preview = preview_import(data=data, filename="a.xlsx", jurisdiction=jurisdiction, year=2024)
    [unknown] = preview.unknown.values()
    assert unknown.suggestions[0].unit_id == bank.pk
    plan_import(data=data, filename="a.xlsx", jurisdiction=jurisdiction, year=2024, decisions={unknown.key: bank.pk})
    assert UnitAlias.objects.get(normalized_name="建设银行").unit == bank
    assert list(Quota.objects.get().units.all()) == [bank]
    again = preview_import(data=data, filename="a.xlsx", jurisdiction=jurisdiction, year=2024)
    assert again.unknown == {} and again.rows[0].matches[0].via_alias


@pytest.mark.django_db
def test_subordinate_suffix_is_the_department_itself(jurisdiction):
    plan_import(
        data=xlsx([["单位名称", "任务数"], ["区人社局及下属单位", 22]]),
        filename="s.xlsx",
        jurisdiction=jurisdiction,
        year=2023,
    )
    quota = Quota.objects.get()
    assert quota.label == "区人社局及下属单位"
    assert [u.name for u in quota.units.all()] == ["区人社局"]


@pytest.mark.django_db(transaction=True)
def test_a_file_with_an_error_in_the_middle_writes_nothing(jurisdiction):
    data = notice(["三月", "教育局", 170], ["三月", "水利局", "二十六"], ["四月", "司法局", 20])
    report = plan_import(data=data, filename="bad.xlsx", jurisdiction=jurisdiction, year=2024)
    assert not report.applied and "附件!C3" in report.errors[0].message
    assert (AnnualPlan.objects.count(), Quota.objects.count(), Unit.objects.count(), PlanSource.objects.count()) == (
        0,
        0,
        0,
        0,
    )


@pytest.mark.django_db(transaction=True)
def test_a_failure_while_writing_rolls_back_everything(jurisdiction, monkeypatch):
    from quotas.services import apply

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply, "copy_rows", explode)
    with pytest.raises(RuntimeError):
        plan_import(data=notice(["三月", "教育局", 170]), filename="a.xlsx", jurisdiction=jurisdiction, year=2024)
    assert (AnnualPlan.objects.count(), Unit.objects.count(), PlanSource.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_period_outside_the_plan_year_is_an_error(jurisdiction):
    data = xlsx([["单位", "任务数", "献血时间"], ["教育局", 3, "2023年3月15日"]])
    report = plan_import(data=data, filename="y.xlsx", jurisdiction=jurisdiction, year=2024)
    assert not report.applied and "2024" in report.errors[0].message and "附件!C2" in report.errors[0].message


@pytest.mark.django_db
def test_closed_plan_refuses_an_import(plan):
    AnnualPlan.objects.filter(pk=plan.pk).update(status=AnnualPlan.Status.CLOSED)
    report = plan_import(
        data=notice(["三月", "教育局", 1]), filename="a.xlsx", jurisdiction=plan.jurisdiction, year=2026
    )
    assert not report.applied and "已结束" in report.errors[0].message

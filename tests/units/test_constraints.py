"""Each named database constraint rejects its bad row, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from campaigns.models import Donation, DonationDrive
from quotas.models import AnnualPlan, Quota
from tests.factories import JurisdictionFactory, PlanFactory, UnitFactory, make_donation
from units.models import Jurisdiction, Unit, UnitAlias

pytestmark = pytest.mark.django_db


def rejects(constraint: str, create):
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        create()
    message = str(info.value)
    # PostgreSQL names every violated constraint; SQLite names CHECK constraints only.
    assert constraint in message or (connection.vendor == "sqlite" and "UNIQUE constraint failed" in message)


def quota(plan, **fields):
    values = {"plan": plan, "year": plan.year, "label": "甲", "target": 1} | fields
    return Quota.objects.create(**values)


def test_plan_one_per_jurisdiction_year(plan):
    rejects(
        "plan_one_per_jurisdiction_year", lambda: AnnualPlan.objects.create(jurisdiction=plan.jurisdiction, year=2026)
    )


def test_plan_year_in_range(jurisdiction):
    rejects("plan_year_in_range", lambda: AnnualPlan.objects.create(jurisdiction=jurisdiction, year=1999))


def test_quota_target_not_negative(plan):
    rejects("quota_target_not_negative", lambda: quota(plan, target=-1))


def test_quota_period_start_before_end(plan):
    rejects(
        "quota_period_start_before_end",
        lambda: quota(plan, period_start=dt.date(2026, 5, 1), period_end=dt.date(2026, 4, 1)),
    )


def test_quota_period_both_or_neither(plan):
    rejects("quota_period_both_or_neither", lambda: quota(plan, period_start=dt.date(2026, 5, 1)))


def test_quota_period_inside_plan_year(plan):
    rejects(
        "quota_period_inside_plan_year",
        lambda: quota(plan, period_start=dt.date(2025, 12, 1), period_end=dt.date(2025, 12, 31)),
    )


def test_quota_inside_the_year_is_accepted(plan):
    assert quota(plan, period_start=dt.date(2026, 12, 1), period_end=dt.date(2026, 12, 31)).pk


def test_unit_unique_name_in_jurisdiction(unit_a):
    rejects(
        "unit_unique_name_in_jurisdiction",
        lambda: Unit.objects.create(
            name="仪化 公司", normalized_name=unit_a.normalized_name, jurisdiction=unit_a.jurisdiction
        ),
    )


def test_same_unit_name_in_another_jurisdiction_is_fine(unit_a):
    other = JurisdictionFactory(name="江都区")
    assert UnitFactory(name=unit_a.name, jurisdiction=other).pk


def test_unit_not_own_parent(unit_a):
    def make_own_parent():
        Unit.objects.filter(pk=unit_a.pk).update(parent=unit_a.pk)

    rejects("unit_not_own_parent", make_own_parent)


def test_alias_unique_name_in_jurisdiction(unit_a, unit_b):
    UnitAlias.objects.create(unit=unit_a, jurisdiction=unit_a.jurisdiction, name="仪化", normalized_name="仪化")
    rejects(
        "alias_unique_name_in_jurisdiction",
        lambda: UnitAlias.objects.create(
            unit=unit_b, jurisdiction=unit_b.jurisdiction, name="仪化", normalized_name="仪化"
        ),
    )


def test_jurisdiction_unique_name_in_parent():
    city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
    JurisdictionFactory(name="仪征市", parent=city)
    rejects("jurisdiction_unique_name_in_parent", lambda: Jurisdiction.objects.create(name="仪征市", parent=city))


def test_jurisdiction_unique_root_name():
    JurisdictionFactory(name="江苏省")
    rejects("jurisdiction_unique_root_name", lambda: Jurisdiction.objects.create(name="江苏省"))


def test_donation_one_per_person_per_day(unit_a, unit_b):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 2))
    rejects("donation_one_per_person_per_day", lambda: make_donation(unit_b, donated_on=dt.date(2026, 3, 2)))


def test_rejected_donation_does_not_block_a_new_one(unit_a):
    first = make_donation(unit_a, donated_on=dt.date(2026, 3, 2))
    Donation.objects.filter(pk=first.pk).update(status=Donation.Status.REJECTED)
    assert make_donation(unit_a, donated_on=dt.date(2026, 3, 2)).pk


def test_donation_amount_valid(unit_a):
    donation = make_donation(unit_a, donated_on=dt.date(2026, 3, 2))
    rejects("donation_amount_valid", lambda: Donation.objects.filter(pk=donation.pk).update(volume_ml=250))
    rejects("donation_amount_valid", lambda: Donation.objects.filter(pk=donation.pk).update(kind="platelets"))


def test_donation_blood_units_derived(unit_a):
    donation = make_donation(unit_a, donated_on=dt.date(2026, 3, 3), amount=300)
    assert donation.blood_units == Donation.blood_units_for("whole", 300) == 1.5
    rejects("donation_blood_units_derived", lambda: Donation.objects.filter(pk=donation.pk).update(volume_ml=200))
    Donation.objects.filter(pk=donation.pk).update(volume_ml=200, blood_units=1)  # both: derived again
    rejects(
        "donation_blood_units_derived",
        lambda: Donation.objects.filter(pk=donation.pk).update(kind="platelets", volume_ml=None, doses=2),
    )


def test_drive_start_before_end():
    plan = PlanFactory()
    rejects(
        "drive_start_before_end",
        lambda: DonationDrive.objects.create(
            plan=plan, start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1), place="广场"
        ),
    )

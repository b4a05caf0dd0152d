"""The donation tally follows every write to the donations, on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from campaigns import tally
from campaigns.models import Donation, DonationTally
from tests.factories import UnitFactory, make_donation

DAY = dt.date(2026, 3, 5)


def tallied(unit, day=DAY) -> tuple[int, Decimal]:
    row = DonationTally.objects.filter(unit=unit, day=day).values_list("persons", "blood_units").first()
    return (row[0], Decimal(row[1])) if row else (0, Decimal(0))


@pytest.mark.django_db
def test_insert_adds_persons_and_blood_units(unit_a):
    make_donation(unit_a, donated_on=DAY, seq=7, amount=400)
    make_donation(unit_a, donated_on=DAY, seq=9, amount=300)
    assert tallied(unit_a) == (2, Decimal("3.5"))
    assert tally.mismatches() == []


@pytest.mark.django_db
def test_reject_and_restore_move_the_count(unit_a):
    donation = make_donation(unit_a, donated_on=DAY, amount=200)
    Donation.objects.filter(pk=donation.pk).update(status="verified")
    assert tallied(unit_a) == (1, Decimal("1.0"))
    Donation.objects.filter(pk=donation.pk).update(status="rejected")
    assert tallied(unit_a) == (0, Decimal(0))
    Donation.objects.filter(pk=donation.pk).update(status="verified")
    assert tallied(unit_a) == (1, Decimal("1.0"))


@pytest.mark.django_db
def test_moving_a_donation_to_another_unit_and_day(unit_a, unit_b):
    donation = make_donation(unit_a, donated_on=DAY)
    later = DAY + dt.timedelta(days=3)
    Donation.objects.filter(pk=donation.pk).update(unit=unit_b, donated_on=later)
    assert tallied(unit_a) == (0, Decimal(0))
    assert tallied(unit_b, later)[0] == 1
    assert tally.mismatches() == []


@pytest.mark.django_db
def test_delete_and_rejected_insert(unit_a):
    donation = make_donation(unit_a, donated_on=DAY)
    donation.delete()
    make_donation(unit_a, donated_on=DAY, seq=11, status="rejected")
    assert tallied(unit_a) == (0, Decimal(0))
    assert tally.mismatches() == []


@pytest.mark.django_db
def test_recount_rebuilds_and_check_reports(unit_a):
    other = UnitFactory(jurisdiction=unit_a.jurisdiction)
    make_donation(unit_a, donated_on=DAY)
    make_donation(other, donated_on=DAY, seq=9)
    DonationTally.objects.filter(unit=other).update(persons=5)
    with pytest.raises(CommandError):
        call_command("recount_tallies", "--check")
    call_command("recount_tallies")
    call_command("recount_tallies", "--check")
    assert tallied(other)[0] == 1


def _take_marks() -> tuple[set[int], set[tuple[int, int]]]:
    from campaigns.models import JurisdictionProgressDirty, PlanProgressDirty

    plans = set(PlanProgressDirty.objects.values_list("plan_id", flat=True))
    places = set(JurisdictionProgressDirty.objects.values_list("jurisdiction_id", "year"))
    PlanProgressDirty.objects.all().delete()
    JurisdictionProgressDirty.objects.all().delete()
    return plans, places


@pytest.mark.django_db
def test_every_counted_change_marks_the_plans_and_jurisdictions_it_moves(jurisdiction, unit_a, unit_b):
    """What the dashboard's kept summaries rely on: the marks written with the tally, for the
    donation's unit, its parent's quotas and its jurisdiction, in the donation's year; old and new
    side of a change alike."""
    from tests.factories import JurisdictionFactory, PlanFactory, QuotaFactory

    other = JurisdictionFactory(name="高邮市")
    branch = UnitFactory(name="仪化公司热电厂", jurisdiction=other, parent=unit_a)
    plan, next_year = (
        PlanFactory(jurisdiction=jurisdiction, year=2026),
        PlanFactory(jurisdiction=jurisdiction, year=2027),
    )
    other_plan = PlanFactory(jurisdiction=other, year=2026)
    QuotaFactory(plan=plan, target=5, units=[unit_a])
    QuotaFactory(plan=next_year, target=5, units=[unit_a])
    QuotaFactory(plan=other_plan, target=5, units=[unit_b])
    _take_marks()  # the staff edits' own marks

    donation = make_donation(branch, donated_on=DAY)  # a branch counts toward its parent's quota
    assert _take_marks() == ({plan.pk}, {(other.pk, 2026)})
    Donation.objects.filter(pk=donation.pk).update(status="rejected")
    assert _take_marks() == ({plan.pk}, {(other.pk, 2026)})
    make_donation(branch, donated_on=DAY, seq=9, status="rejected")  # not counted: nothing moves
    assert _take_marks() == (set(), set())
    Donation.objects.filter(pk=donation.pk).update(status="verified")
    _take_marks()
    Donation.objects.filter(pk=donation.pk).update(unit=unit_b, donated_on=dt.date(2027, 1, 2))
    assert _take_marks() == ({plan.pk}, {(other.pk, 2026), (jurisdiction.pk, 2027)})
    Donation.objects.filter(pk=donation.pk).update(unit=unit_a, donated_on=DAY)
    assert _take_marks() == ({plan.pk}, {(jurisdiction.pk, 2026), (jurisdiction.pk, 2027)})
    Donation.objects.filter(pk=donation.pk).update(donor_name="李四")  # changes no count: no trigger
    assert _take_marks() == (set(), set())
    donation.delete()
    assert _take_marks() == ({plan.pk}, {(jurisdiction.pk, 2026)})

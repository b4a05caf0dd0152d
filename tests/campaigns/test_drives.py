"""Donation drives: expected number from the invited units' quotas due then, against donations logged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import DonationDrive
from campaigns.selectors import drives_with_figures
from tests.factories import QuotaFactory, make_donation

pytestmark = pytest.mark.django_db


def test_expected_and_logged(plan, unit_a, unit_b, admin_client):
    QuotaFactory(plan=plan, units=[unit_a], target=30)  # March
    QuotaFactory(plan=plan, units=[unit_b], target=20)  # March, but unit_b is not invited
    QuotaFactory(plan=plan, units=[unit_a], target=9, advisory=True)
    QuotaFactory(
        plan=plan, units=[unit_a], target=50, period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31)
    )
    # A drive created first, so the drive's id differs from the quota's (a query once mixed them up).
    DonationDrive.objects.create(plan=plan, start_date=dt.date(2026, 9, 1), end_date=dt.date(2026, 9, 1), place="别处")
    drive = DonationDrive.objects.create(
        plan=plan, start_date=dt.date(2026, 3, 10), end_date=dt.date(2026, 3, 10), place="广场"
    )
    drive.units.add(unit_a)
    make_donation(unit_a, donated_on=dt.date(2026, 3, 10), drive=drive)
    figures = drives_with_figures(DonationDrive.objects.filter(pk=drive.pk)).get()
    assert (figures.expected, figures.logged) == (30, 1)
    page = admin_client.get("/admin/campaigns/donationdrive/").content.decode()
    assert "应献人数" in page


def test_liaison_sees_own_units_drives_only(liaison_client, plan, unit_a, unit_b):
    ours = DonationDrive.objects.create(
        plan=plan, start_date=timezone.localdate(), end_date=timezone.localdate(), place="本单位广场"
    )
    ours.units.add(unit_a)
    theirs = DonationDrive.objects.create(
        plan=plan, start_date=timezone.localdate(), end_date=timezone.localdate(), place="别处"
    )
    theirs.units.add(unit_b)
    page = liaison_client.get("/liaison/").content.decode()
    assert "本单位广场" in page and "别处" not in page

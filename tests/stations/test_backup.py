"""The station's records travel in the portal backup (ops.backup PORTAL_APPS)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns.models import Donation
from core import crypto
from stations.models import CollectionRecord
from stations.preview import station_preview
from stations.services import station_apply
from tests.test_backup import _round_trip, small_portal  # noqa: F401 - the fixture is used by name

from .conftest import TODAY, station_row, station_xlsx

pytestmark = pytest.mark.django_db


def test_station_records_round_trip(small_portal, jurisdiction, staff_user, tmp_path):  # noqa: F811
    donation = Donation.objects.order_by("pk").first()
    number = crypto.decrypt(donation.id_number_encrypted)
    rows = [
        station_row(900, dt.date(2023, 4, 1), "某个体户"),
        station_row(901, dt.date(2023, 4, 2), donation.unit.name),
    ]
    rows.append(["M1", donation.donor_name, "男", number, donation.donated_on, "全血", 400, "", ""])
    preview = station_preview(data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.ok, [c.errors for c in preview.error_rows]
    station_apply(preview=preview, jurisdiction=jurisdiction, user=staff_user, filename="s", sha256="0" * 64)
    before = _round_trip(small_portal, tmp_path / "backup.zip")
    assert len(before["stations.collectionrecord"]) == 3 and len(before["stations.stationexport"]) == 1
    record = CollectionRecord.objects.get(donation_id=donation.pk)
    assert crypto.decrypt(record.id_number_encrypted) == number

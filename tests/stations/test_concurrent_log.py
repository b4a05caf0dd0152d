"""A liaison logging during a station apply is not held up for the apply's duration (PostgreSQL).

The apply runs in one transaction (all or nothing). It writes collection records, marks matched
donations station-verified, creates donations of station-only records (their tally rows, the
kept station-verified count) — rows of the export's days. A liaison logging today, or a
donation of another unit on one of those days, touches none of them: this holds the apply's
transaction open after its last statement and logs meanwhile, with a lock timeout that would
turn any wait into an error.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from campaigns.models import Donation
from campaigns.services import donation_log
from stations.models import CollectionRecord
from stations.preview import station_preview
from stations.services import station_apply
from tests.factories import UnitFactory, id_number, make_donation

from .conftest import TODAY, station_row, station_xlsx

MARCH_3 = dt.date(2026, 3, 3)


@pytest.mark.django_db(transaction=True)
def test_a_liaison_logs_while_an_apply_is_open(jurisdiction, unit_a, unit_b, staff_user):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    unit_c = UnitFactory(name="消防大队", jurisdiction=jurisdiction)
    make_donation(unit_a, donated_on=MARCH_3, seq=11)
    rows = [station_row(11, MARCH_3, "仪化公司")]  # matched: unit_a's donation becomes verified
    rows += [station_row(100 + 2 * i, MARCH_3, "教育局") for i in range(50)]  # become unit_b's donations
    preview = station_preview(data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.ok and preview.creates == 50
    applied, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def apply():
        try:
            with transaction.atomic():
                station_apply(
                    preview=preview, jurisdiction=jurisdiction, user=staff_user, filename="s.xlsx", sha256="0" * 64
                )
                applied.set()
                release.wait(30)  # the apply's transaction stays open, its locks held
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            failures.append(exc)
            applied.set()
        finally:
            connections.close_all()

    worker = threading.Thread(target=apply)
    worker.start()
    try:
        assert applied.wait(60) and not failures, failures
        logged = []
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        for unit, day, seq in [
            (unit_a, TODAY, 301),  # today, the apply's matched unit
            (unit_b, TODAY, 303),  # today, the unit the apply creates donations for
            (unit_c, MARCH_3, 305),  # another unit, on the export's day
            (unit_a, dt.date(2026, 3, 4), 307),  # backdated to a day the export does not hold
        ]:
            began = time.monotonic()
            donation, _ = donation_log(
                check_plan_year=False, unit=unit, donor_name="王五", id_number=id_number(seq=seq), donated_on=day
            )
            logged.append(time.monotonic() - began)
            assert donation.pk
        assert max(logged) < 2, logged  # none waited for the open apply
        assert CollectionRecord.objects.count() == 0  # the apply is still uncommitted
    finally:
        release.set()
        worker.join(60)
        connections.close_all()
    assert not failures, failures
    assert CollectionRecord.objects.count() == 51
    assert Donation.objects.filter(source="station").count() == 50 and Donation.objects.count() == 55

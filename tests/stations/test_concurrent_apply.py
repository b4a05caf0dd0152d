"""Station applies against concurrent writers (PostgreSQL): the lock order shared with liaisons'
writes (no deadlock with a withdrawal), and two staff confirming overlapping exports at once
(nothing doubled: the second finds the first's records already imported)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse

from campaigns.models import Donation
from campaigns.services import lock_people
from stations.models import CollectionRecord, StationExport
from stations.preview import station_preview
from stations.services import lock_station_imports, station_apply
from tests.factories import make_donation

from .conftest import TODAY, station_row, station_xlsx
from .test_pages import _upload

pytestmark = pytest.mark.django_db(transaction=True)
MARCH_3, SEPTEMBER_20 = dt.date(2026, 3, 3), dt.date(2026, 9, 20)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")


def _waiting_on_advisory_lock(seconds=20) -> bool:
    """Whether another session of this database waits on an advisory lock, within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def _thread(target, failures):
    def run():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            failures.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    return worker


def test_an_apply_locks_the_people_before_their_donations(jurisdiction, unit_a, staff_user):
    # One person, two reported donations, both in the export: the apply marks both verified.
    first = make_donation(unit_a, donated_on=MARCH_3, seq=11)
    second = make_donation(unit_a, donated_on=SEPTEMBER_20, seq=11)
    rows = [station_row(11, MARCH_3, "仪化公司"), station_row(11, SEPTEMBER_20, "仪化公司")]
    preview = station_preview(data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.counts["matched"] == 2
    held, go = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    locked_row = []

    def liaison():  # a withdrawal of `first` as donation_withdraw does it: the person, then rows
        with transaction.atomic():
            lock_people([first.id_number_hash])
            held.set()
            go.wait(30)
            # reflag's read of the person's other donations: the apply must not hold them
            locked_row.append(Donation.objects.select_for_update(nowait=True).get(pk=second.pk))

    def apply():
        station_apply(preview=preview, jurisdiction=jurisdiction, user=staff_user, filename="s", sha256="0")

    writer = _thread(liaison, failures)
    assert held.wait(30)
    applier = _thread(apply, failures)
    try:
        # The apply waits for the person's lock before it touches a donation of theirs ...
        assert _waiting_on_advisory_lock(), "the apply did not wait for the people's lock"
    finally:
        go.set()
        writer.join(60)
        applier.join(60)
    # ... so the liaison's transaction could lock the person's donations (NOWAIT) and finish.
    assert not failures, failures
    assert locked_row
    assert set(Donation.objects.values_list("station_verified", flat=True)) == {True}
    assert CollectionRecord.objects.filter(donation__isnull=False).count() == 2


def test_two_staff_confirming_overlapping_exports_at_once_double_nothing(
    jurisdiction, unit_a, unit_b, staff_user, staff_client
):
    from units.models import StaffProfile

    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": jurisdiction})
    rows = [station_row(100 + 2 * i, MARCH_3, "教育局") for i in range(5)]  # five donations of 教育局
    coded = _upload(staff_client, station_xlsx(rows)).context["token"]
    # The same collections exported without 献血码 (keyed by person, day and kind), uploaded too.
    uncoded = _upload(staff_client, station_xlsx([[""] + row[1:] for row in rows])).context["token"]
    assert coded and uncoded
    held, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    statuses = []

    def import_in_progress():  # a third import of the tree, holding the lock while both confirm
        with transaction.atomic():
            lock_station_imports(jurisdiction)
            held.set()
            release.wait(30)

    def confirm(token):
        def run():
            statuses.append(staff_client.post(reverse("stations:upload"), {"token": token}).status_code)

        return run

    blocker = _thread(import_in_progress, failures)
    assert held.wait(30)
    confirms = [_thread(confirm(coded), failures), _thread(confirm(uncoded), failures)]
    try:
        assert _waiting_on_advisory_lock()
    finally:
        release.set()
        blocker.join(60)
        for worker in confirms:
            worker.join(120)
    assert not failures, failures
    assert statuses == [302, 302]  # both confirmed: neither refused as a conflict
    assert Donation.objects.filter(source="station").count() == 5 and CollectionRecord.objects.count() == 5
    exports = sorted(StationExport.objects.values_list("new_records", "already_imported"))
    assert exports == [(0, 5), (5, 0)]

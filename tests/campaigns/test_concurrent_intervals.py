"""Two donations of one person close together, logged at the same moment, are both flagged.

The interval rule is a check-then-insert: each request reads the person's donations, then
inserts. Without a lock, two requests that both read before either inserts each see nothing,
and a breach is stored with no flag. Here the two requests are made to read at the same moment
(the history read waits at a barrier for the other one, for up to a second), from two threads
with two PostgreSQL connections; with `lock_people` the second one waits for the first to commit
before it reads, so it sees the first's row and both are flagged. SQLite has one writer at a
time (and its test database is one connection threads cannot share), so these run on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction

import campaigns.services
from campaigns.models import Donation
from campaigns.rosters.services import RosterChanged, roster_commit, roster_preview
from campaigns.services import MANY_PEOPLE, donation_log, lock_people
from tests.factories import QuotaFactory, id_number

pytestmark = pytest.mark.django_db(transaction=True)
D = dt.date
SEQ = 61


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers (PostgreSQL)")


@pytest.fixture
def quotas(plan, unit_a, unit_b):
    QuotaFactory(plan=plan, label=unit_a.name, units=[unit_a], target=5)
    QuotaFactory(plan=plan, label=unit_b.name, units=[unit_b], target=5)


@pytest.fixture
def reads_together(monkeypatch):
    """Every history read waits (at most a second) until another one is at the same point."""
    barrier = threading.Barrier(2)
    read = campaigns.services.history_of

    def history_of(*args, **kwargs):
        found = read(*args, **kwargs)
        # The other request waits on the person's lock: it reads after this one commits.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)
        return found

    monkeypatch.setattr(campaigns.services, "history_of", history_of)


def run_together(*jobs) -> list:
    """Run each job in its own thread (its own connection) at the same moment; their errors."""
    start = threading.Barrier(len(jobs))
    errors: list = []

    def run(job):
        try:
            start.wait()
            job()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def logger(unit, day, kind="whole"):
    amount = 1 if kind == "platelets" else 400

    def job():
        donation_log(
            unit=unit, donor_name="赵并", id_number=id_number(seq=SEQ), donated_on=day, kind=kind, amount=amount
        )

    return job


def flags_by_day() -> dict:
    return {d.donated_on: [(f["code"], f["other"]) for f in d.flags] for d in Donation.objects.all()}


def test_two_units_logging_one_person_ten_days_apart_at_once_are_both_flagged(quotas, unit_a, unit_b, reads_together):
    errors = run_together(logger(unit_a, D(2026, 11, 30)), logger(unit_b, D(2026, 11, 20)))
    assert errors == []
    assert flags_by_day() == {
        D(2026, 11, 30): [("whole_interval", "2026-11-20")],
        D(2026, 11, 20): [("whole_interval", "2026-11-30")],
    }


def test_the_same_unit_logging_platelets_a_day_apart_at_once_are_both_flagged(quotas, unit_a, reads_together):
    errors = run_together(logger(unit_a, D(2026, 11, 29), "platelets"), logger(unit_a, D(2026, 11, 30), "platelets"))
    assert errors == []
    assert sorted(code for flags in flags_by_day().values() for code, _ in flags) == ["platelet_interval"] * 2


def test_a_roster_committed_while_the_same_person_is_logged_flags_both(quotas, unit_a, unit_b, liaison_user, request):
    from tests.campaigns.test_interval_both_ways import roster

    data = roster([[1, "赵并", "男", id_number(seq=SEQ), D(2026, 11, 20), 400, ""]])
    preview = roster_preview(
        data=data, filename="名单.xlsx", units=[unit_a], default_unit=unit_a, logged_by=liaison_user
    )
    assert preview.ok and preview.rows[0].flags == []  # checked before the other donation existed
    request.getfixturevalue("reads_together")  # from here on
    errors = run_together(lambda: roster_commit(preview=preview), logger(unit_b, D(2026, 11, 30)))
    if errors:
        # The logging took the person's lock first: the confirmation, checking again under the
        # lock, found a flag the preview had not shown and saved nothing (issue 23: no flag is
        # confirmed unseen). Confirmed again with the flag shown, the row is saved.
        [error] = errors
        assert isinstance(error, RosterChanged) and error.preview.rows[0].changed
        assert Donation.objects.filter(donated_on=D(2026, 11, 20)).count() == 0
        roster_commit(preview=error.preview)
    assert flags_by_day() == {
        D(2026, 11, 30): [("whole_interval", "2026-11-20")],
        D(2026, 11, 20): [("whole_interval", "2026-11-30")],
    }


def advisory_locks() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classid::text, mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "ORDER BY classid, mode"
        )
        return cursor.fetchall()


def test_one_person_is_one_lock_and_many_people_one_exclusive_lock(db):
    person, everyone = str(campaigns.services.LOCK_PERSON), str(campaigns.services.LOCK_EVERYONE)
    with transaction.atomic():
        lock_people(["ab" * 32])
        assert sorted(advisory_locks()) == [(everyone, "ShareLock"), (person, "ExclusiveLock")]
    assert advisory_locks() == []  # released with the transaction
    with transaction.atomic():
        lock_people([f"{n:08x}" + "0" * 56 for n in range(MANY_PEOPLE + 1)])
        assert advisory_locks() == [(everyone, "ExclusiveLock")]  # not thousands of locks
    with pytest.raises(RuntimeError):
        lock_people(["ab" * 32])  # outside a transaction the lock would be gone at once

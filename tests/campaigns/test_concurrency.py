"""Two liaisons submitting the same person at the same moment (or one double click): one row.

The database constraint decides, not a check-then-insert; on PostgreSQL the two transactions
really overlap. SQLite serialises writers, so there the test shows the same outcome less sharply.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from campaigns.models import Donation
from campaigns.services import donation_log
from tests.factories import id_number


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_make_one_donation(unit_a, unit_b):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers (PostgreSQL)")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def submit(unit):
        try:
            barrier.wait()
            donation_log(
                check_plan_year=False,
                unit=unit,
                donor_name="张三",
                id_number=id_number(seq=31),
                donated_on=dt.date(2026, 3, 3),
            )
            outcomes.append("saved")
        except ValidationError:
            outcomes.append("duplicate")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(unit_a if i % 2 else unit_b,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate"] * 7 + ["saved"]
    assert Donation.objects.count() == 1

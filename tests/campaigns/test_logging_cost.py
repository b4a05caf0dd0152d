"""What one logged donation costs the database (issue 23): the queries of the POST, prepared
statements on PostgreSQL, the history row written with the donation, the indexes kept."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Donation
from campaigns.selectors import VERIFIED, donor_history, quota_figures
from campaigns.services import history_of
from core.crypto import lookup_hash
from core.prepared import prepared
from tests.factories import QuotaFactory, id_number, make_donation

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


@pytest.fixture
def current_plan(plan, unit_a):
    plan.year = TODAY.year
    plan.save()
    QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)
    return plan


def _post(client, unit, seq):
    data = {
        "unit": unit.pk,
        "donor_name": "李四",
        "id_number": id_number(seq=seq),
        "donated_on": TODAY.isoformat(),
        "amount": "whole:400",
        "phone": "",
    }
    return client.post("/liaison/log/", data)


def test_logging_a_donor_runs_nine_queries(
    liaison_client, liaison_user, current_plan, unit_a, django_assert_max_num_queries
):
    _post(liaison_client, unit_a, seq=11)  # statements prepared on this connection (not counted: set-up)
    # Session, user with role and permissions, the liaison's units, the unit's plan years; then
    # in a savepoint: the person's lock (PostgreSQL), their history, the donation with its
    # history row (one statement on PostgreSQL, two on SQLite), release. No drives, no
    # session write, no second read of the unit.
    with django_assert_max_num_queries(9):
        response = _post(liaison_client, unit_a, seq=13)
    assert response.status_code == 302 and response["Location"] == "/liaison/log/"
    assert Donation.objects.filter(logged_by=liaison_user).count() == 2


def test_the_history_row_is_the_stored_donation_by_its_author(liaison_client, liaison_user, current_plan, unit_a):
    _post(liaison_client, unit_a, seq=11)
    donation = Donation.objects.get()
    entry = donation.history.get()
    assert (entry.history_type, entry.history_user, entry.history_change_reason) == ("+", liaison_user, "")
    assert entry.history_date == donation.logged_at
    for field in ("donor_name", "id_number_hash", "id_number_masked", "unit_id", "donated_on", "volume_ml", "flags"):
        assert getattr(entry, field) == getattr(donation, field), field


@postgresql_only
def test_a_statement_is_prepared_once_per_connection_and_not_counted_as_a_query():
    sql = "SELECT %s::int + 1"
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute(prepared("portal_test_add", sql, 1), [1])
        assert cursor.fetchone() == (2,)
        cursor.execute(prepared("portal_test_add", sql, 1), [2])
        assert cursor.fetchone() == (3,)
    assert [q["sql"] for q in queries] == ["EXECUTE portal_test_add(1)", "EXECUTE portal_test_add(2)"]


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_prepared_statement_outlives_a_rollback_and_is_prepared_again_on_a_new_connection():
    sql = "SELECT %s::int * 2"
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(prepared("portal_test_double", sql, 1), [2])
            raise RuntimeError
    except RuntimeError:
        pass
    with connection.cursor() as cursor:
        cursor.execute(prepared("portal_test_double", sql, 1), [3])
        assert cursor.fetchone() == (6,)
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(prepared("portal_test_double", sql, 1), [4])
        assert cursor.fetchone() == (8,)


def test_prepared_leaves_the_statement_as_it_is_elsewhere():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    assert prepared("portal_test", "SELECT %s", 1) == "SELECT %s"


def _indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {name: info["columns"] for name, info in found.items() if info["index"] and not info["primary_key"]}


def test_indexes_no_query_uses_are_gone_and_those_queries_use_stay():
    donation = _indexes(Donation._meta.db_table)
    assert "donation_id_hash" in donation and "donation_unit_date" in donation
    assert "campaigns_donation_unit_id_9b565c0c" not in donation
    assert not [name for name in donation if name.endswith("_like")]
    history = {tuple(columns) for columns in _indexes(Donation.history.model._meta.db_table).values()}
    assert {("id",), ("history_date",), ("history_user_id",), ("unit_id",)} <= history
    assert not history & {("id_number_hash",), ("drive_id",), ("logged_by_id",), ("reviewed_by_id",)}


@postgresql_only
def test_the_person_lookups_are_served_by_an_index(unit_a, staff_user):
    """With sequential scans off (the test tables are tiny), the rules' read of a person's counted
    donations uses the partial unique index and the staff's view of all of them the hash index."""
    make_donation(unit_a, donated_on=TODAY, seq=11)
    wanted = lookup_hash(id_number(seq=11))
    plans = []

    def explain(execute, sql, params, many, context):
        execute("EXPLAIN " + sql, params, many, context)
        plans.append(" ".join(row[0] for row in context["cursor"].fetchall()))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        with connection.execute_wrapper(explain):
            assert [p.day for p in history_of([wanted])[wanted]] == [TODAY]
            rows = donor_history(Donation.objects.get(), user=staff_user).donations
        assert len(rows) == 1
    assert "donation_one_per_person_per_day" in plans[0]
    assert any("donation_id_hash" in plan for plan in plans[1:])


@postgresql_only
def test_the_verified_column_is_read_from_its_own_index(current_plan, unit_a):
    """The station-verified basis sums a unit's verified, counted donations from the partial
    covering index (migration 0023), without reading the table (the planner's choice where
    sequential and bitmap scans are off: the test tables are tiny)."""
    for seq, verified in ((21, True), (22, False)):
        donation = make_donation(unit_a, donated_on=TODAY, seq=seq)
        Donation.objects.filter(pk=donation.pk).update(station_verified=verified)
    plans = []

    def explain(execute, sql, params, many, context):
        if "station_verified" in sql:
            execute("EXPLAIN " + sql, params, many, context)
            plans.append(" ".join(row[0] for row in context["cursor"].fetchall()))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        with connection.execute_wrapper(explain):
            figures = quota_figures([current_plan.pk], year=TODAY.year, today=TODAY, basis=VERIFIED)
    assert [f.completed for f in figures.values()] == [1]
    assert len(plans) == 1 and "Index Only Scan using donation_verified_unit_date" in plans[0]

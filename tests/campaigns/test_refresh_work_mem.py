"""The background refresh sorts a whole country's quotas with more memory than a page view
gets (`campaigns.dashboard.figures.warm`, PostgreSQL): set for the refresh, reset after it, so
a web worker's persistent connection that ran a refresh keeps the default."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DataError, connection, transaction

from campaigns.dashboard import figures
from quotas.models import AnnualPlan
from units.models import Jurisdiction

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    """A published plan of 2026, so the refresh has a year to warm (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    city = Jurisdiction.objects.create(name="甲市", level=Jurisdiction.Level.CITY)
    return AnnualPlan.objects.create(jurisdiction=city, year=2026, status=AnnualPlan.Status.PUBLISHED)


def _work_mem() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        return cursor.fetchone()[0]


def test_the_refresh_sorts_with_more_memory_and_gives_it_back(published, monkeypatch):
    before = _work_mem()
    seen = []
    monkeypatch.setattr(figures, "dashboard_figures", lambda **kwargs: seen.append(_work_mem()))
    assert figures.warm(today=dt.date(2026, 6, 1)) == [2026]
    assert seen == [figures.REFRESH_WORK_MEM]
    assert _work_mem() == before


def test_a_failed_refresh_gives_it_back_too(published, monkeypatch):
    before = _work_mem()

    def fail(**kwargs):
        raise RuntimeError("the refresh failed")

    monkeypatch.setattr(figures, "dashboard_figures", fail)
    with pytest.raises(RuntimeError):
        figures.warm(today=dt.date(2026, 6, 1))
    assert _work_mem() == before


def test_a_database_error_in_the_refresh_is_the_error_raised(published, monkeypatch):
    """Inside a caller's transaction the failed statement aborts it: setting work_mem back must
    not replace the refresh's own error with "current transaction is aborted"."""
    before = _work_mem()

    def divide_by_zero(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(figures, "dashboard_figures", divide_by_zero)
    with pytest.raises(DataError, match="division by zero"), transaction.atomic():
        figures.warm(today=dt.date(2026, 6, 1))
    assert _work_mem() == before  # the savepoint's rollback undid the setting


def test_a_server_set_higher_keeps_its_own(published, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '64MB'")
    seen = []
    monkeypatch.setattr(figures, "dashboard_figures", lambda **kwargs: seen.append(_work_mem()))
    figures.warm(today=dt.date(2026, 6, 1))
    assert seen == ["64MB"] and _work_mem() == "64MB"

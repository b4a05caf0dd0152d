"""No reader waits for a big recomputation: beyond its budget a dashboard view shows the last
kept figures with their time; `refresh_figures` brings them up to date; marks are never lost."""

from __future__ import annotations

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import call_command

from campaigns.dashboard import kept
from campaigns.dashboard.figures import dashboard_figures
from campaigns.models import PlanProgressDirty
from tests.campaigns.test_dashboard import JULY, Tree, _fresh, _leader
from tests.factories import make_donation

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(db):
    return Tree()


def _page(jurisdiction, today=JULY, budget=0):
    return dashboard_figures(jurisdiction=jurisdiction, year=2026, today=today, budget=budget)


def test_over_budget_the_page_shows_the_last_kept_figures_and_says_since_when(tree):
    before = _page(tree.city)  # nothing kept yet: computed whatever the budget
    assert before["behind_since"] is None
    make_donation(tree.e, donated_on=dt.date(2026, 6, 2), seq=901)  # marks the county's plan
    behind = _page(tree.city)
    assert behind["behind_since"] is not None
    county = {c["name"]: c for c in behind["children"]}["仪征市"]
    assert county["on_time"] == {c["name"]: c for c in before["children"]}["仪征市"]["on_time"]
    assert PlanProgressDirty.objects.filter(plan__jurisdiction=tree.county1).exists()  # left for the refresher
    out = io.StringIO()
    with mock.patch("django.utils.timezone.localdate", return_value=JULY):
        call_command("refresh_figures", stdout=out)
    assert "2026" in out.getvalue()
    assert not PlanProgressDirty.objects.exists()
    after = _page(tree.city)
    assert after["behind_since"] is None and after == _fresh(tree.city, JULY) | {"behind_since": None}
    assert {c["name"]: c for c in after["children"]}["仪征市"]["on_time"] == county["on_time"] + 1


def test_within_budget_the_reader_recomputes_and_the_page_is_exact(tree):
    _page(tree.city)
    make_donation(tree.e, donated_on=dt.date(2026, 6, 2), seq=901)
    page = _page(tree.city, budget=10_000)
    assert page["behind_since"] is None and page == _fresh(tree.city, JULY)


def test_the_pages_own_plan_is_always_exact_and_the_first_of_the_month_shows_kept(tree):
    _page(tree.county1)
    make_donation(tree.e, donated_on=dt.date(2026, 6, 2), seq=901)
    page = _page(tree.county1)  # own plan: its unit table and summary computed afresh
    assert page["behind_since"] is None and page == _fresh(tree.county1, JULY)
    august = _page(tree.city, today=dt.date(2026, 8, 1))  # every summary of the city ran out
    assert august["behind_since"] is not None and august["as_of"] == "2026-08-01"


def test_a_failed_computation_leaves_the_marks_for_the_next_reader(tree):
    _page(tree.city)
    make_donation(tree.a, donated_on=dt.date(2026, 7, 1), seq=903)
    marks = PlanProgressDirty.objects.count()
    assert marks
    with mock.patch.object(kept, "_store", side_effect=RuntimeError("worker died")), pytest.raises(RuntimeError):
        dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    assert PlanProgressDirty.objects.count() == marks  # taken in the transaction that failed: back
    assert dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY) == _fresh(tree.city, JULY)


def test_the_page_says_when_figures_are_behind(tree, settings):
    client = _leader(tree.city)
    client.get("/dashboard/?year=2026")
    settings.DASHBOARD_RECOMPUTE_QUOTAS = 0
    make_donation(tree.e, donated_on=dt.date(2026, 6, 2), seq=901)
    page = client.get("/dashboard/?year=2026").content.decode()
    assert "后台正在更新" in page
    settings.DASHBOARD_RECOMPUTE_QUOTAS = 10_000
    assert "后台正在更新" not in client.get("/dashboard/?year=2026").content.decode()


def test_monthly_sums_beyond_their_budget_are_shown_as_kept_too(tree, settings):
    settings.DASHBOARD_RECOMPUTE_JURISDICTIONS = 0
    before = _page(tree.city)
    make_donation(tree.g, donated_on=dt.date(2026, 7, 1), seq=905)  # 高邮市: no plan, only its sums
    behind = _page(tree.city)
    county = {c["name"]: c for c in behind["children"]}["高邮市"]
    assert behind["behind_since"] is not None
    assert county["completed"] == {c["name"]: c for c in before["children"]}["高邮市"]["completed"]
    with mock.patch("django.utils.timezone.localdate", return_value=JULY):
        call_command("refresh_figures", stdout=io.StringIO())
    after = _page(tree.city)
    assert after["behind_since"] is None
    assert {c["name"]: c for c in after["children"]}["高邮市"]["completed"] == county["completed"] + 1

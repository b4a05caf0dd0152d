"""The leadership filter "仅血站核实" (?basis=verified): the same rules over the station-verified
donations only.

- For random trees, plans, quotas, donations, rejections, dates and random station
  verifications, every page on the verified basis equals the ordinary page (all reported) of the
  same database with every unverified donation deleted: the verified basis is the counting core
  applied to the verified donations, nothing else.
- The page and its export agree cell by cell on that basis, and say which basis they count.
- Scope holds: a leader sees only their subtree, whatever the basis.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.dashboard.figures import dashboard_figures
from campaigns.dashboard.kept import invalidate_all
from campaigns.models import Donation
from campaigns.selectors import ALL, VERIFIED, quota_figures
from tests.campaigns.test_counting_properties import YEAR, _build, donations, plan_statuses, quotas, todays, units
from tests.campaigns.test_dashboard import Tree, _leader
from tests.campaigns.test_dashboard_export import _both, check_lines, check_units

pytestmark = pytest.mark.django_db
EXAMPLES = max(int(os.environ.get("PROPERTY_EXAMPLES", "500")) // 5, 10)


def _verify(pks) -> None:
    """What stations' apply does to a matched donation's row (the triggers keep VerifiedTally)."""
    Donation.objects.filter(pk__in=pks).update(station_verified=True)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(units, plan_statuses, quotas, donations, st.lists(st.booleans(), min_size=24, max_size=24), todays)
def test_the_verified_basis_is_the_core_over_the_verified_donations_only(
    unit_specs, plan_specs, quota_specs, donation_specs, verified_flags, today
):
    with transaction.atomic():
        jurisdictions, made, _quotas = _build(unit_specs, plan_specs, quota_specs, donation_specs)
        pages = [*jurisdictions.values(), None]
        rows = list(Donation.objects.order_by("id").values_list("pk", flat=True))
        _verify([pk for pk, flag in zip(rows, verified_flags, strict=False) if flag])
        for j in pages:  # kept summaries of the all-reported basis exist: the verified basis ignores them
            dashboard_figures(jurisdiction=j, year=YEAR, today=today)
        verified = {j: dashboard_figures(jurisdiction=j, year=YEAR, today=today, basis=VERIFIED) for j in pages}
        plan_ids = list({q.plan_id for q in _quotas})
        verified_quotas = quota_figures(plan_ids, year=YEAR, today=today, basis=VERIFIED) if plan_ids else {}

        # The oracle: the same database without the unverified donations, counted as usual.
        Donation.objects.filter(station_verified=False).delete()
        invalidate_all()
        for j in pages:
            oracle = dashboard_figures(jurisdiction=j, year=YEAR, today=today)
            assert verified[j]["basis"] == VERIFIED and oracle["basis"] == ALL
            assert {k: v for k, v in verified[j].items() if k != "basis"} == {
                k: v for k, v in oracle.items() if k != "basis"
            }, j
        assert verified_quotas == (quota_figures(plan_ids, year=YEAR, today=today) if plan_ids else {})
        transaction.set_rollback(True)


@pytest.fixture
def tree(db):
    return Tree()


def _verify_some(tree) -> None:
    """Three of 仪化公司's five donations, one of 热电厂's and one of 市教育局's."""
    for unit, n in ((tree.e, 3), (tree.e1, 1), (tree.a, 1)):
        _verify(Donation.objects.filter(unit=unit).order_by("id").values_list("pk", flat=True)[:n])


def test_the_unit_table_shows_each_quotas_verified_count(tree):
    _verify_some(tree)
    county = dashboard_figures(jurisdiction=tree.county1, year=2026, today=dt.date(2026, 6, 1))
    row = next(u for u in county["units"] if u["id"] == tree.qe.pk)
    # 仪化公司's quota counts its own and its subordinate 热电厂's donations: 3 + 1 verified
    assert (row["completed"], row["verified"]) == (8, 4)
    assert row["verified_share"] == pytest.approx(4 / 8)
    assert county["units_totals"]["verified"] == 4
    page = _leader(tree.county1).get(f"/dashboard/?year=2026&j={tree.county1.pk}").content.decode()
    assert "4 · 50.0%" in page


@pytest.mark.parametrize("where", ["city", "county1"])
def test_page_and_export_agree_on_the_verified_basis(tree, where):
    _verify_some(tree)
    jurisdiction = getattr(tree, where)
    page, workbook = _both(_leader(jurisdiction), f"year=2026&j={jurisdiction.pk}&basis=verified")
    assert check_lines(page, workbook)
    assert check_units(page, workbook)
    summary = [row[0] for row in workbook["汇总"].iter_rows(values_only=True)]
    assert "（仅计血站核实）" in summary[0] and "（仅计血站核实）" in page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert any(str(line).startswith("只计血站采血记录核实的献血") for line in summary)
    figures = dashboard_figures(jurisdiction=jurisdiction, year=2026, today=dt.date(2026, 6, 1), basis=VERIFIED)
    everything = dashboard_figures(jurisdiction=jurisdiction, year=2026, today=dt.date(2026, 6, 1))
    assert figures["headline"]["completed"] == everything["headline"]["verified"] < everything["headline"]["completed"]
    # the toggle: both choices shown, the current one marked, links keep the basis
    assert 'aria-current="true">仅血站核实' in page and "全部上报</a>" in page
    assert "&amp;basis=verified" in page


def test_the_all_reported_export_is_unchanged_by_default(tree):
    _verify_some(tree)
    page, workbook = _both(_leader(tree.city), "year=2026")
    summary = [row[0] for row in workbook["汇总"].iter_rows(values_only=True)]
    assert "仅计血站核实" not in summary[0] and 'aria-current="true">全部上报' in page
    assert check_units(page, workbook)


def test_scope_holds_on_the_verified_basis(tree):
    _verify_some(tree)
    county_leader = _leader(tree.county1)
    for url in ("/dashboard/", "/dashboard/export.xlsx"):
        assert county_leader.get(f"{url}?year=2026&j={tree.city.pk}&basis=verified").status_code == 404
        assert county_leader.get(f"{url}?year=2026&j={tree.county2.pk}&basis=verified").status_code == 404
    page = county_leader.get("/dashboard/?year=2026&basis=verified").content.decode()
    assert "仪征市" in page and "高邮" not in page and "市教育局" not in page
    # its headline counts its subtree's verified donations only: 仪化公司 3 + 热电厂 1
    figures = dashboard_figures(jurisdiction=tree.county1, year=2026, today=dt.date(2026, 6, 1), basis=VERIFIED)
    assert figures["headline"]["completed"] == 4


def test_a_bulletin_frozen_on_the_verified_basis_says_so(tree):
    from django.test import Client

    from campaigns.models import Bulletin
    from tests.factories import UserFactory
    from units.models import StaffProfile

    _verify_some(tree)
    staff = UserFactory(username="office-city", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=tree.city)
    client = Client()
    client.force_login(staff)
    client.post("/dashboard/bulletins/new/", {"year": 2026, "j": tree.city.pk, "basis": "verified"})
    bulletin = Bulletin.objects.get()
    assert bulletin.figures["basis"] == VERIFIED and "仅计血站核实" in bulletin.title
    page = client.get(f"/dashboard/bulletins/{bulletin.pk}/").content.decode()
    assert "只计血站采血记录核实的献血" in page
    assert client.get(f"/dashboard/bulletins/{bulletin.pk}/compare/").status_code == 200

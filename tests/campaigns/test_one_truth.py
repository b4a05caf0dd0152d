"""One truth: the liaison page, the dashboard (fresh and kept) and the export give every quota the
same numbers. The three cases that once disagreed are named here; `test_counting_properties`
checks the same for random trees, plans and donations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from campaigns.dashboard.figures import dashboard_figures
from campaigns.dashboard.kept import invalidate_all
from tests.factories import (
    JurisdictionFactory,
    PlanFactory,
    QuotaFactory,
    UnitFactory,
    UserFactory,
    make_donation,
    make_liaison,
)

pytestmark = pytest.mark.django_db
JULY = dt.date(2026, 7, 15)


def liaison_figures(unit, *, today=JULY) -> dict[str, tuple[int, str]]:
    """What the unit's liaison sees on their home page: label → (completed, status)."""
    from campaigns.liaison import views

    user = UserFactory(username=f"liaison-{unit.pk}", role="联络员")
    make_liaison(user, unit)
    client = Client()
    client.force_login(user)
    with _today(views, today):
        response = client.get("/liaison/")
    return {p.quota.label: (p.completed, p.status) for p in response.context["progress"]}


class _today:
    """Let a view module's `timezone.localdate()` answer `day` (the views read today's date)."""

    def __init__(self, module, day):
        self.module, self.day = module, day

    def __enter__(self):
        from unittest import mock

        self.patch = mock.patch.object(self.module.timezone, "localdate", return_value=self.day)
        self.patch.start()

    def __exit__(self, *exc):
        self.patch.stop()


def dashboard_units(jurisdiction, *, today=JULY) -> dict[str, tuple[int, str]]:
    figures = dashboard_figures(jurisdiction=jurisdiction, year=2026, today=today)
    return {u["label"]: (u["completed"], u["status"]) for u in figures["units"]}


def test_two_groups_with_the_same_id_fingerprint_are_counted_apart():
    """Units {a, a+2, a+3, a+5} and {a, a+1, a+4, a+5}: same min, max, count and sum of ids. The
    dashboard pooled them and showed 0 where the liaison page showed 4."""
    county = JurisdictionFactory(name="仪征市")
    units = [UnitFactory(name=f"单位{i}", jurisdiction=county) for i in range(6)]
    assert [u.pk - units[0].pk for u in units] == list(range(6))
    plan = PlanFactory(jurisdiction=county)
    QuotaFactory(plan=plan, label="乙组", target=10, units=[units[i] for i in (0, 1, 4, 5)])  # due March
    QuotaFactory(
        plan=plan,
        label="甲组",
        target=10,
        units=[units[i] for i in (0, 2, 3, 5)],
        period_start=dt.date(2026, 8, 1),
        period_end=dt.date(2026, 8, 31),
    )
    for seq in (1, 3, 5, 7):
        make_donation(units[2], donated_on=dt.date(2026, 3, 5), seq=seq)
    assert dashboard_units(county)["甲组"][0] == 4
    assert dashboard_units(county)["乙组"][0] == 0
    assert liaison_figures(units[2])["甲组"][0] == 4


def test_a_subordinate_with_its_own_quota_counts_only_there_whoever_looks():
    """The parent's quota showed 0 on the dashboard and 3 on the parent's liaison page."""
    county = JurisdictionFactory(name="仪征市")
    parent = UnitFactory(name="区卫健委", jurisdiction=county)
    child = UnitFactory(name="区人民医院", jurisdiction=county, parent=parent)
    plan = PlanFactory(jurisdiction=county)
    QuotaFactory(plan=plan, label="区卫健委", target=5, units=[parent])
    QuotaFactory(plan=plan, label="区人民医院", target=3, units=[child])
    for seq in (1, 3, 5):
        make_donation(child, donated_on=dt.date(2026, 3, 5), seq=seq)
    assert dashboard_units(county) == {"区卫健委": (0, "overdue"), "区人民医院": (3, "done")}
    assert liaison_figures(parent) == {"区卫健委": (0, "overdue")}
    assert liaison_figures(child) == {"区人民医院": (3, "done")}


def test_kept_figures_do_not_depend_on_which_plans_were_stale_together():
    """A unit with a quota in its city's plan and in its county's plan: after an edit that marked
    only the county plan, the kept page said "overdue 0 / done 2" and a fresh one "overdue 1 / done 1"."""
    city = JurisdictionFactory(name="扬州市")
    county = JurisdictionFactory(name="仪征市", parent=city)
    unit = UnitFactory(name="仪化公司", jurisdiction=county)
    city_quota = QuotaFactory(plan=PlanFactory(jurisdiction=city), label="仪化公司（市）", target=5, units=[unit])
    county_quota = QuotaFactory(
        plan=PlanFactory(jurisdiction=county),
        label="仪化公司（县）",
        target=6,
        units=[unit],
        period_start=dt.date(2026, 6, 1),
        period_end=dt.date(2026, 6, 30),
    )
    for seq in range(1, 11, 2):
        make_donation(unit, donated_on=dt.date(2026, 3, 5), seq=seq)
    dashboard_figures(jurisdiction=city, year=2026, today=JULY)  # everything kept
    county_quota.target = 5  # marks only the county plan
    county_quota.save()
    kept = dashboard_figures(jurisdiction=city, year=2026, today=JULY)
    invalidate_all()
    fresh = dashboard_figures(jurisdiction=city, year=2026, today=JULY)
    assert kept == fresh
    counts = fresh["headline"]["status_counts"]
    assert (counts["overdue"], counts["done"]) == (0, 2)  # each plan counts the unit's 5 donations
    assert liaison_figures(unit) == {city_quota.label: (5, "done"), county_quota.label: (5, "done")}


def test_a_year_without_a_plan_has_no_verdict():
    city = JurisdictionFactory(name="扬州市")
    county = JurisdictionFactory(name="仪征市", parent=city)
    make_donation(UnitFactory(jurisdiction=county), donated_on=dt.date(2026, 3, 5))
    figures = dashboard_figures(jurisdiction=city, year=2026, today=JULY)
    assert figures["headline"]["status"] == "no_plan" and figures["headline"]["status_label"] == "无计划"
    assert [(c["name"], c["status"], c["completed"]) for c in figures["children"]] == [("仪征市", "no_plan", 1)]
    after_the_year = dashboard_figures(jurisdiction=city, year=2026, today=dt.date(2027, 1, 2))
    assert after_the_year["headline"]["status"] == "no_plan"

"""Issue 17's cascade and large-plan work in a real browser.

- Staff import a city's notice whose lines name its counties into the city's plan through the
  web import: one county is created from the preview (its choice comes preselected, so it is
  the confirmation's one click), a line printed with a note ("永定区（含城区）") is mapped to the
  existing county; once the plan is published, each county's page shows the city's figure as
  its 上级下达.
- Staff open a 150-quota plan's quota list from the plan's page, open one quota, change its task
  and save: the list comes back filtered by the plan, and the change is stored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from quotas.models import AnnualPlan, Quota
from tests.browser.test_journeys import login
from tests.factories import JurisdictionFactory, UserFactory
from units.models import Jurisdiction, StaffProfile, Unit

pytestmark = pytest.mark.django_db(transaction=True)

NOTICE = Path(__file__).resolve().parents[2] / "fixtures" / "notices" / "city-cascade-example.xlsx"
YEAR = 2025  # the notice's own year (its title says so): the test never depends on today's date


@pytest.fixture
def city(roles):
    city = JurisdictionFactory(name="张家界市", level=Jurisdiction.Level.CITY)
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=city)
    return city


def _decision(page, printed: str):
    row = page.locator("#decisions tbody tr", has=page.locator("td", has_text=printed))
    return row.locator("select")


def test_staff_import_a_city_notice_into_its_counties_and_see_a_countys_allocation(page, live_server, city, shoot):
    yongding = JurisdictionFactory(name="永定区", parent=city)
    login(page, live_server, "office", "/admin/quotas/annualplan/")
    page.click("text=从通知新建计划")
    page.click("#id_jurisdiction + .select2")
    page.keyboard.type("张家界")
    page.click(".select2-results__option:has-text('张家界市')")
    page.fill("#id_year", str(YEAR))
    page.set_input_files("#id_file", str(NOTICE))
    page.click("input[type=submit]")
    page.wait_for_selector("text=确认导入（全部写入）")
    assert "年度可能不对" not in page.inner_text("#content")

    # The counties come preselected as new sub-jurisdictions: creating 慈利县 takes no more than
    # the confirmation. The line printed with a note is offered the existing 永定区, preselected.
    cili = _decision(page, "慈利县")
    assert cili.input_value() == "sub:new"
    assert "新建下级行政区划“慈利县”" in cili.inner_text()
    assert _decision(page, "桑 植 县").input_value() == "sub:new"
    noted = _decision(page, "永定区（含城区）")
    assert noted.input_value() == f"sub:{yongding.pk}"
    noted.select_option(f"sub:{yongding.pk}")  # what staff do when it is not preselected
    shoot(page, "import-preview-cascade", full_page=False)
    page.click("text=确认导入（全部写入）")
    page.wait_for_selector(".messagelist")
    assert "新建下级行政区划 3" in page.inner_text(".messagelist")

    plan = AnnualPlan.objects.get(jurisdiction=city, year=YEAR)
    counties = dict(Jurisdiction.objects.filter(parent=city).values_list("name", "pk"))
    assert set(counties) == {"慈利县", "桑植县", "永定区", "武陵源区"}  # 桑 植 县 stored cleaned
    allocated = {q.sub_jurisdiction.name: q.target for q in plan.quotas.exclude(sub_jurisdiction=None)}
    assert allocated == {"慈利县": 2700, "桑植县": 1500, "永定区": 3000, "武陵源区": 400}
    assert set(Unit.objects.values_list("name", flat=True)) == {"市教育局", "市卫健委"}

    page.goto(f"{live_server.url}/admin/quotas/annualplan/")
    page.check(f"input[name=_selected_action][value='{plan.pk}']")
    page.select_option("select[name=action]", "publish")
    page.click("button[name=index]")
    page.wait_for_selector("text=已发布 1 个计划")

    # The county's own page: the city's figure is its 上级下达.
    page.goto(f"{live_server.url}/dashboard/?j={counties['慈利县']}&year={YEAR}")
    from_above = page.locator("#from-above")
    assert "上级下达" in from_above.inner_text() and "2,700" in from_above.inner_text()
    shoot(page, "dashboard-county-from-above")
    # …and the city's page lists it beside the county.
    page.goto(f"{live_server.url}/dashboard/?j={city.pk}&year={YEAR}")
    line = page.locator("table.grid tbody tr", has=page.locator("a", has_text="慈利县"))
    assert "2,700" in line.inner_text()


def _big_plan(city, size: int = 150) -> AnnualPlan:
    county = JurisdictionFactory(name="慈利县", parent=city)
    plan = AnnualPlan.objects.create(jurisdiction=county, year=YEAR, status=AnnualPlan.Status.PUBLISHED)
    units = Unit.objects.bulk_create(
        Unit(name=f"单位{i:03d}", normalized_name=f"单位{i:03d}", jurisdiction=county) for i in range(size)
    )
    whole_year = {"period_text": "全年", "period_start": dt.date(YEAR, 1, 1), "period_end": dt.date(YEAR, 12, 31)}
    quotas = Quota.objects.bulk_create(
        Quota(plan=plan, year=YEAR, label=unit.name, target=10, position=i, **whole_year)
        for i, unit in enumerate(units)
    )
    Quota.units.through.objects.bulk_create(
        Quota.units.through(quota_id=q.pk, unit_id=u.pk) for q, u in zip(quotas, units, strict=True)
    )
    return plan


def test_staff_save_an_edit_on_a_150_quota_plan_through_its_quota_list(page, live_server, city, shoot):
    plan = _big_plan(city)
    login(page, live_server, "office", f"/admin/quotas/annualplan/{plan.pk}/change/")
    page.click("text=查看和编辑任务")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 100  # paged
    page.fill("#searchbar", "单位123")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    page.click("#result_list tbody tr th a")
    page.fill("#id_target", "17")
    shoot(page, "admin-quota-change", full_page=False)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert "成功" in page.inner_text(".messagelist")
    # Back on the plan's own list, still filtered.
    assert f"plan={plan.pk}" in page.url and "q=%E5%8D%95%E4%BD%8D123" in page.url
    quota = plan.quotas.get(label="单位123")
    assert quota.target == 17
    assert plan.quotas.count() == 150 and plan.quotas.exclude(pk=quota.pk).filter(target=10).count() == 149

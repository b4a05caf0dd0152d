"""Drafting next year's allocation in a real browser (issue 22), down a cascade.

The city's office (扬州市) drafts 2025, adjusts its two counties' numbers and publishes; the
county's office (仪征市, starting from its real 2024 plan) finds the allocation waiting, drafts
its units against it with the 15 % rule and the hospitals' demand, adjusts units, reads the
curve, downloads the attachment in both formats and publishes. Waits go through the DOM (no
`wait_for_function`: the CSP forbids evaluated script).
"""

from __future__ import annotations

import pytest

from quotas.models import AnnualPlan, PlanDraft
from quotas.notice.reader import read_notice
from tests.factories import JurisdictionFactory, UserFactory
from tests.quotas.drafting_world import yizheng_2024
from units.models import StaffProfile, Unit
from units.services import unit_headcounts_set

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-for-tests-1"
DEMAND = "820\t760\t850\t880\t900\t870\t910\t930\t880\t900\t860\t940"  # a row copied from Excel


def login(page, live_server, username: str, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def figure(page, selector: str) -> str:
    return page.inner_text(selector).replace(",", "")  # grouped in English, not in Chinese


def adjust(page, label: str, **fields) -> None:
    page.click(f"tr:has(td:text-is('{label}')) >> a.adjust")
    page.wait_for_selector("#line-form")
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)
    page.click("#line-form input[type=submit]")
    page.wait_for_selector(".messagelist")


def test_staff_draft_a_cascade_adjust_view_the_curve_export_and_publish(page, live_server, roles, shoot, tmp_path):
    county, _ = yizheng_2024()
    city = county.parent
    JurisdictionFactory(name="邗江区", parent=city)
    organs = Unit.objects.filter(jurisdiction=county, category__in=["party_gov", "institution"])
    unit_headcounts_set(changes=[(u.pk, 40 + (u.pk * 37) % 400) for u in organs], reason="测试")
    for username, where in (("city-office", city), ("office", county)):
        StaffProfile.objects.create(user=UserFactory(username=username, role="献血办"), jurisdiction=where)

    # -- The city: two counties, two numbers, published.
    login(page, live_server, "city-office", "/admin/quotas/plandraft/")
    page.click("text=新建计划草稿")
    page.fill("#id_year", "2025")
    page.click("input[type=submit]")
    page.wait_for_selector("#summary")
    adjust(page, "仪征市", override="9800")
    adjust(page, "邗江区", override="7200")
    assert figure(page, "#drafted-total") == "17000"
    page.click("#publish-link")
    page.wait_for_selector("#confirm-publish")
    assert "新增 2" in page.inner_text("#publish-counts")
    page.click("#confirm-publish")
    page.wait_for_selector(".messagelist")
    city_plan = AnnualPlan.objects.get(jurisdiction=city, year=2025)
    assert city_plan.status == AnnualPlan.Status.PUBLISHED

    # -- The county: the allocation is waiting in its list.
    page.context.clear_cookies()
    login(page, live_server, "office", "/admin/quotas/plandraft/")
    waiting = page.inner_text("#from-above")
    assert "仪征市" in waiting and "9800" in waiting
    page.click("#from-above >> text=草拟分解")
    page.click("input[type=submit]")
    page.wait_for_selector("#summary")
    assert "9800" in page.inner_text("#from-above").replace(",", "")

    # Rules: 15 % of the headcount for organs and institutions, last year's task for the rest;
    # the hospitals' monthly demand pasted from a spreadsheet row.
    page.click("#settings summary")
    for category in ("party_gov", "institution"):
        page.select_option(f"#id_rule_{category}_kind", "rate")
        page.fill(f"#id_rule_{category}_value", "15")
    page.fill("#id_demand_paste", DEMAND)
    page.click("#settings input[type=submit]")
    page.wait_for_selector(".messagelist")
    summary = page.inner_text("#summary")
    assert figure(page, "#drafted-total") == "9800" and "与总数一致" in summary and "恰好覆盖" in summary

    # Two units adjusted: a number of its own, and a fixed month.
    adjust(page, "教育局", override="200")
    page.click("tr:has(td:text-is('刘集镇')) >> a.adjust")
    page.check("#id_period_mode_1")  # 固定时间
    page.check("#line-form input[name=fixed_periods][value='2']")  # 三月
    page.click("#line-form input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "200" in page.inner_text("tr:has(td:text-is('教育局'))")
    assert "三月" in page.inner_text("tr:has(td:text-is('刘集镇'))")
    assert figure(page, "#drafted-total") == "9800"

    # The curve: ECharts drew under the CSP; the largest gap is within its stated bound.
    page.goto(page.url.split("#")[0])
    page.wait_for_selector("#cumulative-chart svg")
    page.wait_for_selector("#period-chart svg")
    assert "保证上限" in page.inner_text("#largest-gap")
    draft = PlanDraft.objects.get(jurisdiction=county, year=2025)
    assert draft.result["within_bound"] and draft.result["total"] == 9800
    page.wait_for_timeout(1200)  # the charts' entry animation
    shoot(page, "drafting-workbench", full_page=False)

    # The attachment, both formats, read back by the portal's reader.
    for fmt in ("xlsx", "docx"):
        with page.expect_download() as download:
            page.click(f"#export-{fmt}")
        path = tmp_path / f"attachment.{fmt}"
        download.value.save_as(path)
        reading = read_notice(path.read_bytes(), path.name, year=2025)
        assert not reading.errors and reading.total == 9800
        assert {r.unit for r in reading.rows} >= {"教育局", "刘集镇", "仪化公司"}

    # Publish: the year's plan, from the attachment.
    page.click("#publish-link")
    page.wait_for_selector("#confirm-publish")
    shoot(page, "drafting-publish", full_page=False)
    page.click("#confirm-publish")
    page.wait_for_selector(".messagelist")
    plan = AnnualPlan.objects.get(jurisdiction=county, year=2025)
    assert plan.status == AnnualPlan.Status.PUBLISHED and plan.declared_total == 9800
    assert plan.quotas.get(label="教育局").target == 200
    assert plan.quotas.get(label="刘集镇").period_start.month == 3
    assert "已发布为" in page.inner_text(".messagelist")

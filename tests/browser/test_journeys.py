"""The three journeys, in a real browser against a live server.

- Blood-office staff create a plan by uploading a notice attachment, and publish it.
- A liaison logs two donors and uploads a roster, and cannot reach another unit's donor.
- Leadership opens the dashboard, drills down from the city to a county's unit table, and
  downloads the Excel export.

The pages are waited on through DOM state (`wait_for_selector`, locators), never through
`wait_for_function`, which evaluates script the Content-Security-Policy forbids.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from campaigns.models import Donation
from quotas.models import AnnualPlan
from tests.factories import JurisdictionFactory, QuotaFactory, UnitFactory, UserFactory, id_number, make_liaison
from units.models import Jurisdiction, StaffProfile

pytestmark = pytest.mark.django_db(transaction=True)

NOTICE = Path(__file__).resolve().parents[2] / "fixtures" / "notices" / "yizheng-2024.xlsx"
PASSWORD = "pw-for-tests-1"
TODAY = timezone.localdate()
# A day before today, in this year (on January 1 "yesterday" belongs to last year's plan).
EARLIER = max(TODAY - dt.timedelta(days=1), dt.date(TODAY.year, 1, 1))


@pytest.fixture
def world(roles):
    """A city with one county, two units with this year's quotas, and a donation of each unit."""
    city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
    county = JurisdictionFactory(name="仪征市", parent=city)
    plan = AnnualPlan.objects.create(jurisdiction=county, year=TODAY.year, status=AnnualPlan.Status.PUBLISHED)
    ours = UnitFactory(name="仪化公司", jurisdiction=county)
    theirs = UnitFactory(name="教育局", jurisdiction=county)
    whole_year = {"period_text": "全年", "period_start": dt.date(TODAY.year, 1, 1)}
    whole_year["period_end"] = dt.date(TODAY.year, 12, 31)
    QuotaFactory(plan=plan, label="仪化公司", units=[ours], target=20, **whole_year)
    QuotaFactory(plan=plan, label="教育局", units=[theirs], target=10, **whole_year)
    from tests.factories import make_donation

    other = make_donation(theirs, donated_on=EARLIER, seq=501)
    make_donation(ours, donated_on=EARLIER, seq=503)
    return {"city": city, "county": county, "plan": plan, "ours": ours, "theirs": theirs, "other_donation": other}


def login(page, live_server, username: str, next_url: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_staff_create_a_plan_from_a_notice_and_publish_it(page, live_server, world, shoot):
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=world["county"])
    login(page, live_server, "office", "/admin/quotas/annualplan/")
    shoot(page, "admin-plans")
    page.click("text=从通知新建计划")
    page.click("#id_jurisdiction + .select2")  # the jurisdiction picker searches (admin autocomplete)
    page.keyboard.type("仪征")
    page.click(".select2-results__option:has-text('仪征市')")
    page.fill("#id_year", "2024")
    page.set_input_files("#id_file", str(NOTICE))
    page.click("input[type=submit]")
    page.wait_for_selector("text=确认导入（全部写入）")
    assert "新增 123" in page.inner_text("#content")
    shoot(page, "import-preview", full_page=False)
    page.click("text=确认导入（全部写入）")
    page.wait_for_selector(".messagelist")

    plan = AnnualPlan.objects.get(jurisdiction=world["county"], year=2024)
    assert plan.quotas.count() == 123 and plan.status == AnnualPlan.Status.DRAFT
    page.goto(f"{live_server.url}/admin/quotas/annualplan/")
    page.check(f"input[name=_selected_action][value='{plan.pk}']")
    page.select_option("select[name=action]", "publish")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "已发布 1 个计划" in page.inner_text(".messagelist")
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.PUBLISHED
    # the audit trail names the file and the person
    page.goto(f"{live_server.url}/admin/quotas/annualplan/{plan.pk}/history/")
    history = page.inner_text("#content")
    assert "yizheng-2024.xlsx" in history and "office" in history
    shoot(page, "admin-history")


def _roster() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["无偿献血者人员名单"])
    sheet.append(["序号", "姓名", "性别", "身份证号", "献血日期", "献血量", "单位"])
    sheet.append([1, "周一", "男", id_number(seq=611), TODAY, 400, "仪化公司"])
    sheet.append([2, "吴二", "女", id_number(seq=612), TODAY, 300, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_liaison_logs_donors_uploads_a_roster_and_cannot_reach_another_unit(page, live_server, world, shoot):
    liaison = UserFactory(username="liaison", role="联络员")
    make_liaison(liaison, world["ours"])
    login(page, live_server, "liaison", "/liaison/")
    page.wait_for_selector("text=仪化公司")
    for name, seq in (("张三", 601), ("李四", 602)):
        page.goto(f"{live_server.url}/liaison/log/")
        page.fill("#id_donor_name", name)
        page.fill("#id_id_number", id_number(seq=seq))
        page.fill("#id_donated_on", TODAY.isoformat())
        page.select_option("#id_amount", "whole:400")
        page.click("main button[type=submit]")
        page.wait_for_selector(".messages, .message, .success")
    assert set(Donation.objects.filter(unit=world["ours"]).values_list("donor_name", flat=True)) >= {"张三", "李四"}

    page.goto(f"{live_server.url}/liaison/roster/")
    page.set_input_files(
        "#id_file", files=[{"name": "名单.xlsx", "mimeType": "application/octet-stream", "buffer": _roster()}]
    )
    page.click("main button[type=submit]")
    page.wait_for_selector("text=确认保存全部 2 条")
    shoot(page, "roster-preview")
    page.click("text=确认保存全部 2 条")
    page.wait_for_selector("text=已保存名单中的 2 条献血记录")
    home = page.inner_text("main")
    assert "周一" in home and "吴二" in home and "教育局" not in home
    assert id_number(seq=611) not in home  # masked
    shoot(page, "liaison-home")
    assert Donation.objects.filter(unit=world["ours"]).count() == 5

    other = world["other_donation"]
    response = page.goto(f"{live_server.url}/liaison/donations/{other.pk}/edit/")
    assert response.status == 404
    assert other.donor_name not in page.content()


def test_leadership_drills_down_and_downloads_the_excel(page, live_server, world, shoot, tmp_path):
    leader = UserFactory(username="leader", role="领导")
    StaffProfile.objects.create(user=leader, jurisdiction=world["city"])
    login(page, live_server, "leader", "/dashboard/")
    page.wait_for_selector("text=扬州市")
    page.wait_for_selector("#progress-chart svg")  # ECharts drew: the vendored script ran under the CSP
    shoot(page, "dashboard")
    page.click("table >> text=仪征市")
    page.wait_for_selector("table.units tbody tr")
    assert "仪征市" in page.inner_text(".breadcrumbs, main")
    # to the unit furthest behind: sort by shortfall
    page.select_option("select[name=sort]", "shortfall")
    page.click("form.toolbar button[type=submit]")
    page.wait_for_selector("table.units tbody tr")
    rows = page.locator("table.units tbody tr")
    assert rows.count() == 2
    first = rows.nth(0).inner_text()
    assert "仪化公司" in first and "19" in first  # task 20, one donation
    assert "教育局" in rows.nth(1).inner_text()
    shoot(page, "dashboard-units")

    with page.expect_download() as download:
        page.click("text=导出 Excel")
    path = tmp_path / "dashboard.xlsx"
    download.value.save_as(path)
    workbook = openpyxl.load_workbook(path)
    cells = [str(c) for ws in workbook for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert any("仪征市" in c for c in cells) and "仪化公司" in cells and "教育局" in cells

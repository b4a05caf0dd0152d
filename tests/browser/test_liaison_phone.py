"""The liaison's pages on a phone (390 × 844): no horizontal scrolling, the actions and the flag
reasons on screen, touch targets of at least 44 px."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from campaigns.models import Donation
from campaigns.services import donation_log
from quotas.models import AnnualPlan
from tests.factories import JurisdictionFactory, QuotaFactory, UnitFactory, UserFactory, id_number, make_liaison

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-for-tests-1"
PHONE = {"width": 390, "height": 844}
D = dt.date


@pytest.fixture
def liaison_world(roles):
    county = JurisdictionFactory(name="仪征市")
    plan = AnnualPlan.objects.create(jurisdiction=county, year=2026, status=AnnualPlan.Status.PUBLISHED)
    unit = UnitFactory(name="江苏仪征化纤有限责任公司第二分公司", jurisdiction=county)
    QuotaFactory(plan=plan, label=unit.name, units=[unit], target=20)
    for day in (D(2026, 11, 30), D(2026, 11, 20)):  # a backdated entry: both flagged
        donation_log(unit=unit, donor_name="欧阳娜娜", id_number=id_number(seq=701), donated_on=day, amount=400)
    liaison = UserFactory(username="liaison", role="联络员")
    make_liaison(liaison, unit)
    return unit


# The elements that reach past the screen's right edge, innermost first, so a failure names them.
_OVERFLOWING = """(limit) => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > limit)
  .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > limit))
  .slice(0, 5)
  .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)} px: `
    + e.textContent.trim().slice(0, 60))"""


def fits(page) -> None:
    # After a form's submit the text can be on the page before its stylesheet has loaded, and an
    # unstyled table is wider than the phone: measure the page as it is shown.
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        culprits = page.evaluate(_OVERFLOWING, PHONE["width"])
        pytest.fail(f"{page.url}: {width} px wide; past the edge: {culprits}")


def _roster() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "姓名", "性别", "身份证号", "献血日期", "献血量", "单位"])
    sheet.append([1, "司马相如", "男", id_number(seq=711), D(2026, 6, 1), 400, ""])
    sheet.append([2, "司马相如", "男", id_number(seq=711), D(2026, 5, 1), 400, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_every_liaison_page_fits_a_phone(page, live_server, liaison_world, shoot):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/?next=/liaison/")
    page.fill("#id_username", "liaison")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=最近登记的献血者")
    fits(page)
    donation = Donation.objects.get(donated_on=D(2026, 11, 30))

    page.goto(f"{live_server.url}/liaison/donations/")
    fits(page)
    assert page.is_visible("text=距上次全血献血（2026-11-20）仅 10 天") and page.is_visible(
        "text=距下次全血献血（2026-11-30）"
    )
    name = page.locator("td.name strong").first.bounding_box()
    assert name["height"] < 30  # one line, not a character a line
    for action in page.locator(".row-actions a").all():
        box = action.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44
    shoot(page, "phone-donor-list")

    for url in (
        "/liaison/log/",
        f"/liaison/donations/{donation.pk}/edit/",
        f"/liaison/donations/{donation.pk}/withdraw/",
    ):
        page.goto(live_server.url + url)
        page.wait_for_selector("main form")
        fits(page)
    shoot(page, "phone-withdraw-confirm")

    page.goto(f"{live_server.url}/liaison/roster/")
    page.set_input_files(
        "#id_file", files=[{"name": "名单.xlsx", "mimeType": "application/octet-stream", "buffer": _roster()}]
    )
    page.click("main button[type=submit]")
    page.wait_for_selector("text=确认保存全部 2 条")
    fits(page)
    assert page.is_visible("text=距下次全血献血（2026-06-01）")
    shoot(page, "phone-roster-preview")

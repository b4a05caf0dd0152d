"""Staff upload a photographed notice table whose number was misread, see the flagged cell's
picture beside its reading in the preview, correct it in place, re-check, confirm, and find the
corrected number on the plan (issue 20). The recognition runs three times (preview, re-check,
apply): about a minute on a 2-core machine."""

from __future__ import annotations

import pytest

from quotas.models import AnnualPlan
from tests.factories import JurisdictionFactory, UnitFactory, UserFactory
from tests.quotas import scans
from units.models import Jurisdiction, StaffProfile

from .test_journeys import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NAMES = ["刘集镇", "马集镇", "枣林湾旅游度假区管理办公室", "青山镇", "真州镇", "新集镇", "新城镇", "陈集镇", "大仪镇"]
NAMES.append("月塘镇")


def test_staff_correct_a_misread_number_in_the_preview_and_find_it_on_the_plan(
    page, live_server, roles, tmp_path, shoot
):
    city = JurisdictionFactory(name="扬州市", level=Jurisdiction.Level.CITY)
    county = JurisdictionFactory(name="仪征市", parent=city)
    for name in NAMES:
        UnitFactory(name=name, jurisdiction=county)
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=county)
    photo = tmp_path / "仪征附件1-拍照.jpg"
    photo.write_bytes(scans.misread_scan())
    page.set_default_timeout(180_000)  # OCR of a page on a busy 2-core machine

    login(page, live_server, "office", "/admin/quotas/annualplan/import/")
    page.click("#id_jurisdiction + .select2")
    page.keyboard.type("仪征")
    page.click(".select2-results__option:has-text('仪征市')")
    page.fill("#id_year", "2024")
    page.set_input_files("#id_file", str(photo))
    page.click("input[type=submit]")
    page.wait_for_selector("#ocr-review-help")

    # The flagged number: its picture beside what OCR read, and a field to correct it.
    field = page.locator(f"input[name='fix:{scans.MISREAD_REF}']")
    cell = page.locator(".ocr-cell", has=field)
    assert field.input_value() == scans.MISREAD_AS
    assert f"识别为 “{scans.MISREAD_AS}”" in cell.inner_text()
    picture = cell.locator("img")
    assert picture.get_attribute("src").startswith("data:image/png;base64,")
    assert picture.evaluate("img => img.complete && img.naturalWidth > 20")  # decoded, not a broken image
    assert "与 附件1!C14 的合计 3425 不符" in page.inner_text("#content")
    shoot(page, "import-scan-flagged", full_page=False)

    field.fill(scans.MISREAD_TRUE)
    page.click("input[name=recheck]")
    page.wait_for_selector("#corrections-made")
    assert f"“{scans.MISREAD_AS}” → “{scans.MISREAD_TRUE}”" in page.inner_text("#corrections-made")
    assert "不符" not in page.inner_text("table.preview")  # the total agrees now: no flag left
    assert not AnnualPlan.objects.exists()

    page.click("text=确认导入（全部写入）")
    page.wait_for_selector(".messagelist")
    assert "已导入 10 条任务" in page.inner_text(".messagelist")
    plan = AnnualPlan.objects.get(jurisdiction=county, year=2024)

    page.goto(f"{live_server.url}/admin/quotas/quota/?plan={plan.pk}")
    row = page.locator("#result_list tbody tr", has_text="刘集镇")
    assert scans.MISREAD_TRUE in row.inner_text() and scans.MISREAD_AS not in row.inner_text()
    page.goto(f"{live_server.url}/admin/quotas/annualplan/{plan.pk}/history/")
    history = page.inner_text("#content")
    assert f"{scans.MISREAD_REF} 识别为“{scans.MISREAD_AS}”，改为“{scans.MISREAD_TRUE}”" in history
    assert "office" in history

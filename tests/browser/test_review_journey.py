"""Issue 17's daily work in a real browser: staff merge a duplicate unit into the one kept, then
reject one donation and verify a flagged one on their pages, each with a reason; the liaison's
donor list shows both outcomes with their reasons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from campaigns.models import Donation
from tests.browser.test_journeys import EARLIER, login, world  # noqa: F401 - the shared world
from tests.factories import UnitFactory, UserFactory, make_donation, make_liaison
from units.models import StaffProfile, Unit, UnitAlias

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_merge_units_and_review_donations_and_the_liaison_sees_it(page, live_server, world, shoot):  # noqa: F811
    ours = world["ours"]
    duplicate = UnitFactory(name="仪征化纤", jurisdiction=world["county"])
    moved = make_donation(duplicate, donated_on=EARLIER, seq=601, donor_name="赵六")
    flagged = make_donation(ours, donated_on=EARLIER, seq=603, donor_name="钱七")
    Donation.objects.filter(pk=flagged.pk).update(flags=[{"code": "whole_interval", "message": "间隔不足 6 个月"}])
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=world["county"])
    make_liaison(UserFactory(username="liaison", role="联络员"), ours)

    # Merge: select both, choose the action, keep 仪化公司.
    login(page, live_server, "office", "/admin/units/unit/?q=%E4%BB%AA")
    for name in ("仪化公司", "仪征化纤"):
        row = page.locator("#result_list tbody tr", has=page.locator("th a", has_text=re.compile(f"^{name}$")))
        row.locator("input.action-select").check()
    page.select_option("select[name=action]", "merge_units")
    page.click("button[name=index]")
    page.wait_for_selector("text=选择保留的单位")
    page.check(f"#target-{ours.pk}")
    shoot(page, "admin-unit-merge")
    page.click("input[type=submit].default")
    page.wait_for_selector("text=已将 仪征化纤 并入 仪化公司")
    assert not Unit.objects.filter(pk=duplicate.pk).exists()
    assert Donation.objects.get(pk=moved.pk).unit_id == ours.pk
    assert UnitAlias.objects.filter(unit=ours, name="仪征化纤").exists()

    # Reject the moved donation with a reason, on its page.
    page.goto(f"{live_server.url}/admin/campaigns/donation/{moved.pk}/change/")
    page.fill("#review-reason", "血站无此人当日采血记录")
    page.click("button[value=rejected]")
    page.wait_for_selector("text=已退回：赵六")
    # Verify the flagged one: without a reason it is refused, with one it goes through.
    page.goto(f"{live_server.url}/admin/campaigns/donation/{flagged.pk}/change/")
    page.click("button[value=verified]")
    page.wait_for_selector("text=有规则提示：核实须填写处理说明")
    page.fill("#review-reason", "外地记录有误，间隔已核实")
    shoot(page, "admin-donation-review")
    page.click("button[value=verified]")
    page.wait_for_selector("text=已核实：钱七")

    page.context.clear_cookies()
    login(page, live_server, "liaison", "/liaison/donations/")
    text = page.inner_text("main")
    assert "退回原因：血站无此人当日采血记录" in text and "处理说明：外地记录有误，间隔已核实" in text
    assert "已核实" in text and "已退回" in text and "待复核" not in text


def test_staff_filter_the_review_list_by_typing_a_units_name(page, live_server, world):  # noqa: F811
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=world["county"])
    elsewhere = UnitFactory(name="仪表厂", jurisdiction=UnitFactory().jurisdiction)  # another office's
    login(page, live_server, "office", "/admin/campaigns/donation/")
    page.click("#filter-unit + .select2")
    page.keyboard.type("仪")
    # Only the office's own unit is offered (仪表厂 is another office's): one option, once the
    # search has answered (before, select2 lists everything it was first given).
    expect(page.locator(".select2-results__option")).to_have_text(["仪化公司"])
    assert elsewhere.name not in page.locator(".select2-results").inner_text()
    with page.expect_navigation():  # choosing applies the filter
        page.click(".select2-results__option:has-text('仪化公司')")
    assert f"unit__id__exact={world['ours'].pk}" in page.url
    units = page.locator("#result_list td.field-unit").all_inner_texts()
    assert units and set(units) == {"仪化公司"}

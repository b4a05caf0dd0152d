"""Review that fits the work (issue 17): the donation's page has 核实 / 退回 buttons and the
donor's history (masked); a reason is required to reject and to verify a flagged donation; the
liaison sees the outcome and the reason; another office's staff can do none of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from campaigns.models import Donation
from campaigns.services import ERROR_REASON_REJECT
from tests.factories import JurisdictionFactory, UnitFactory, UserFactory, id_number, make_donation
from units.models import StaffProfile

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 3)
FLAG = [{"code": "whole_interval", "message": "距上次全血献血不足 6 个月（2026-01-05）"}]


@pytest.fixture
def flagged(unit_a):
    donation = make_donation(unit_a, donated_on=DAY, seq=7, donor_name="王五")
    Donation.objects.filter(pk=donation.pk).update(flags=FLAG)
    donation.refresh_from_db()
    return donation


def _page(client, donation) -> str:
    return client.get(reverse("admin:campaigns_donation_change", args=[donation.pk])).content.decode()


def _review(client, donation, decision, reason=""):
    url = reverse("admin:campaigns_donation_review", args=[donation.pk])
    return client.post(url, {"decision": decision, "reason": reason}, follow=True)


def test_the_page_has_the_buttons_the_flags_in_words_and_the_donors_history(flagged, unit_b, staff_client):
    earlier = make_donation(unit_b, donated_on=dt.date(2026, 1, 5), seq=7, kind="platelets", amount=2)
    foreign_unit = UnitFactory(name="如皋港务局", jurisdiction=JurisdictionFactory(name="如皋市"))
    make_donation(foreign_unit, donated_on=dt.date(2025, 6, 1), seq=7)
    page = _page(staff_client, flagged)
    assert 'value="verified"' in page and 'value="rejected"' in page
    assert FLAG[0]["message"] in page and "whole_interval" not in page  # in words, not JSON
    assert "此献血者的献血记录" in page and "2026-01-05" in page and "教育局" in page and "单采血小板" in page
    assert reverse("admin:campaigns_donation_change", args=[earlier.pk]) in page
    assert flagged.id_number_masked in page and id_number(seq=7) not in page
    assert "如皋港务局" not in page and "另有 1 次献血记录在其他辖区" in page


def test_rejecting_needs_a_reason_that_the_liaison_then_sees(flagged, staff_client, liaison_client):
    refused = _review(staff_client, flagged, "rejected")
    assert ERROR_REASON_REJECT in refused.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == "logged"
    _review(staff_client, flagged, "rejected", "血站无此人当日采血记录")
    flagged.refresh_from_db()
    assert flagged.status == "rejected" and flagged.flag_resolution == "血站无此人当日采血记录"
    mine = liaison_client.get(reverse("campaigns:donor_list")).content.decode()
    assert "退回原因：血站无此人当日采血记录" in mine and "已退回" in mine and "待复核" not in mine


def test_verifying_a_flagged_donation_needs_a_reason_and_the_badge_follows(flagged, staff_client, liaison_client):
    assert "待复核" in liaison_client.get(reverse("campaigns:donor_list")).content.decode()
    refused = _review(staff_client, flagged, "verified")
    assert "有规则提示：核实须填写处理说明" in refused.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == "logged"
    _review(staff_client, flagged, "verified", "外地献血记录有误，间隔已核实")
    flagged.refresh_from_db()
    assert flagged.status == "verified"
    mine = liaison_client.get(reverse("campaigns:donor_list")).content.decode()
    assert "已核实" in mine and "待复核" not in mine and "处理说明：外地献血记录有误，间隔已核实" in mine


def test_an_unflagged_donation_is_verified_without_a_reason(unit_a, staff_client):
    donation = make_donation(unit_a, donated_on=DAY, seq=9)
    _review(staff_client, donation, "verified")
    donation.refresh_from_db()
    assert donation.status == "verified"


def test_the_list_actions_and_the_form_apply_the_same_rule(flagged, unit_a, staff_client):
    other = make_donation(unit_a, donated_on=DAY, seq=11)
    changelist = reverse("admin:campaigns_donation_changelist")
    response = staff_client.post(
        changelist, {"action": "reject", "_selected_action": [other.pk], "reason": ""}, follow=True
    )
    assert ERROR_REASON_REJECT in response.content.decode()
    staff_client.post(changelist, {"action": "verify", "_selected_action": [flagged.pk, other.pk]})
    assert not Donation.objects.filter(status="verified").exists()  # one flagged among them: none
    form = staff_client.post(
        reverse("admin:campaigns_donation_change", args=[other.pk]), {"status": "rejected", "flag_resolution": ""}
    )
    assert form.status_code == 200 and ERROR_REASON_REJECT in form.content.decode()
    assert Donation.objects.get(pk=other.pk).status == "logged"


def test_another_offices_staff_and_leadership_cannot_review(flagged, leader_client, client):
    other = UserFactory(username="rugao-office", role="献血办")
    StaffProfile.objects.create(user=other, jurisdiction=JurisdictionFactory(name="如皋市"))
    client.force_login(other)
    assert _review(client, flagged, "rejected", "不是我们的").status_code == 404
    assert client.get(reverse("admin:campaigns_donation_change", args=[flagged.pk])).status_code == 404
    assert _review(leader_client, flagged, "rejected", "领导").status_code == 403
    flagged.refresh_from_db()
    assert flagged.status == "logged"


def test_the_flags_are_in_the_staff_members_language(flagged, staff_client):
    """A flag is stored in Chinese (as the rule wrote it); an English page shows it in English."""
    from campaigns.donors.rules import FLAG_WHOLE_INTERVAL

    message = FLAG_WHOLE_INTERVAL.format(other="2026-01-05", days=57, limit=180)
    Donation.objects.filter(pk=flagged.pk).update(flags=[{"code": "whole_interval", "message": message}])
    staff_client.cookies["django_language"] = "en"
    page = _page(staff_client, flagged)
    assert message not in page
    assert page.count("Only 57 days since the previous whole-blood donation (2026-01-05)") == 3  # box, history, field

"""Staff review donations: verify or reject in bulk with a reason; full IDs and exports are recorded;
leadership never sees donors."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.urls import reverse

from campaigns.models import AccessEvent, Donation
from tests.factories import id_number, make_donation

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 3)


def test_bulk_verify_with_a_reason(staff_client, staff_user, unit_a):
    donations = [make_donation(unit_a, donated_on=DAY, seq=s) for s in (1, 3, 5)]
    staff_client.post(
        reverse("admin:campaigns_donation_changelist"),
        {
            "action": "verify",
            "_selected_action": [d.pk for d in donations[:2]],
            "reason": "间隔已核实：外地献血记录有误",
        },
    )
    verified = Donation.objects.filter(status="verified")
    assert verified.count() == 2
    assert {(d.reviewed_by, d.flag_resolution) for d in verified} == {(staff_user, "间隔已核实：外地献血记录有误")}
    staff_client.post(
        reverse("admin:campaigns_donation_changelist"),
        {"action": "reject", "_selected_action": [donations[2].pk], "reason": "重复登记"},
    )
    assert Donation.objects.get(pk=donations[2].pk).status == "rejected"


def test_flagged_filter(staff_client, unit_a):
    flagged = make_donation(unit_a, donated_on=DAY, seq=1)
    Donation.objects.filter(pk=flagged.pk).update(flags=[{"code": "whole_interval", "message": "间隔不足"}])
    make_donation(unit_a, donated_on=DAY, seq=3, donor_name="无提示者")
    page = staff_client.get(reverse("admin:campaigns_donation_changelist"), {"flagged": "yes"}).content.decode()
    assert "间隔不足" in page and "无提示者" not in page


def test_showing_a_full_id_is_recorded(staff_client, staff_user, unit_a):
    donation = make_donation(unit_a, donated_on=DAY, seq=7)
    response = staff_client.post(reverse("admin:campaigns_donation_show_id", args=[donation.pk]), follow=True)
    assert id_number(seq=7) in response.content.decode()
    event = AccessEvent.objects.get()
    assert (event.user, event.action, event.donation) == (staff_user, "show_id", donation)


def test_roster_export_has_full_ids_and_is_recorded(staff_client, unit_a):
    donation = make_donation(unit_a, donated_on=DAY, seq=7, donor_name="=cmd")
    response = staff_client.post(
        reverse("admin:campaigns_donation_changelist"), {"action": "export_roster", "_selected_action": [donation.pk]}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["D2"].value == id_number(seq=7) and sheet["B2"].value == "'=cmd"
    assert AccessEvent.objects.get().action == "export_roster"


def test_roster_export_speaks_the_staff_members_language(staff_client, unit_a):
    make_donation(unit_a, donated_on=DAY, seq=7, kind="platelets", amount=2)
    staff_client.cookies["django_language"] = "en"
    response = staff_client.post(
        reverse("admin:campaigns_donation_changelist"),
        {"action": "export_roster", "_selected_action": list(Donation.objects.values_list("pk", flat=True))},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["No.", "Name"] and not any(re.search("[\u4e00-\u9fff]", h) for h in header), header
    assert sheet["G2"].value == "2 therapeutic dose(s)"


def test_leadership_cannot_show_ids_or_list_donors(leader_client, unit_a):
    donation = make_donation(unit_a, donated_on=DAY, seq=7)
    assert leader_client.post(reverse("admin:campaigns_donation_show_id", args=[donation.pk])).status_code == 403
    assert leader_client.get(reverse("admin:campaigns_donation_changelist")).status_code == 403
    assert AccessEvent.objects.count() == 0


def test_the_change_page_reviews_through_the_service_and_leaves_the_facts_alone(staff_client, staff_user, unit_a):
    donation = make_donation(unit_a, donated_on=DAY, seq=9, donor_name="原名")
    url = reverse("admin:campaigns_donation_change", args=[donation.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="status"' in page and 'name="donated_on"' not in page and 'name="volume_ml"' not in page
    response = staff_client.post(
        url, {"status": "verified", "flag_resolution": "已电话核实", "donated_on": "2026-01-01", "donor_name": "改名"}
    )
    assert response.status_code == 302
    donation.refresh_from_db()
    assert (donation.status, donation.reviewed_by, donation.flag_resolution) == ("verified", staff_user, "已电话核实")
    assert (donation.donated_on, donation.donor_name) == (DAY, "原名")
    assert "已电话核实" in donation.history.first().history_change_reason

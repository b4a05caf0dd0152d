"""Editing a donation: the ID number (only ever shown masked) is kept unless a new one is typed,
every other field is prefilled — the phone too — and every rule runs again."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from campaigns.models import Donation
from core import crypto
from tests.factories import QuotaFactory, id_number, make_donation

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture(autouse=True)
def quota(plan, unit_a):
    return QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)


def form_values(html: str) -> dict:
    """What the browser would submit from the page as rendered."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) == "checkbox":
            if "checked" in tag:
                values[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, flags=re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = selected.group(1) if selected else ""
    return values


def test_an_edit_changing_only_the_date_keeps_every_other_field(liaison_client, unit_a):
    donation = make_donation(
        unit_a, donated_on=D(2026, 11, 20), seq=41, donor_name="赵六", phone="13800138000", declared_history=True
    )
    page = liaison_client.get(f"/liaison/donations/{donation.pk}/edit/").content.decode()
    values = form_values(page)
    assert values["id_number"] == "" and donation.id_number_masked in page  # never the full number
    assert id_number(seq=41) not in page
    assert values["phone"] == "13800138000" and values["declared_history"] == "on"
    values["donated_on"] = "2026-11-25"
    response = liaison_client.post(f"/liaison/donations/{donation.pk}/edit/", values)
    assert response.status_code == 302
    stored = Donation.objects.get(pk=donation.pk)
    assert stored.donated_on == D(2026, 11, 25)
    assert crypto.decrypt(stored.id_number_encrypted) == id_number(seq=41)
    assert crypto.decrypt(stored.phone_encrypted) == "13800138000"
    assert (stored.donor_name, stored.volume_ml, stored.unit, stored.declared_history) == ("赵六", 400, unit_a, True)
    assert stored.id_number_hash == donation.id_number_hash


def test_an_edit_may_change_the_id_and_reruns_the_rules(liaison_client, unit_a):
    make_donation(unit_a, donated_on=D(2026, 11, 1), seq=43)
    donation = make_donation(unit_a, donated_on=D(2026, 6, 1), seq=45)
    values = form_values(liaison_client.get(f"/liaison/donations/{donation.pk}/edit/").content.decode())
    values["id_number"] = "360426199101010072"  # wrong check character: refused, nothing changes
    page = liaison_client.post(f"/liaison/donations/{donation.pk}/edit/", values).content.decode()
    assert "第 18 位" in page and Donation.objects.get(pk=donation.pk).id_number_hash == donation.id_number_hash
    values["id_number"] = id_number(seq=43)  # now the same person as the 11-01 donation: both flagged
    liaison_client.post(f"/liaison/donations/{donation.pk}/edit/", values)
    assert [f["other"] for f in Donation.objects.get(pk=donation.pk).flags] == ["2026-11-01"]
    assert [f["other"] for f in Donation.objects.get(donated_on=D(2026, 11, 1)).flags] == ["2026-06-01"]

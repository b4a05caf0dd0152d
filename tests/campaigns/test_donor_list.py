"""The liaison's donor list: paging and search instead of stopping at 100, flag reasons written
out, and 撤回 only after a confirmation page."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns.models import Donation
from tests.factories import id_number, make_donation

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def many(unit_a, unit_b):
    """25 donors of the liaison's unit on 25 days of 2026, and one of another unit."""
    made = [
        make_donation(unit_a, donated_on=D(2026, 1, 1) + dt.timedelta(days=n), seq=100 + n, donor_name=f"甲{n:02d}")
        for n in range(25)
    ]
    make_donation(unit_b, donated_on=D(2026, 2, 1), seq=300, donor_name="外单位人")
    return made


def names(response) -> list[str]:
    return [d.donor_name for d in response.context["donations"]]


def test_the_list_pages_through_every_donor_newest_first(liaison_client, many, django_assert_num_queries):
    # session, user, the count, the page (with the unit joined), and the station's marks (the
    # page's linked records, the exports covering its days: campaigns.extensions)
    with django_assert_num_queries(6):
        first = liaison_client.get("/liaison/donations/")
    assert names(first) == [f"甲{n:02d}" for n in range(24, 4, -1)]
    assert "第 1 / 2 页" in first.content.decode() and "共 25 条" in first.content.decode()
    second = liaison_client.get("/liaison/donations/?page=2")
    assert names(second) == [f"甲{n:02d}" for n in range(4, -1, -1)]
    assert "外单位人" not in first.content.decode() + second.content.decode()


def test_search_by_name_masked_id_full_id_dates_and_status(liaison_client, many):
    assert names(liaison_client.get("/liaison/donations/", {"q": "甲07"})) == ["甲07"]
    last4 = id_number(seq=111)[-4:]
    assert "甲11" in names(liaison_client.get("/liaison/donations/", {"q": last4}))
    assert names(liaison_client.get("/liaison/donations/", {"q": id_number(seq=112)})) == ["甲12"]
    dated = liaison_client.get("/liaison/donations/", {"date_from": "2026-01-03", "date_to": "2026-01-04"})
    assert names(dated) == ["甲03", "甲02"]
    Donation.objects.filter(donor_name="甲05").update(status=Donation.Status.VERIFIED)
    assert names(liaison_client.get("/liaison/donations/", {"status": "verified"})) == ["甲05"]
    # the search survives paging
    page = liaison_client.get("/liaison/donations/", {"q": "甲", "page": 2})
    assert 'href="?q=%E7%94%B2&amp;page=1"' in page.content.decode()
    assert names(liaison_client.get("/liaison/donations/", {"q": "外单位人"})) == []


def test_flag_reasons_are_written_out_not_in_a_tooltip(liaison_client, unit_a):
    flagged = make_donation(unit_a, donated_on=D(2026, 3, 1), seq=121)
    Donation.objects.filter(pk=flagged.pk).update(
        flags=[{"code": "whole_interval", "message": "距下次全血献血（2026-03-20）仅 19 天，少于 182 天。"}]
    )
    page = liaison_client.get("/liaison/donations/").content.decode()
    assert "<li>距下次全血献血（2026-03-20）仅 19 天，少于 182 天。</li>" in page
    assert 'title="' not in page.split("<table", 1)[1]


def test_withdraw_asks_first(liaison_client, unit_a, unit_b):
    donation = make_donation(unit_a, donated_on=D(2026, 3, 1), seq=131, donor_name="孙七")
    confirm = liaison_client.get(f"/liaison/donations/{donation.pk}/withdraw/")
    assert confirm.status_code == 200 and "确认撤回" in confirm.content.decode() and "孙七" in confirm.content.decode()
    assert Donation.objects.filter(pk=donation.pk).exists()  # looking at the page changes nothing
    list_page = liaison_client.get("/liaison/donations/").content.decode()
    assert f'href="/liaison/donations/{donation.pk}/withdraw/"' in list_page  # a link to the page, no form
    done = liaison_client.post(f"/liaison/donations/{donation.pk}/withdraw/", follow=True)
    assert "已撤回 孙七 的登记" in done.content.decode() and not Donation.objects.filter(pk=donation.pk).exists()
    other = make_donation(unit_b, donated_on=D(2026, 3, 1), seq=133)
    assert liaison_client.get(f"/liaison/donations/{other.pk}/withdraw/").status_code == 404


def test_the_new_pages_speak_english(liaison_client, unit_a):
    donation = make_donation(unit_a, donated_on=D(2026, 3, 1), seq=141, declared_history=True)
    liaison_client.cookies["django_language"] = "en"
    listing = liaison_client.get("/liaison/donations/").content.decode()
    assert "1 donation" in listing and "Donated before (outside this portal)" in listing and "Search" in listing
    confirm = liaison_client.get(f"/liaison/donations/{donation.pk}/withdraw/").content.decode()
    assert "Withdraw this donation?" in confirm and "Cancel, keep it" in confirm
    edit = liaison_client.get(f"/liaison/donations/{donation.pk}/edit/").content.decode()
    assert "ID number (leave empty to keep it)" in edit and "leave empty to keep it" in edit

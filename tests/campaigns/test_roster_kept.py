"""A roster's confirmation saves the rows its preview checked and kept (encrypted beside the
staged file), checking again only what can have changed: the file is not read again, a donation
logged meanwhile is caught, and the preview page is counts and pages, not every row at once.
Fixed dates in 2026 (the `plan` fixture's year)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

import campaigns.rosters.services
import core.sandbox
from campaigns.liaison.views import KEPT_ROWS, PREVIEW_ROWS_PER_PAGE
from campaigns.models import Donation
from campaigns.rosters.services import ERROR_ROSTER_CHANGED, ERROR_ROSTER_CONFLICT, roster_keep, roster_restore
from campaigns.services import MANY_PEOPLE, donation_build, donation_log
from core import crypto, uploads
from core.models import StagedUpload
from tests.campaigns.test_interval_both_ways import roster
from tests.factories import QuotaFactory, id_number

pytestmark = pytest.mark.django_db
URL = "/liaison/roster/"
D = dt.date
DAY = D(2026, 11, 20)


@pytest.fixture(autouse=True)
def quota(plan, unit_a):
    return QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)


def rows(count: int, day=DAY, first_seq: int = 100) -> list[list]:
    return [[i + 1, f"献血者{i}", "", id_number(seq=first_seq + i), day, 400, ""] for i in range(count)]


def preview(client, unit, data):
    response = client.post(URL, {"unit": unit.pk, "file": SimpleUploadedFile("名单.xlsx", data)})
    assert response.status_code == 200
    return response


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_the_confirmation_reads_no_file_and_builds_no_row(liaison_client, unit_a, monkeypatch):
    token = preview(liaison_client, unit_a, roster(rows(3))).context["token"]

    def refused(*args, **kwargs):
        raise AssertionError("the confirmation read or rebuilt the roster")

    monkeypatch.setattr(core.sandbox, "run_bounded", refused)  # where the file is read
    monkeypatch.setattr(campaigns.rosters.services, "donation_build", refused)
    response = liaison_client.post(URL, {"token": token})
    assert response.status_code == 302
    assert Donation.objects.count() == 3


def test_the_confirmation_costs_the_same_queries_whatever_the_roster_size(client, liaison_user, unit_a):
    """Sizes above MANY_PEOPLE, where PostgreSQL takes one common lock instead of one a person.
    Inserts are left out: SQLite's bulk insert is batched by its limit on parameters."""
    client.force_login(liaison_user)
    counts = []
    for count, first in ((MANY_PEOPLE + 1, 100), (MANY_PEOPLE + 40, 300)):
        token = preview(client, unit_a, roster(rows(count, first_seq=first))).context["token"]
        with CaptureQueriesContext(connection) as queries:
            assert client.post(URL, {"token": token}).status_code == 302
        counts.append(len([q for q in queries if not q["sql"].lstrip().upper().startswith("INSERT")]))
    assert Donation.objects.count() == 2 * MANY_PEOPLE + 41
    assert counts[0] == counts[1]


def test_kept_rows_restore_the_donations_the_preview_built(liaison_user, unit_a):
    checked = campaigns.rosters.services.roster_preview(
        data=roster(rows(2)), filename="名单.xlsx", units=[unit_a], default_unit=unit_a, logged_by=liaison_user
    )
    restored = roster_restore(kept=roster_keep(checked), units=[unit_a], logged_by=liaison_user)
    fields = [f.attname for f in Donation._meta.concrete_fields]
    for before, after in zip(checked.rows, restored.rows, strict=True):
        assert [getattr(before.donation, f) for f in fields] == [getattr(after.donation, f) for f in fields]
        assert (after.row.ref, after.row.name, after.warnings, after.flags) == (
            before.row.ref,
            before.row.name,
            before.warnings,
            before.flags,
        )


def test_a_saved_row_is_what_logging_it_gives(liaison_client, liaison_user, unit_a):
    """The confirmation's bulk insert (COPY on PostgreSQL) writes each column as the ORM would,
    with its history row."""
    token = preview(liaison_client, unit_a, roster(rows(1))).context["token"]
    liaison_client.post(URL, {"token": token})
    saved = Donation.objects.get()
    built = donation_build(
        unit=unit_a, donor_name="献血者0", id_number=id_number(seq=100), donated_on=DAY, logged_by=liaison_user
    )
    skip = {"id", "id_number_encrypted", "logged_at"}  # a new id; Fernet is salted; the time
    for field in Donation._meta.concrete_fields:
        if field.attname not in skip:
            assert getattr(saved, field.attname) == getattr(built, field.attname), field.attname
    assert crypto.decrypt(saved.id_number_encrypted) == id_number(seq=100)
    entry = saved.history.get()
    assert entry.history_type == "+" and entry.history_user == liaison_user
    assert entry.history_change_reason.startswith("名单导入 名单.xlsx")


def test_a_same_day_donation_logged_after_the_preview_stops_the_confirmation(liaison_client, unit_a, unit_b):
    token = preview(liaison_client, unit_a, roster(rows(3))).context["token"]
    donation_log(unit=unit_b, donor_name="献血者1", id_number=id_number(seq=101), donated_on=DAY, check_plan_year=False)
    response = liaison_client.post(URL, {"token": token})
    assert ERROR_ROSTER_CONFLICT in messages_of(response)
    assert Donation.objects.count() == 1  # the one logged meanwhile: nothing of the roster
    assert "此人当天已有献血记录" in response.content.decode()
    assert "确认保存全部" not in response.content.decode()


def test_a_breach_that_appears_after_the_preview_is_shown_before_it_is_saved(liaison_client, unit_a, unit_b):
    token = preview(liaison_client, unit_a, roster(rows(3))).context["token"]
    donation_log(
        unit=unit_b,
        donor_name="献血者2",
        id_number=id_number(seq=102),
        donated_on=DAY - dt.timedelta(10),
        check_plan_year=False,
    )
    stopped = liaison_client.post(URL, {"token": token})
    assert ERROR_ROSTER_CHANGED.format(count=1) in messages_of(stopped)
    assert Donation.objects.count() == 1  # nothing of the roster yet
    page = stopped.content.decode()
    assert "预览后新出现" in page and "2026-11-10" in page and "确认保存全部 3 条" in page
    # confirmed again, now that the liaison has seen it: saved, flagged for review
    assert liaison_client.post(URL, {"token": token}).status_code == 302
    assert Donation.objects.count() == 4
    flagged = Donation.objects.get(unit=unit_a, id_number_hash=crypto.lookup_hash(id_number(seq=102)))
    assert [f["other"] for f in flagged.flags] == ["2026-11-10"]


def test_a_unit_taken_from_the_liaison_after_the_preview_stops_the_confirmation(liaison_client, liaison_user, unit_a):
    token = preview(liaison_client, unit_a, roster(rows(2))).context["token"]
    liaison_user.liaison.units.clear()
    liaison_client.post(URL, {"token": token})
    assert Donation.objects.count() == 0


def test_the_kept_rows_are_not_readable_in_clear(liaison_client, unit_a):
    token = preview(liaison_client, unit_a, roster(rows(3))).context["token"]
    upload = StagedUpload.objects.get(token=token)
    kept = uploads.load_derived(upload, KEPT_ROWS)
    assert kept is not None and crypto.lookup_hash(id_number(seq=100)).encode() in kept
    files = list((Path(settings.MEDIA_ROOT) / uploads.STAGING_DIR).iterdir())
    assert len(files) == 2  # the file and its checked rows
    secrets = [id_number(seq=100 + i) for i in range(3)]
    secrets += [crypto.lookup_hash(n) for n in secrets] + [f"献血者{i}" for i in range(3)]
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, (path.name, secret)
        assert b"***" not in content  # nor the masked numbers


def test_the_preview_counts_by_status_and_pages_the_rows_problems_first(liaison_client, unit_a):
    data = rows(120)
    data[117][4] = DAY - dt.timedelta(10)  # the same person as row 119, 10 days apart: both flagged
    data[117][3] = data[118][3]
    response = preview(liaison_client, unit_a, roster(data))
    token = response.context["token"]
    page = response.content.decode()
    counts = re.sub(r"\s+", " ", re.search(r'<ul class="roster-counts".*?</ul>', page, re.DOTALL).group())
    assert "<strong>0</strong> 行有错误" in counts and "<strong>2</strong> 行有提示或需复核" in counts
    assert "<strong>118</strong> 行无误" in counts
    cards = re.findall(r"<tr class=\"([^\"]*)\">", page)
    assert len(cards) == PREVIEW_ROWS_PER_PAGE and cards[:2] == ["row-warn", "row-warn"]
    assert f'href="?token={token}&amp;page=2"' in page
    # On a phone the cards run thousands of pixels: the confirmation is above them and below them.
    assert page.count("确认保存全部 120 条") == 2
    assert page.index("确认保存全部 120 条") < page.index('<table class="grid stack roster">')
    last = liaison_client.get(URL, {"token": token, "page": 3})
    assert len(re.findall(r"<tr class=", last.content.decode())) == 120 - 2 * PREVIEW_ROWS_PER_PAGE
    assert "确认保存全部 120 条" in last.content.decode()
    assert len(page) < 60_000  # 50 rows, not 120


def test_a_roster_with_errors_shows_its_first_page_of_problems_only(liaison_client, unit_a):
    data = rows(80)
    for row in data[40:]:
        row[3] = "110101199001011234"  # a wrong checksum
    response = preview(liaison_client, unit_a, roster(data))
    assert response.context["token"] is None
    page = response.content.decode()
    assert "<strong>40</strong> 行有错误" in page
    assert page.count('<tr class="row-error">') == 40 and "page=2" not in page
    assert "有错误的名单不保留，只显示第一页。" in page


def test_another_users_page_of_a_staged_preview_is_refused(client, liaison_client, unit_a, unit_b):
    from tests.factories import UserFactory, make_liaison

    token = preview(liaison_client, unit_a, roster(rows(2))).context["token"]
    other = UserFactory(username="liaison-b", role="联络员")
    make_liaison(other, unit_b)
    client.force_login(other)
    response = client.get(URL, {"token": token, "page": 1})
    assert response.status_code == 302 and "献血者0" not in response.content.decode()

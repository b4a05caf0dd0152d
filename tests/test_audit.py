"""The audit trail: who changed what and when, visible in the admin; imports and bulk reviews
appear as one entry each, naming the file or batch they came from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from campaigns.models import Donation
from quotas.models import AnnualPlan, Quota
from quotas.services import plan_import
from tests.campaigns.test_liaison_pages import TODAY, current_plan, log, roster, upload  # noqa: F401
from tests.factories import id_number, make_donation
from units.models import Unit

pytestmark = pytest.mark.django_db
NOTICES = Path(__file__).resolve().parents[1] / "fixtures" / "notices"


def test_an_admin_edit_records_the_user_and_the_change(staff_client, staff_user, unit_a):
    response = staff_client.post(
        reverse("admin:units_unit_change", args=[unit_a.pk]),
        {
            "name": "仪征化纤公司",
            "category": unit_a.category,
            "jurisdiction": unit_a.jurisdiction_id,
            "active": "on",
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
            "subordinates-TOTAL_FORMS": "0",
            "subordinates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    latest = unit_a.history.latest()
    assert (latest.history_type, latest.history_user, latest.name) == ("~", staff_user, "仪征化纤公司")
    assert [c.field for c in latest.diff_against(latest.prev_record).changes] == ["name"]
    page = staff_client.get(reverse("admin:units_unit_history", args=[unit_a.pk])).content.decode()
    assert "仪征化纤公司" in page and "office" in page


def test_a_notice_import_is_one_entry_naming_the_file(jurisdiction, staff_user):
    data = (NOTICES / "yizheng-2024.xlsx").read_bytes()
    plan_import(data=data, filename="yizheng-2024.xlsx", jurisdiction=jurisdiction, year=2024, user=staff_user)
    plan = AnnualPlan.objects.get(year=2024)
    (entry,) = plan.history.all()
    assert entry.history_user == staff_user
    assert "yizheng-2024.xlsx" in entry.history_change_reason and "新增 123 条" in entry.history_change_reason
    assert plan.sources.get().sha256[:12] in entry.history_change_reason
    # the 123 quotas it wrote carry the file as their source, and each its first entry naming it
    assert plan.quotas.filter(source=plan.sources.get()).count() == 123
    assert Quota.history.filter(history_type="+").count() == 123
    assert set(Quota.history.values_list("history_user", "history_change_reason")) == {
        (staff_user.pk, entry.history_change_reason)
    }


def test_the_imported_quotas_history_is_one_bulk_write_not_one_query_per_quota(jurisdiction, staff_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data = (NOTICES / "yizheng-2024.xlsx").read_bytes()
    table = Quota.history.model._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        plan_import(data=data, filename="yizheng-2024.xlsx", jurisdiction=jurisdiction, year=2024, user=staff_user)
    writes = [q for q in queries.captured_queries if table in q["sql"] and not q["sql"].startswith("SELECT")]
    # one INSERT … SELECT (SQLite: per 900 ids), not one per quota
    assert len(writes) == 1 and writes[0]["sql"].startswith("INSERT INTO")
    assert Quota.history.filter(history_type="+").count() == 123


def test_editing_an_imported_quota_shows_the_old_and_new_number(jurisdiction, staff_user, staff_client):
    data = (NOTICES / "yizheng-2024.xlsx").read_bytes()
    plan_import(data=data, filename="yizheng-2024.xlsx", jurisdiction=jurisdiction, year=2024, user=staff_user)
    quota = Quota.objects.filter(plan__year=2024, units__isnull=False).order_by("pk").first()
    old = quota.target
    quota.target = old + 2
    quota._history_user = staff_user
    quota.save()
    page = staff_client.get(reverse("admin:quotas_quota_history", args=[quota.pk])).content.decode()
    assert re.search(rf"任务数:</strong>\s*{old}&nbsp;&rarr;&nbsp;&nbsp;{old + 2}", page)
    assert "变更内容" in page and ">Changes<" not in page


def test_the_plan_history_shows_choices_as_their_labels_under_translated_headers(staff_client, plan):
    AnnualPlan.objects.filter(pk=plan.pk).update(status=AnnualPlan.Status.DRAFT)
    plan.refresh_from_db()
    plan.save()  # the first entry: as a draft
    staff_client.post(
        reverse("admin:quotas_annualplan_changelist"), {"action": "publish", "_selected_action": [plan.pk]}
    )
    page = staff_client.get(reverse("admin:quotas_annualplan_history", args=[plan.pk])).content.decode()
    assert re.search(r"状态:</strong>\s*草稿&nbsp;&rarr;&nbsp;&nbsp;已发布", page)
    assert "published" not in page and "Changes" not in page and "变更内容" in page
    staff_client.cookies["django_language"] = "en"
    english = staff_client.get(reverse("admin:quotas_annualplan_history", args=[plan.pk])).content.decode()
    assert "Changes</th>" in english and "Draft" in english and "变更内容" not in english


def test_publishing_a_plan_is_recorded(staff_client, staff_user, plan):
    AnnualPlan.objects.filter(pk=plan.pk).update(status=AnnualPlan.Status.DRAFT)
    staff_client.post(
        reverse("admin:quotas_annualplan_changelist"), {"action": "publish", "_selected_action": [plan.pk]}
    )
    latest = plan.history.latest()
    assert latest.status == AnnualPlan.Status.PUBLISHED and latest.history_user == staff_user
    assert "已发布" in latest.history_change_reason


def test_a_roster_is_one_entry_per_donation_naming_file_and_batch(liaison_client, liaison_user, current_plan, unit_a):  # noqa: F811
    data = roster(
        [[1, "甲", "男", id_number(seq=21), TODAY, 400, ""], [2, "乙", "女", id_number(seq=22), TODAY, 300, ""]]
    )
    preview = upload(liaison_client, data, unit_a)
    liaison_client.post("/liaison/roster/", {"token": preview.context["token"]})
    entries = list(Donation.history.all())
    assert len(entries) == 2 and {e.history_user for e in entries} == {liaison_user}
    reasons = {e.history_change_reason for e in entries}
    assert len(reasons) == 1 and "名单.xlsx" in reasons.pop()


def test_a_bulk_verification_is_one_batch(staff_client, staff_user, unit_a):
    donations = [make_donation(unit_a, donated_on=TODAY, seq=seq) for seq in (31, 32, 33)]
    staff_client.post(
        reverse("admin:campaigns_donation_changelist"),
        {"action": "verify", "_selected_action": [d.pk for d in donations[:2]], "reason": "献血屋核对无误"},
    )
    entries = list(Donation.history.filter(history_type="~"))
    assert len(entries) == 2 and {e.history_user for e in entries} == {staff_user}
    (reason,) = {e.history_change_reason for e in entries}
    assert "共 2 条" in reason and "献血屋核对无误" in reason and re.search(r"批次 [0-9a-f]{10}", reason)
    assert {e.status for e in entries} == {Donation.Status.VERIFIED}
    # the batch is searchable in the audit list
    batch = re.search(r"批次 ([0-9a-f]{10})", reason).group(1)
    listing = staff_client.get(reverse("admin:campaigns_historicaldonation_changelist"), {"q": batch})
    assert listing.context["cl"].result_count == 2


def test_a_liaison_logging_a_donor_is_the_author(liaison_client, liaison_user, current_plan):  # noqa: F811
    log(liaison_client)
    entry = Donation.history.get()
    assert (entry.history_type, entry.history_user) == ("+", liaison_user)


def test_a_logged_donation_and_its_history_row_hold_the_same_values(liaison_client, current_plan):  # noqa: F811
    # donation_save writes both rows in SQL; the history row is copied from the stored one
    log(liaison_client)
    stored, entry = Donation.objects.get(), Donation.history.get()
    for field in Donation.history.model.tracked_fields:
        assert getattr(entry, field.attname) == getattr(stored, field.attname), field.name
    assert entry.history_date == stored.logged_at and entry.history_change_reason == ""
    assert stored.id_number_encrypted and stored.flags == [] and stored.status == Donation.Status.LOGGED


def test_history_keeps_no_id_number_ciphertext():
    fields = {f.name for f in Donation.history.model._meta.get_fields()}
    assert "id_number_encrypted" not in fields and "phone_encrypted" not in fields
    assert "id_number_masked" in fields


def test_a_past_version_page_cannot_overwrite_the_record(leader_client, staff_client, unit_a):
    version = unit_a.history.earliest().history_id
    url = reverse("admin:units_unit_simple_history", args=[unit_a.pk, version])
    form = {
        "name": "改掉",
        "category": unit_a.category,
        "jurisdiction": unit_a.jurisdiction_id,
        "aliases-TOTAL_FORMS": "0",
        "aliases-INITIAL_FORMS": "0",
        "subordinates-TOTAL_FORMS": "0",
        "subordinates-INITIAL_FORMS": "0",
    }
    assert leader_client.get(url).status_code == 200
    assert leader_client.post(url, form).status_code == 403
    assert staff_client.post(url, form).status_code == 403
    assert Unit.objects.get(pk=unit_a.pk).name == "仪化公司"


def test_leadership_reads_plan_history_but_never_donors(leader_client, unit_a):
    make_donation(unit_a, donated_on=TODAY)
    assert leader_client.get(reverse("admin:quotas_historicalannualplan_changelist")).status_code == 200
    assert leader_client.get(reverse("admin:campaigns_historicaldonation_changelist")).status_code == 403


def test_the_plan_history_list_reads_jurisdictions_with_the_list(staff_client, plan, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:quotas_historicalannualplan_changelist")
    staff_client.get(url)
    with CaptureQueriesContext(connection) as one:
        staff_client.get(url)
    for year in range(2027, 2033):
        AnnualPlan.objects.create(jurisdiction=plan.jurisdiction, year=year)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = staff_client.get(url).content.decode()
    assert page.count(f"{plan.jurisdiction.name} 20") >= 7

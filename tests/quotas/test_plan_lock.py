"""A closed plan (已结束) is locked (issue 17): its quotas are read only for staff in the admin —
change, delete, bulk delete, add, the flat import and the notice import — until they reopen the
plan, which asks first and is an entry in the plan's history and the admin log. Another
office's staff cannot reopen it; leadership cannot either."""

from __future__ import annotations

import pytest
import tablib
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from quotas.models import AnnualPlan, Quota
from quotas.resources import QuotaResource
from quotas.services import CHANGE_REASON_REOPEN, plan_set_status
from tests.factories import JurisdictionFactory, QuotaFactory, UserFactory
from units.models import StaffProfile

pytestmark = pytest.mark.django_db

FIELDS = ["id", "plan", "unit", "target", "period_text", "start", "end", "location", "headcount", "advisory", "seq"]


@pytest.fixture
def closed(plan, unit_a):
    quota = QuotaFactory(plan=plan, label="仪化公司", target=5, units=[unit_a])
    plan_set_status(plans=[plan], status=AnnualPlan.Status.CLOSED)
    plan.refresh_from_db()
    return plan, quota


def _quota_form(quota, **changes):
    return {
        "plan": quota.plan_id,
        "label": quota.label,
        "units": [u.pk for u in quota.units.all()],
        "target": quota.target,
        "period_text": quota.period_text,
        "period_start": quota.period_start.isoformat(),
        "period_end": quota.period_end.isoformat(),
        "location": "",
        "position": 0,
        **changes,
    }


def test_a_closed_plans_quota_opens_read_only_and_a_post_is_refused(closed, staff_client):
    plan, quota = closed
    url = reverse("admin:quotas_quota_change", args=[quota.pk])
    page = staff_client.get(url)
    text = page.content.decode()
    assert page.status_code == 200 and 'name="_save"' not in text and "已结束，任务只读" in text
    assert staff_client.post(url, _quota_form(quota, target=7)).status_code == 403
    quota.refresh_from_db()
    assert quota.target == 5


def test_a_closed_plans_quotas_cannot_be_deleted_one_or_in_bulk(closed, staff_client):
    plan, quota = closed
    assert staff_client.post(reverse("admin:quotas_quota_delete", args=[quota.pk]), {"post": "yes"}).status_code == 403
    staff_client.post(
        reverse("admin:quotas_quota_changelist"),
        {"action": "delete_selected", "_selected_action": [quota.pk], "post": "yes"},
    )
    assert Quota.objects.filter(pk=quota.pk).exists()


def test_no_quota_is_added_to_a_closed_plan(closed, staff_client):
    plan, quota = closed
    response = staff_client.post(reverse("admin:quotas_quota_add"), _quota_form(quota, label="新单位"))
    assert response.status_code == 200 and Quota.objects.count() == 1  # the form says: not a valid choice
    page = staff_client.get(reverse("admin:quotas_quota_changelist") + f"?plan={plan.pk}").content.decode()
    assert "计划已结束：任务只读。" in page and reverse("admin:quotas_quota_add") + f"?plan={plan.pk}" not in page


def test_the_flat_import_refuses_a_closed_plans_rows(closed):
    plan, quota = closed
    data = tablib.Dataset(headers=FIELDS)
    data.append([quota.pk, plan.pk, "仪化公司", 9, "3月份", "2026-03-01", "2026-03-31", "", "", "0", ""])
    result = QuotaResource().import_data(data, dry_run=False, raise_errors=False)
    assert result.has_errors()
    quota.refresh_from_db()
    assert quota.target == 5


def test_the_closed_plan_itself_is_read_only_and_cannot_be_deleted(closed, staff_client):
    plan, _ = closed
    page = staff_client.get(reverse("admin:quotas_annualplan_change", args=[plan.pk])).content.decode()
    assert 'name="_save"' not in page and reverse("admin:quotas_annualplan_reopen", args=[plan.pk]) in page
    assert (
        staff_client.post(reverse("admin:quotas_annualplan_delete", args=[plan.pk]), {"post": "yes"}).status_code == 403
    )
    assert AnnualPlan.objects.filter(pk=plan.pk).exists()


def test_publishing_does_not_reopen_a_closed_plan_silently(closed, staff_client):
    plan, _ = closed
    response = staff_client.post(
        reverse("admin:quotas_annualplan_changelist"), {"action": "publish", "_selected_action": [plan.pk]}, follow=True
    )
    assert "重新开放所选计划" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.CLOSED


def test_reopening_asks_first_is_audited_and_unlocks_the_quotas(closed, staff_client, staff_user):
    plan, quota = closed
    url = reverse("admin:quotas_annualplan_reopen", args=[plan.pk])
    ask = staff_client.get(url)
    assert ask.status_code == 200 and "确认重新开放" in ask.content.decode()
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.CLOSED  # asking changed nothing
    staff_client.post(url)
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.PUBLISHED
    entry = plan.history.latest()
    assert entry.history_user == staff_user
    assert entry.history_change_reason == CHANGE_REASON_REOPEN.format(status="已发布")
    assert LogEntry.objects.get(object_id=str(plan.pk)).change_message == "重新开放"
    change = staff_client.post(reverse("admin:quotas_quota_change", args=[quota.pk]), _quota_form(quota, target=7))
    assert change.status_code == 302
    quota.refresh_from_db()
    assert quota.target == 7


def test_the_reopen_action_asks_on_a_page_then_reopens(closed, staff_client):
    plan, _ = closed
    changelist = reverse("admin:quotas_annualplan_changelist")
    ask = staff_client.post(changelist, {"action": "reopen", "_selected_action": [plan.pk]})
    assert "确认重新开放" in ask.content.decode()
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.CLOSED
    staff_client.post(changelist, {"action": "reopen", "_selected_action": [plan.pk], "post": "yes"})
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.PUBLISHED


def test_another_office_and_leadership_cannot_reopen(closed, leader_client, client):
    plan, _ = closed
    other = UserFactory(username="rugao-office", role="献血办")
    StaffProfile.objects.create(user=other, jurisdiction=JurisdictionFactory(name="如皋市"))
    client.force_login(other)
    url = reverse("admin:quotas_annualplan_reopen", args=[plan.pk])
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    changelist = reverse("admin:quotas_annualplan_changelist")
    client.post(changelist, {"action": "reopen", "_selected_action": [plan.pk], "post": "yes"})
    assert leader_client.post(url).status_code == 403
    leader_client.post(changelist, {"action": "reopen", "_selected_action": [plan.pk], "post": "yes"})
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.CLOSED

"""Deleting a plan: every quota's deletion is in the audit trail, written in bulk."""

from __future__ import annotations

import pytest

from quotas.models import AnnualPlan, Quota
from quotas.services import plan_delete
from tests.factories import PlanFactory, QuotaFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_a_plan_goes_with_its_quotas_and_each_leaves_a_history_row(
    jurisdiction, staff_user, django_assert_max_num_queries
):
    plan = PlanFactory(jurisdiction=jurisdiction, year=2026)
    other = PlanFactory(jurisdiction=jurisdiction, year=2025)
    units = [UnitFactory(name=f"单位{i}", jurisdiction=jurisdiction) for i in range(30)]
    for i, unit in enumerate(units):
        QuotaFactory(plan=plan, label=unit.name, target=i + 1, units=[unit])
    kept = QuotaFactory(plan=other, label="去年", target=5, units=[units[0]])
    Quota.history.all().delete()
    plan_id = plan.pk
    with django_assert_max_num_queries(25):  # not one per quota
        assert plan_delete(plan=plan, user=staff_user) == 30
    assert not AnnualPlan.objects.filter(pk=plan_id).exists()
    assert list(Quota.objects.all()) == [kept] and list(kept.units.all()) == [units[0]]
    gone = Quota.history.filter(history_type="-")
    assert gone.count() == 30 and {h.history_user for h in gone} == {staff_user}
    assert {h.target for h in gone} == set(range(1, 31))
    assert "共 30 条任务" in gone.first().history_change_reason
    assert AnnualPlan.history.filter(history_type="-", id=plan_id, history_user=staff_user).exists()


def test_the_admin_confirms_with_a_count_and_deletes_through_the_service(jurisdiction, staff_client, staff_user):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    staff_user.user_permissions.add(Permission.objects.get(codename="delete_annualplan"))
    plan = PlanFactory(jurisdiction=jurisdiction, year=2026)
    for i in range(3):
        QuotaFactory(
            plan=plan, label=f"单位{i}", target=2, units=[UnitFactory(name=f"单位{i}", jurisdiction=jurisdiction)]
        )
    url = reverse("admin:quotas_annualplan_delete", args=[plan.pk])
    page = staff_client.get(url).content.decode()
    assert "及其 3 条任务" in page and "单位1" not in page
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert not AnnualPlan.objects.exists()
    assert Quota.history.filter(history_type="-", history_user=staff_user).count() == 3

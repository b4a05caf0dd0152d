"""`make run`'s demo loader: against an empty database it yields the three real plans with the
quota counts and totals their expected JSON gives, a current-year plan, users and donations."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum

from campaigns.counting import DONE, OVERDUE
from campaigns.models import Donation
from campaigns.selectors import quota_progress
from quotas.models import AnnualPlan, Quota

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
EXPECTED = {
    ("袁州区", 2023): "yuanzhou-2023.xlsx.expected.json",
    ("如皋市", 2023): "rugao-2023.xlsx.expected.json",
    ("仪征市", 2024): "yizheng-2024.xlsx.expected.json",
}

pytestmark = pytest.mark.django_db


TODAY = dt.date(2026, 7, 15)


@pytest.fixture
def demo():
    call_command("load_demo", "--today", TODAY.isoformat(), stdout=io.StringIO())


@pytest.mark.parametrize(("key", "expected_file"), EXPECTED.items())
def test_demo_plans_match_their_notices(demo, key, expected_file):
    expected = json.loads((NOTICES / expected_file).read_text(encoding="utf-8"))
    rows = [row for sheet in expected["sheets"].values() for row in sheet]
    plan = AnnualPlan.objects.get(jurisdiction__name=key[0], year=key[1])
    assert plan.quotas.count() == len(rows)
    want_total = sum(r["target"] for r in rows if not r["advisory"])
    assert plan.quotas.filter(advisory=False).aggregate(t=Sum("target"))["t"] == want_total
    if "document_number" in expected["plan"]:
        assert plan.document_number == expected["plan"]["document_number"]
    assert plan.sources.count() == 1


def test_demo_has_a_current_plan_users_and_a_spread_of_progress(demo):
    today = TODAY
    current = AnnualPlan.objects.get(year=today.year)
    assert current.status == AnnualPlan.Status.PUBLISHED and current.quotas.count() == 123
    quotas = list(Quota.objects.filter(plan=current).prefetch_related("units"))
    statuses = {p.status for p in quota_progress(quotas, today=today)}
    assert {DONE, OVERDUE} <= statuses and len(statuses) >= 3
    assert Donation.objects.count() > 10_000
    assert not Donation.objects.filter(donated_on__gt=today).exists()
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    for username, password in [
        ("office", "office-demo-2026"),
        ("leader", "leader-demo-2026"),
        ("liaison", "liaison-demo-2026"),
    ]:
        request = RequestFactory().post("/accounts/login/")  # django-axes needs the request
        assert authenticate(request, username=username, password=password) is not None


def test_demo_loader_is_safe_to_run_twice(demo):
    counts = (AnnualPlan.objects.count(), Quota.objects.count(), Donation.objects.count())
    call_command("load_demo", "--today", TODAY.isoformat(), stdout=io.StringIO())
    assert (AnnualPlan.objects.count(), Quota.objects.count(), Donation.objects.count()) == counts

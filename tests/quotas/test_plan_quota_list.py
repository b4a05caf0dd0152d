"""A plan's quotas in their own paged list: the plan page stays small whatever the plan's size.

The plan's change page used to hold an inline of every quota (~15 POSTed fields each): a plan
with more than ~65 quotas could not be saved (TooManyFieldsSent) and took seconds to open.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from quotas.models import Quota
from tests.factories import JurisdictionFactory, PlanFactory
from units.models import Unit

pytestmark = pytest.mark.django_db

SIZE = 3000


@pytest.fixture
def big_plan(staff_user):
    """A 3,000-quota plan (2,999 units and one county allocation), written in bulk, in the
    staff member's jurisdiction."""
    from units.models import StaffProfile

    city = JurisdictionFactory(name="张家界市", level=2)
    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": city})
    county = JurisdictionFactory(name="慈利县", parent=city)
    plan = PlanFactory(jurisdiction=city, year=2026, declared_total=99999)
    Unit.objects.bulk_create(
        Unit(name=f"单位{i:04d}", normalized_name=f"单位{i:04d}", jurisdiction=city) for i in range(SIZE - 1)
    )
    units = list(Unit.objects.filter(jurisdiction=city).order_by("pk"))
    quotas = [
        Quota(
            plan=plan,
            year=2026,
            label=unit.name,
            target=10,
            period_text="3月份",
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 31),
            position=i,
        )
        for i, unit in enumerate(units)
    ]
    quotas.append(Quota(plan=plan, year=2026, label="慈利县", target=2700, sub_jurisdiction=county, position=SIZE))
    Quota.objects.bulk_create(quotas, batch_size=1000)
    links = [
        Quota.units.through(quota_id=q.pk, unit_id=u.pk)
        for q, u in zip(Quota.objects.filter(plan=plan).order_by("position"), units, strict=False)
    ]
    Quota.units.through.objects.bulk_create(links, batch_size=1000)
    return plan


def test_plan_page_shows_counts_and_links_to_its_quotas_without_listing_them(
    staff_client, big_plan, django_assert_max_num_queries
):
    url = reverse("admin:quotas_annualplan_change", args=[big_plan.pk])
    # Session, user, role, the plan (annotated), its summary, its sources inline, permissions and
    # the form's jurisdiction widget: a fixed number whatever the plan's size.
    with django_assert_max_num_queries(15):
        response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "quotas-TOTAL_FORMS" not in html
    assert "单位0001" not in html
    assert f"?plan={big_plan.pk}" in html
    plan = response.context["plan_quotas"]
    assert (plan.quota_count, plan.target_total, plan.allocated_count) == (SIZE, 10 * (SIZE - 1) + 2700, 1)
    assert len(response.content) < 60_000


def test_saving_a_large_plan_posts_a_handful_of_fields(staff_client, big_plan):
    url = reverse("admin:quotas_annualplan_change", args=[big_plan.pk])
    response = staff_client.post(
        url,
        {
            "jurisdiction": big_plan.jurisdiction.pk,
            "year": 2026,
            "status": "published",
            "document_number": "张政办发〔2026〕1号",
            "title": "",
            "issuing_office": "",
            "issue_date": "",
            "declared_total": "99999",
            "total_measure": "persons",
            "notes": "",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    big_plan.refresh_from_db()
    assert big_plan.document_number == "张政办发〔2026〕1号"
    assert big_plan.quotas.count() == SIZE


def test_quota_list_of_a_plan_is_paged_with_a_fixed_number_of_queries(
    staff_client, big_plan, django_assert_num_queries
):
    url = reverse("admin:quotas_quota_changelist") + f"?plan={big_plan.pk}"
    # 1 session, 2 the user with their role and permissions (config.backends), 3 the plan, 4 the
    # user's scope (staff profile), 5 the plan filter's choices, 6 the jurisdictions filter,
    # 7 count, 8 the page's quotas (with plan, jurisdiction and sub-jurisdiction), 9 their units
    # (prefetched), 10 the page's year filter values; never one per row.
    with django_assert_num_queries(10):
        response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "单位0000" in html and "单位0100" not in html  # 100 a page
    assert response.context["cl"].result_count == SIZE
    assert "张家界市 2026 的任务" in html
    assert "下级：慈利县" in staff_client.get(url + "&q=慈利").content.decode()
    assert "/admin/quotas/quota/import/" not in html  # the flat technical import is not offered


def test_search_and_sort_within_the_plan(staff_client, big_plan):
    url = reverse("admin:quotas_quota_changelist")
    response = staff_client.get(url, {"plan": big_plan.pk, "q": "单位2998"})
    assert response.context["cl"].result_count == 1
    response = staff_client.get(url, {"plan": big_plan.pk, "o": "-3"})  # target, descending
    assert response.context["cl"].result_list[0].label == "慈利县"


def test_one_quota_is_edited_on_its_own_page_and_back_to_the_plans_list(staff_client, big_plan):
    quota = big_plan.quotas.get(label="单位0007")
    url = reverse("admin:quotas_quota_change", args=[quota.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url + f"?_changelist_filters=plan%3D{big_plan.pk}",
        {
            "plan": big_plan.pk,
            "label": quota.label,
            "units": [u.pk for u in quota.units.all()],
            "target": 12,
            "period_text": "3月份",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "location": "",
            "headcount": "",
            "seq": "",
            "position": quota.position,
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?plan={big_plan.pk}")
    quota.refresh_from_db()
    assert quota.target == 12

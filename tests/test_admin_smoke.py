"""Every ModelAdmin: list, search, add form, change form (admin_client is a superuser)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse

from campaigns.models import AccessEvent, Bulletin, DonationDrive
from tests.factories import QuotaFactory, UserFactory, make_donation, make_liaison
from units.models import StaffProfile, UnitAlias

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(plan, unit_a, unit_b, staff_user):
    """One row of every model, so every change page has something to open."""
    quota = QuotaFactory(plan=plan, label=unit_a.name, units=[unit_a])
    alias = UnitAlias.objects.create(unit=unit_a, jurisdiction=unit_a.jurisdiction, name="仪化", normalized_name="仪化")
    drive = DonationDrive.objects.create(
        plan=plan, start_date=dt.date(2026, 3, 3), end_date=dt.date(2026, 3, 3), place="广场"
    )
    donation = make_donation(unit_a, donated_on=dt.date(2026, 3, 3))
    liaison = make_liaison(UserFactory(username="lia"), unit_a)
    profile = StaffProfile.objects.get(user=staff_user, jurisdiction=plan.jurisdiction)  # the fixture's
    from quotas.models import PlanSource

    source = PlanSource.objects.create(plan=plan, original_name="a.xlsx", sha256="0" * 64, file="notices/a.xlsx")
    from quotas.drafting.services import draft_create

    draft = draft_create(jurisdiction=plan.jurisdiction, year=2027, today=dt.date(2026, 12, 1))
    objects = {
        "jurisdiction": plan.jurisdiction,
        "unit": unit_a,
        "unitalias": alias,
        "liaison": liaison,
        "staffprofile": profile,
        "annualplan": plan,
        "quota": quota,
        "plansource": source,
        "plandraft": draft,
        "donationdrive": drive,
        "donation": donation,
        "accessevent": AccessEvent.objects.create(user=staff_user, action="show_id", donation=donation),
        "bulletin": Bulletin.objects.create(
            jurisdiction=plan.jurisdiction, year=2026, title="通报", as_of=dt.date(2026, 3, 3), figures={}
        ),
    }
    for name in ("unit", "unitalias", "annualplan", "quota", "donation"):
        objects[f"historical{name}"] = objects[name].history.earliest()
    return objects


MODELS = [
    (m._meta.app_label, m._meta.model_name)
    for m in admin.site._registry
    if m._meta.app_label in ("units", "quotas", "campaigns")
]


def test_every_portal_model_has_an_admin():
    assert sorted(MODELS) == sorted(
        [
            ("campaigns", "accessevent"),
            ("campaigns", "bulletin"),
            ("campaigns", "donation"),
            ("campaigns", "donationdrive"),
            ("quotas", "annualplan"),
            ("quotas", "plandraft"),
            ("quotas", "plansource"),
            ("quotas", "quota"),
            ("units", "jurisdiction"),
            ("units", "liaison"),
            ("units", "staffprofile"),
            ("units", "unit"),
            ("units", "unitalias"),
            # the audit trail, read-only
            ("campaigns", "historicaldonation"),
            ("quotas", "historicalannualplan"),
            ("quotas", "historicalquota"),
            ("units", "historicalunit"),
            ("units", "historicalunitalias"),
        ]
    )


@pytest.mark.parametrize(("app", "model"), MODELS)
def test_admin_pages_open(admin_client, objects, app, model):
    changelist = reverse(f"admin:{app}_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "仪化"}).status_code == 200
    add = admin_client.get(reverse(f"admin:{app}_{model}_add"))
    assert add.status_code in (200, 403)  # PlanSource, AccessEvent and histories are never added by hand
    change = admin_client.get(reverse(f"admin:{app}_{model}_change", args=[objects[model].pk]))
    assert change.status_code == 200


def test_search_finds_a_unit_by_alias(admin_client, objects):
    response = admin_client.get(reverse("admin:units_unit_changelist"), {"q": "仪化"})
    assert "仪化公司" in response.content.decode()


def test_donation_list_shows_masked_ids_only(admin_client, objects):
    page = admin_client.get(reverse("admin:campaigns_donation_changelist")).content.decode()
    assert "3604**********" in page and "360426199101010" not in page


def test_staff_add_a_unit_through_the_admin(admin_client, jurisdiction):
    response = admin_client.post(
        reverse("admin:units_unit_add"),
        {
            "name": "新 华书店",
            "category": "enterprise",
            "jurisdiction": jurisdiction.pk,
            "active": "on",
            "aliases-TOTAL_FORMS": "1",
            "aliases-INITIAL_FORMS": "0",
            "aliases-0-name": "书店",
            "subordinates-TOTAL_FORMS": "0",
            "subordinates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    from units.models import Unit

    unit = Unit.objects.get(name="新华书店")  # stored without the typed alignment space (clean_name)
    assert unit.normalized_name == "新华书店" and unit.aliases.get().normalized_name == "书店"


def test_staff_log_a_donation_in_the_admin_with_a_bad_id_number_see_which_character(admin_client, unit_a):
    response = admin_client.post(
        reverse("admin:campaigns_donation_add"),
        {
            "donor_name": "李四",
            "id_number": "360426199101010072",
            "unit": unit_a.pk,
            "donated_on": "2026-03-03",
            "kind": "whole",
            "volume_ml": "400",
        },
    )
    assert response.status_code == 200 and "第 18 位" in response.content.decode()


def test_publish_close_and_copy_actions(admin_client, plan, unit_a):
    from quotas.models import AnnualPlan

    QuotaFactory(plan=plan, units=[unit_a])
    url = reverse("admin:quotas_annualplan_changelist")
    admin_client.post(url, {"action": "close", "_selected_action": [plan.pk]})
    assert AnnualPlan.objects.get(pk=plan.pk).status == "closed"
    admin_client.post(url, {"action": "copy_to_next_year", "_selected_action": [plan.pk]})
    copy = AnnualPlan.objects.get(jurisdiction=plan.jurisdiction, year=2027)
    assert copy.status == "draft" and copy.quotas.get().period_start == dt.date(2027, 3, 1)
    assert list(copy.quotas.get().units.all()) == [unit_a]

"""Roles: staff edit, leadership only views (and never donors), liaisons are kept out of the admin;
each role lands on its own page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import QuotaFactory, UserFactory, make_donation

pytestmark = pytest.mark.django_db


def test_groups_come_from_the_data_migration():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"献血办", "领导", "联络员"}


def test_staff_can_edit_plans(staff_client, plan):
    url = reverse("admin:quotas_annualplan_change", args=[plan.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {
            "jurisdiction": plan.jurisdiction.pk,
            "year": 2026,
            "status": "published",
            "document_number": "仪政办发〔2026〕3号",
            "title": "",
            "issuing_office": "",
            "issue_date": "",
            "declared_total": "",
            "total_measure": "persons",
            "notes": "",
            "quotas-TOTAL_FORMS": "0",
            "quotas-INITIAL_FORMS": "0",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.document_number == "仪政办发〔2026〕3号"


def test_leadership_can_view_but_not_change(leader_client, plan):
    assert leader_client.get(reverse("admin:quotas_annualplan_changelist")).status_code == 200
    assert leader_client.get(reverse("admin:quotas_annualplan_add")).status_code == 403
    response = leader_client.post(reverse("admin:quotas_annualplan_change", args=[plan.pk]), {"year": 2030})
    assert response.status_code == 403
    plan.refresh_from_db()
    assert plan.year == 2026


def test_leadership_never_sees_donor_records(leader_client, unit_a):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3))
    assert leader_client.get(reverse("admin:campaigns_donation_changelist")).status_code == 403


def test_liaison_is_refused_from_the_admin(liaison_client):
    response = liaison_client.get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize(
    ("who", "landing"),
    [("staff_client", "/admin/quotas/annualplan/"), ("leader_client", "/dashboard/"), ("liaison_client", "/liaison/")],
)
def test_each_role_lands_on_its_own_home(request, who, landing):
    client = request.getfixturevalue(who)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == landing
    assert client.get(landing).status_code == 200


def test_anonymous_goes_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "登录" in client.get("/accounts/login/").content.decode()


def test_login_form_signs_in_and_lands(client, liaison_user):
    response = client.post("/accounts/login/", {"username": "liaison", "password": "pw-for-tests-1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/liaison/"


def test_liaison_page_lists_own_unit_quotas_only(liaison_client, plan, unit_a, unit_b, django_assert_num_queries):
    QuotaFactory(plan=plan, label="仪化公司", target=150, units=[unit_a])
    QuotaFactory(plan=plan, label="教育局", target=170, units=[unit_b])
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3))
    # session, user with role, units, quotas, prefetched units, subordinate units, donation
    # counts and the station-verified ones (one query each, the quotas' terms shared), drives, the
    # donor list, and what the station's records say of the listed donations (their links, the
    # exports covering their days: stations.selectors.station_marks, issue 21): fixed, whatever the
    # number of quotas or donors
    with django_assert_num_queries(12):
        page = liaison_client.get("/liaison/").content.decode()
    assert "仪化公司" in page and "150" in page and "教育局" not in page


def test_liaison_sees_only_their_unit_card_on_the_dashboard(liaison_client, plan, unit_a, unit_b):
    QuotaFactory(plan=plan, label="仪化公司", target=150, units=[unit_a])
    QuotaFactory(plan=plan, label="教育局", target=170, units=[unit_b])
    page = liaison_client.get("/dashboard/?year=2026").content.decode()
    assert "仪化公司" in page and "150" in page and "教育局" not in page


def test_user_without_role_is_told_so(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/").status_code == 403


def test_dashboard_shows_plan_totals(leader_client, plan, unit_a, unit_b):
    QuotaFactory(plan=plan, target=150, units=[unit_a])
    QuotaFactory(plan=plan, target=170, units=[unit_b])
    QuotaFactory(plan=plan, target=60, advisory=True, units=[unit_b])
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3))
    make_donation(unit_b, donated_on=dt.date(2026, 3, 4), seq=9)
    make_donation(unit_b, donated_on=dt.date(2025, 3, 4), seq=11)  # another year: not counted
    page = leader_client.get("/dashboard/?year=2026").content.decode()
    assert "320" in page  # the advisory 60 is never summed
    headline = page_figures(leader_client, "/dashboard/?year=2026")["headline"]
    assert (headline["task"], headline["completed"], headline["shortfall"]) == (320, 2, 318)


def page_figures(client, url: str) -> dict:
    return client.get(url).context["figures"]


def test_interface_speaks_chinese_by_default_and_english_on_request(client):
    assert "登录" in client.get("/accounts/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert "Log in" in client.get("/accounts/login/").content.decode()


def test_liaison_units_are_the_units_for_the_user(liaison_user, staff_user, unit_a, unit_b, jurisdiction):
    from django.contrib.auth.models import AnonymousUser

    from tests.factories import make_liaison
    from units.models import Unit
    from units.roles import liaison_units
    from units.services import unit_create

    other = UserFactory(username="other-liaison")
    make_liaison(other, unit_b, unit_create(name="阿拉丁中学", jurisdiction=jurisdiction))
    for user in (liaison_user, other, staff_user, AnonymousUser()):
        expected = list(Unit.objects.for_user(user).order_by("name", "pk"))
        assert liaison_units(user) == expected
        assert [u.name for u in liaison_units(user)] == [u.name for u in expected]
    assert [u.name for u in liaison_units(other)] == sorted(["阿拉丁中学", unit_b.name])


def test_every_role_holds_its_registered_permissions():

    from units.roles import ROLES

    for role in ROLES:
        user = UserFactory(username=f"r-{role.home}", role=role.group)
        assert all(user.has_perm(p) for p in role.permissions), role.group


def test_pages_check_permissions_not_group_names(client, jurisdiction):
    """A new role is a group with permissions: a group no code knows reaches the dashboard by
    holding `view_dashboard`, and a liaison whose group lost `log_donation` is turned away."""
    from django.contrib.auth.models import Group, Permission

    from units.models import StaffProfile

    auditors = Group.objects.create(name="审计")
    auditors.permissions.add(Permission.objects.get(codename="view_dashboard"))
    auditor = UserFactory(username="auditor")
    auditor.groups.add(auditors)
    StaffProfile.objects.create(user=auditor, jurisdiction=jurisdiction)
    client.force_login(auditor)
    assert client.get(reverse("campaigns:dashboard")).status_code == 200
    assert client.get(reverse("campaigns:liaison_home")).status_code == 403

    Group.objects.get(name="联络员").permissions.remove(Permission.objects.get(codename="log_donation"))
    liaison = UserFactory(username="no-log", role="联络员")
    client.force_login(liaison)
    assert client.get(reverse("campaigns:liaison_home")).status_code == 403
    assert client.get(reverse("campaigns:log_donation")).status_code == 403

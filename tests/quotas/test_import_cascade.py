"""Importing a city's notice whose rows name its counties: quotas allocated to sub-jurisdictions
(Quota.sub_jurisdiction, as the dashboard's roll-up reads them), not new units."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from campaigns.dashboard.figures import dashboard_figures
from quotas.models import AnnualPlan
from quotas.services import CREATE_SUB_JURISDICTION, plan_import, plan_set_status, preview_import
from tests.factories import JurisdictionFactory
from units.models import Jurisdiction, Unit
from units.naming import normalize_name
from units.selectors import jurisdiction_level_of

from .workbooks import xlsx

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def city():
    return JurisdictionFactory(name="张家界市", level=Jurisdiction.Level.CITY)


def city_notice():
    return xlsx(
        [
            ["2026年张家界市无偿献血任务分配表"],
            ["序号", "单位", "任务数"],
            [1, "慈利县", 2700],
            [2, "桑 植 县", 1500],
            [3, "市教育局", 200],
        ]
    )


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("慈利县", 3),
        ("如皋市", 3),
        ("永定区", 3),
        ("城北街道", 4),
        ("经济开发区", 4),
        ("华润超市", None),
        ("市教育局", None),
    ],
)
def test_names_that_read_as_jurisdictions(name, level):
    assert jurisdiction_level_of(name) == level


def test_preview_offers_counties_as_sub_jurisdictions(city):
    existing = JurisdictionFactory(name="桑植县", parent=city)
    report = preview_import(data=city_notice(), filename="n.xlsx", jurisdiction=city, year=2026)
    cili, sangzhi, education = (p.matches[0] for p in report.rows)
    assert (cili.jurisdiction_level, cili.prefer_jurisdiction, cili.matched) == (3, True, False)
    assert sangzhi.sub_jurisdiction_id == existing.pk  # "桑 植 县" matches the child by its clean name
    assert education.jurisdiction_level is None and not education.prefer_jurisdiction
    assert report.children == [(existing.pk, "桑植县")]


def test_apply_allocates_to_the_counties_and_the_dashboard_rolls_it_up(city, staff_user):
    report = plan_import(
        data=city_notice(),
        filename="n.xlsx",
        jurisdiction=city,
        year=2026,
        user=staff_user,
        decisions={
            normalize_name("慈利县"): CREATE_SUB_JURISDICTION,
            normalize_name("桑植县"): CREATE_SUB_JURISDICTION,
        },
    )
    assert report.applied and report.created_jurisdictions == 2 and report.created_units == 1
    cili = Jurisdiction.objects.get(name="慈利县")
    assert (cili.parent, cili.level) == (city, Jurisdiction.Level.COUNTY)
    assert Jurisdiction.objects.filter(name="桑植县", parent=city).exists()
    assert list(Unit.objects.values_list("name", flat=True)) == ["市教育局"]
    plan = AnnualPlan.objects.get(jurisdiction=city)
    assert plan.quotas.get(label="慈利县").sub_jurisdiction == cili
    plan_set_status(plans=[plan], status=AnnualPlan.Status.PUBLISHED)
    figures = dashboard_figures(jurisdiction=city, year=2026, today=TODAY)
    allocated = {line["name"]: line["allocated"] for line in figures["children"]}
    assert allocated == {"慈利县": 2700, "桑植县": 1500}


def test_a_name_can_be_mapped_to_an_existing_child(city):
    yongding = JurisdictionFactory(name="永定区", parent=city)
    data = xlsx([["单位", "任务数"], ["永定区（含城区）", 900]])
    report = plan_import(
        data=data,
        filename="n.xlsx",
        jurisdiction=city,
        year=2026,
        decisions={normalize_name("永定区(含城区)"): f"sub:{yongding.pk}"},
    )
    assert report.applied
    assert AnnualPlan.objects.get().quotas.get().sub_jurisdiction == yongding


def test_a_child_of_another_jurisdiction_is_refused(city):
    other = JurisdictionFactory(name="别处县")
    data = xlsx([["单位", "任务数"], ["慈利县", 900]])
    with pytest.raises(ValueError):
        plan_import(data=data, filename="n.xlsx", jurisdiction=city, year=2026, decisions={"慈利县": f"sub:{other.pk}"})
    assert not AnnualPlan.objects.exists()


def test_web_import_creates_the_jurisdiction_it_imports_for(city, staff_client, staff_user):
    from units.models import StaffProfile

    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": city})
    url = reverse("admin:quotas_annualplan_import")
    data = xlsx([["2026年慈利县任务"], ["单位", "任务数"], ["县教育局", 100], ["零阳镇", 50]])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = staff_client.post(
        url,
        {
            "jurisdiction": city.pk,
            "new_jurisdiction": "慈利县",
            "year": 2026,
            "file": SimpleUploadedFile("cili-2026.xlsx", data),
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "张家界市慈利县 2026" in html and not Jurisdiction.objects.filter(name="慈利县").exists()
    # 零阳镇 reads as a town: offered as a sub-jurisdiction of the new county, not preselected.
    assert 'value="sub:new"' in html and 'value="sub:new" selected' not in html
    token = response.context["token"]
    response = staff_client.post(url, {"token": token, f"decision:{normalize_name('零阳镇')}": "create"})
    assert response.status_code == 302
    cili = Jurisdiction.objects.get(name="慈利县")
    assert cili.parent == city and cili.path.startswith(city.path)
    assert AnnualPlan.objects.get().jurisdiction == cili
    assert set(Unit.objects.filter(jurisdiction=cili).values_list("name", flat=True)) == {"县教育局", "零阳镇"}


def test_upload_form_searches_jurisdictions(staff_client):
    html = staff_client.get(reverse("admin:quotas_annualplan_import")).content.decode()
    assert "admin-autocomplete" in html and 'name="new_jurisdiction"' in html


def test_a_new_jurisdiction_only_under_the_users_own(city, staff_client, staff_user):
    from units.models import StaffProfile

    elsewhere = JurisdictionFactory(name="别的市", level=Jurisdiction.Level.CITY)
    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": city})
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = xlsx([["单位", "任务数"], ["县教育局", 100]])
    response = staff_client.post(
        reverse("admin:quotas_annualplan_import"),
        {
            "jurisdiction": elsewhere.pk,
            "new_jurisdiction": "某县",
            "year": 2026,
            "file": SimpleUploadedFile("n.xlsx", data),
        },
    )
    assert "jurisdiction" in response.context["form"].errors  # another city is no choice of theirs
    assert not Jurisdiction.objects.filter(name="某县").exists()


def test_a_county_printed_with_a_note_is_offered_its_existing_child_preselected(city, staff_client, staff_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from units.models import StaffProfile

    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": city})
    yongding = JurisdictionFactory(name="永定区", parent=city)
    data = xlsx([["县市区", "任务数"], ["永定区（含城区）", 3000], ["慈利县(不含工业园)", 2700]])
    report = preview_import(data=data, filename="n.xlsx", jurisdiction=city, year=2026)
    noted, cili = (p.matches[0] for p in report.rows)
    assert (noted.suggested_child, noted.prefer_jurisdiction, noted.matched) == (yongding.pk, True, False)
    assert (cili.jurisdiction_name, cili.jurisdiction_level, cili.suggested_child) == ("慈利县", 3, None)
    response = staff_client.post(
        reverse("admin:quotas_annualplan_import"),
        {"jurisdiction": city.pk, "year": 2026, "file": SimpleUploadedFile("n.xlsx", data)},
    )
    html = response.content.decode()
    assert f'value="sub:{yongding.pk}" selected' in html and "新建下级行政区划“慈利县”" in html
    # Created from the preview, the county is named without the note; the quota keeps the print.
    report = plan_import(
        data=data,
        filename="n.xlsx",
        jurisdiction=city,
        year=2026,
        decisions={noted.key: f"sub:{yongding.pk}", cili.key: CREATE_SUB_JURISDICTION},
    )
    assert report.applied and report.created_jurisdictions == 1 and not Unit.objects.exists()
    plan = AnnualPlan.objects.get()
    assert plan.quotas.get(label="永定区（含城区）").sub_jurisdiction == yongding
    assert plan.quotas.get(label="慈利县(不含工业园)").sub_jurisdiction.name == "慈利县"


def test_a_countys_own_dashboard_shows_what_the_city_allocated(city, client):
    from tests.factories import UserFactory
    from units.models import StaffProfile

    report = plan_import(
        data=city_notice(),
        filename="n.xlsx",
        jurisdiction=city,
        year=2026,
        decisions={normalize_name("慈利县"): CREATE_SUB_JURISDICTION},
    )
    cili = Jurisdiction.objects.get(name="慈利县")
    leader = UserFactory(username="cili-leader", role="领导")
    StaffProfile.objects.create(user=leader, jurisdiction=cili)
    client.force_login(leader)
    url = f"/dashboard/?j={cili.pk}&year=2026"
    assert 'id="from-above"' not in client.get(url).content.decode()  # a draft allocates nothing yet
    plan_set_status(plans=[report.plan], status=AnnualPlan.Status.PUBLISHED)
    html = client.get(url).content.decode()
    assert 'id="from-above"' in html and "2,700" in html.split('id="from-above"')[1][:200]

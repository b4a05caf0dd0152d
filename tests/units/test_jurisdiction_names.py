"""A jurisdiction's old spelling: stored names were cleaned (migration 0003) and jurisdictions keep
no aliases, so every lookup by name compares the normalised form — "桑 植 县", as an older notice
printed it, still names 桑植县, and no second 桑植县 is ever created beside it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from quotas.models import AnnualPlan
from quotas.services import CREATE_SUB_JURISDICTION, plan_import
from tests.factories import JurisdictionFactory
from tests.quotas.workbooks import xlsx
from units.models import Jurisdiction, StaffProfile
from units.naming import normalize_name
from units.services import jurisdiction_find, jurisdiction_get_or_create, jurisdiction_named, jurisdiction_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    province = JurisdictionFactory(name="湖南省", level=Jurisdiction.Level.PROVINCE)
    return JurisdictionFactory(name="张家界市", parent=province, level=Jurisdiction.Level.CITY)


@pytest.fixture
def sangzhi(city):
    return JurisdictionFactory(name="桑植县", parent=city)


@pytest.mark.parametrize("spelling", ["桑植县", "桑 植 县", "桑　植　县", "桑植\n县"])
def test_any_old_spelling_names_the_cleaned_jurisdiction(city, sangzhi, spelling):
    assert jurisdiction_named(spelling, parent=city) == sangzhi
    assert jurisdiction_get_or_create(name=spelling, parent=city) == sangzhi
    assert Jurisdiction.objects.filter(parent=city).count() == 1


def test_a_bracketed_name_matches_in_either_width(city):
    zone = JurisdictionFactory(name="经济开发区（东区）", parent=city)
    assert jurisdiction_named("经济开发区(东区)", parent=city) == zone
    assert jurisdiction_named("经济开发区(西区)", parent=city) is None


def test_the_command_lines_jurisdiction_in_an_old_spelling(city, sangzhi):
    assert jurisdiction_find("桑 植 县") == sangzhi
    assert jurisdiction_find("张家界市 桑植县") == sangzhi
    assert jurisdiction_find("慈利县") is None


def test_a_new_jurisdiction_is_stored_clean_and_never_beside_itself(city, sangzhi):
    created = jurisdiction_get_or_create(name="慈 利 县", parent=city)
    assert created.name == "慈利县"
    with pytest.raises(ValidationError) as refused:
        jurisdiction_save(jurisdiction=Jurisdiction(name="桑 植　县", parent=city, level=3))
    assert "桑植县" in str(refused.value)
    # The same name under another parent is another jurisdiction.
    other = JurisdictionFactory(name="别的市", level=Jurisdiction.Level.CITY)
    assert jurisdiction_save(jurisdiction=Jurisdiction(name="桑植县", parent=other, level=3)).pk != sangzhi.pk


def test_the_admin_refuses_a_sibling_in_another_spelling(admin_client, city, sangzhi):
    response = admin_client.post(
        reverse("admin:units_jurisdiction_add"), {"name": "桑 植 县", "level": 3, "parent": city.pk, "code": ""}
    )
    assert response.status_code == 200 and "同一个名称" in response.content.decode()
    assert Jurisdiction.objects.filter(parent=city).count() == 1


def test_importing_a_county_in_its_old_spelling_allocates_to_the_existing_one(city, sangzhi):
    data = xlsx([["县市区", "任务数"], ["桑 植 县", 1500], ["慈 利 县", 2700]])
    report = plan_import(
        data=data,
        filename="n.xlsx",
        jurisdiction=city,
        year=2026,
        decisions={normalize_name("慈利县"): CREATE_SUB_JURISDICTION},
    )
    assert report.applied and report.created_jurisdictions == 1
    quotas = AnnualPlan.objects.get().quotas
    assert quotas.get(target=1500).sub_jurisdiction == sangzhi  # matched, not a decision
    assert quotas.get(target=2700).sub_jurisdiction.name == "慈利县"
    assert Jurisdiction.objects.filter(parent=city).count() == 2


def test_the_web_import_for_a_jurisdiction_typed_in_an_old_spelling(city, sangzhi, staff_client, staff_user):
    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": city})
    response = staff_client.post(
        reverse("admin:quotas_annualplan_import"),
        {
            "jurisdiction": city.pk,
            "new_jurisdiction": "桑 植 县",
            "year": 2026,
            "file": SimpleUploadedFile("n.xlsx", xlsx([["单位", "任务数"], ["县教育局", 100]])),
        },
    )
    assert response.status_code == 200
    assert response.context["jurisdiction"] == sangzhi  # the existing county, not a new one
    staff_client.post(reverse("admin:quotas_annualplan_import"), {"token": response.context["token"]})
    assert AnnualPlan.objects.get().jurisdiction == sangzhi
    assert Jurisdiction.objects.filter(parent=city).count() == 1

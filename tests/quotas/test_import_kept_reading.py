"""Applying a previewed notice reuses the preview's reading (kept beside the staged upload,
`quotas.staging`): the file is not read again, yet the plan and units are compared as they are
at apply, so what changed since the preview counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import StagedUpload
from quotas import staging
from quotas.models import AnnualPlan, Quota
from quotas.services import plan_import, preview
from tests.factories import PlanFactory, UnitFactory

from .workbooks import xlsx

URL = "/admin/quotas/annualplan/import/"
pytestmark = pytest.mark.django_db

ROWS = [["单位", "目标数"], ["甲局", 3], ["乙局", 4]]


def _preview(client, jurisdiction, rows=ROWS):
    response = client.post(
        URL, {"jurisdiction": jurisdiction.pk, "year": 2024, "file": SimpleUploadedFile("n.xlsx", xlsx(rows))}
    )
    assert response.context["token"]
    return response


def _no_reading(monkeypatch):
    """Reading a file from here on fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(preview, "read_notice_bounded", refuse)


def test_apply_does_not_read_the_file_again(staff_client, jurisdiction, monkeypatch):
    token = _preview(staff_client, jurisdiction).context["token"]
    _no_reading(monkeypatch)
    response = staff_client.post(URL, {"token": token})
    assert response.status_code == 302
    assert sorted(Quota.objects.values_list("label", "target")) == [("乙局", 4), ("甲局", 3)]


def test_apply_compares_the_kept_reading_with_the_plan_as_it_is_now(staff_client, jurisdiction, monkeypatch):
    token = _preview(staff_client, jurisdiction).context["token"]  # previewed against no plan at all
    # Meanwhile a colleague imports the same jurisdiction's plan with 甲局 at 9 and a 丙局.
    plan_import(
        data=xlsx([["单位", "目标数"], ["甲局", 9], ["丙局", 1]]),
        filename="x.xlsx",
        jurisdiction=jurisdiction,
        year=2024,
    )
    _no_reading(monkeypatch)
    staff_client.post(URL, {"token": token})
    plan = AnnualPlan.objects.get()
    # 甲局 updated (not doubled), 丙局 removed, 乙局 new: the diff of now, not of the preview.
    assert sorted(plan.quotas.values_list("label", "target")) == [("乙局", 4), ("甲局", 3)]


def test_a_unit_created_since_the_preview_is_matched_not_created_again(staff_client, jurisdiction, monkeypatch):
    token = _preview(staff_client, jurisdiction).context["token"]
    bureau = UnitFactory(name="甲局", jurisdiction=jurisdiction)
    _no_reading(monkeypatch)
    staff_client.post(URL, {"token": token})
    assert list(Quota.objects.get(label="甲局").units.all()) == [bureau]


def test_a_plan_closed_since_the_preview_is_not_applied(staff_client, jurisdiction, monkeypatch):
    token = _preview(staff_client, jurisdiction).context["token"]
    PlanFactory(jurisdiction=jurisdiction, year=2024, status=AnnualPlan.Status.CLOSED)
    _no_reading(monkeypatch)
    staff_client.post(URL, {"token": token})
    assert Quota.objects.count() == 0


def test_without_a_kept_reading_the_file_is_read_again(staff_client, jurisdiction):
    token = _preview(staff_client, jurisdiction).context["token"]
    upload = StagedUpload.objects.get(token=token)
    assert staging.kept_reading(upload, corrections=None) is not None
    staging.uploads._derived_path(upload.token, staging.READING).unlink()
    staff_client.post(URL, {"token": token})
    assert Quota.objects.count() == 2


def test_a_reading_kept_with_other_corrections_is_not_used(staff_client, jurisdiction):
    upload = StagedUpload.objects.get(token=_preview(staff_client, jurisdiction).context["token"])
    assert staging.kept_reading(upload, corrections={"附件!B2": "丁局"}) is None

"""Staff import a notice in the admin: upload → preview → decisions → apply; limits and rights."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from quotas.models import AnnualPlan, PlanSource, Quota
from tests.factories import UnitFactory
from units.models import UnitAlias

from .workbooks import xlsx

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
URL = "/admin/quotas/annualplan/import/"
pytestmark = pytest.mark.django_db


def upload(client, jurisdiction, data, name="notice.xlsx", year=2024):
    return client.post(URL, {"jurisdiction": jurisdiction.pk, "year": year, "file": SimpleUploadedFile(name, data)})


def test_upload_preview_then_apply_creates_the_plan(staff_client, staff_user, jurisdiction):
    preview = upload(staff_client, jurisdiction, (NOTICES / "yizheng-2024.xlsx").read_bytes(), "yizheng-2024.xlsx")
    page = preview.content.decode()
    assert preview.status_code == 200 and "附件2!B4" in page and "新增 123" in page
    assert AnnualPlan.objects.count() == 0  # the preview writes nothing
    response = staff_client.post(URL, {"token": preview.context["token"]})
    plan = AnnualPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:quotas_annualplan_change", args=[plan.pk]
    )
    assert plan.quotas.count() == 123 and PlanSource.objects.get().uploaded_by == staff_user
    again = staff_client.post(URL, {"token": preview.context["token"]})  # a second click applies nothing more
    assert again.status_code == 302 and Quota.objects.count() == 123


def test_mapping_an_unknown_name_saves_an_alias(staff_client, jurisdiction):
    bank = UnitFactory(name="中国建设银行仪征支行", jurisdiction=jurisdiction)
    preview = upload(staff_client, jurisdiction, xlsx([["单位", "目标数"], ["建设银行", 20]]))
    assert "中国建设银行仪征支行" in preview.content.decode()  # offered as a suggestion
    staff_client.post(URL, {"token": preview.context["token"], "decision:建设银行": str(bank.pk)})
    assert UnitAlias.objects.get().unit == bank and list(Quota.objects.get().units.all()) == [bank]


def test_errors_are_shown_with_their_cell_and_nothing_can_be_applied(staff_client, jurisdiction):
    preview = upload(staff_client, jurisdiction, xlsx([["单位", "目标数"], ["甲局", "很多"]]))
    page = preview.content.decode()
    assert "附件!B2" in page and "很多" in page and "确认导入" not in page
    assert preview.context["token"] is None  # a file that cannot be applied is not staged
    assert AnnualPlan.objects.count() == 0


def test_file_over_the_size_limit_is_refused(staff_client, jurisdiction, settings):
    settings.NOTICE_UPLOAD_MAX_BYTES = 1024
    response = upload(staff_client, jurisdiction, b"x" * 2048, "big.csv")
    assert response.status_code == 200 and "文件过大" in response.content.decode()


def test_leadership_cannot_import(leader_client, jurisdiction):
    response = upload(leader_client, jurisdiction, xlsx([["单位", "目标数"], ["甲局", 1]]))
    assert response.status_code == 403 and AnnualPlan.objects.count() == 0


def test_import_into_an_existing_plan_shows_the_diff(staff_client, plan, jurisdiction):
    url = reverse("admin:quotas_annualplan_import_into", args=[plan.pk])
    first = staff_client.post(url, {"file": SimpleUploadedFile("a.xlsx", xlsx([["单位", "目标数"], ["甲局", 1]]))})
    staff_client.post(url, {"token": first.context["token"]})
    second = staff_client.post(url, {"file": SimpleUploadedFile("b.xlsx", xlsx([["单位", "目标数"], ["甲局", 2]]))})
    assert "任务数：1 → 2" in second.content.decode()


def test_large_preview_shows_the_first_rows_and_says_so(staff_client, jurisdiction, monkeypatch):
    from quotas import views

    monkeypatch.setattr(views, "PREVIEW_ROWS", 2)
    rows = [["单位", "目标数"]] + [[f"单位{i}", i + 1] for i in range(5)]
    page = upload(staff_client, jurisdiction, xlsx(rows)).content.decode()
    assert "显示 2 行（共 5 行）" in page and "附件!A3" in page and "附件!A4" not in page


def test_upload_page_loads_its_progress_script(staff_client):
    page = staff_client.get(URL).content.decode()
    assert "js/import-progress.js" in page and 'id="upload-progress"' in page

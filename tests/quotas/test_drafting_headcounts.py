"""Headcounts from a simple sheet: read by vocabulary, matched like a notice's names, previewed,
then written with an entry in each unit's history; the admin edits them too."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from quotas.drafting.headcounts import ERROR_NO_HEADER, read_headcounts
from quotas.notice.grid import read_grids
from tests.factories import JurisdictionFactory, UnitFactory, UserFactory
from units.models import StaffProfile, Unit, UnitAlias

pytestmark = pytest.mark.django_db


def workbook(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SHEET = [
    ["仪征市各单位适龄员工人数（2025年1月）"],
    [],
    ["序号", "单位名称", "适龄员工数", "备注"],
    [1, "教育局", 1200, ""],
    [2, "建行", "85人", "别名"],
    [3, "仪化公司", None, ""],
    [4, "不存在的单位", 30, ""],
    [5, "卫生监督所", "三十", ""],
]


def test_the_sheet_is_read_by_its_header_words():
    reading = read_headcounts(read_grids(workbook(SHEET), "h.xlsx"))
    assert [(r.name, r.headcount) for r in reading.rows] == [("教育局", 1200), ("建行", 85), ("不存在的单位", 30)]
    assert [w.ref for w in reading.warnings] == ["Sheet!C6"]
    assert [e.ref for e in reading.errors] == ["Sheet!C8"]
    no_header = read_headcounts(read_grids(workbook([["名称", "数量"], ["a", 1]]), "h.xlsx"))
    assert [e.message for e in no_header.errors] == [ERROR_NO_HEADER]
    twice = read_headcounts(read_grids(workbook([["单位", "总人数"], ["教育局", 1], ["教 育 局", 2]]), "h.xlsx"))
    assert "重复" in twice.errors[0].message


@pytest.fixture
def world():
    county = JurisdictionFactory(name="仪征市")
    other = JurisdictionFactory(name="如皋市")
    education = UnitFactory(name="教育局", jurisdiction=county, headcount=1000)
    bank = UnitFactory(name="建设银行", jurisdiction=county)
    UnitAlias.objects.create(unit=bank, jurisdiction=county, name="建行", normalized_name="建行")
    elsewhere = UnitFactory(name="教育局", jurisdiction=other, headcount=7)
    staff = UserFactory(username="office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=county)
    return county, other, education, bank, elsewhere, staff


def test_staff_import_headcounts_with_a_preview_and_history(client, world):
    county, other, education, bank, elsewhere, staff = world
    client.force_login(staff)
    url = reverse("admin:quotas_plandraft_headcounts")
    sheet = [row for row in SHEET if "三十" not in row]
    upload = SimpleUploadedFile("人数.xlsx", workbook(sheet))
    preview = client.post(url, {"jurisdiction": county.pk, "file": upload})
    text = preview.content.decode()
    assert "2 个单位人数将改变，1 个名称未匹配" in text and "✓ 建设银行" in text
    token = preview.context["token"]
    assert Unit.objects.get(pk=education.pk).headcount == 1000  # nothing written yet
    response = client.post(url, {"token": token})
    assert response.status_code == 302
    education.refresh_from_db()
    bank.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (education.headcount, bank.headcount, elsewhere.headcount) == (1200, 85, 7)
    entry = education.history.first()
    assert entry.history_user == staff and entry.history_change_reason.startswith("导入总人数 人数.xlsx")
    assert client.post(url, {"token": token}).status_code == 302  # used once: nothing happens again
    assert education.history.count() == 2


def test_a_sheet_with_errors_is_not_staged(client, world):
    county, *_, staff = world
    client.force_login(staff)
    response = client.post(
        reverse("admin:quotas_plandraft_headcounts"),
        {"jurisdiction": county.pk, "file": SimpleUploadedFile("h.xlsx", workbook(SHEET))},
    )
    assert response.context["token"] is None and "不能导入" in response.content.decode()


def test_another_jurisdiction_cannot_be_chosen(client, world):
    county, other, *_, staff = world
    client.force_login(staff)
    response = client.post(
        reverse("admin:quotas_plandraft_headcounts"),
        {"jurisdiction": other.pk, "file": SimpleUploadedFile("h.xlsx", workbook(SHEET))},
    )
    assert response.status_code == 200 and response.context["form"].errors["jurisdiction"]


def test_headcount_is_editable_in_the_unit_list(admin_client, world):
    county, other, education, *_ = world
    url = reverse("admin:units_unit_changelist")
    page = admin_client.get(url, {"jurisdiction__id__exact": county.pk})
    formset = page.context["cl"].formset
    data = {
        "form-TOTAL_FORMS": str(formset.total_form_count()),
        "form-INITIAL_FORMS": str(formset.initial_form_count()),
        "_save": "保存",
    }
    for i, form in enumerate(formset.forms):
        data[f"form-{i}-id"] = form.instance.pk
        data[f"form-{i}-headcount"] = 1300 if form.instance.pk == education.pk else (form.instance.headcount or "")
    response = admin_client.post(url + f"?jurisdiction__id__exact={county.pk}", data)
    assert response.status_code == 302
    education.refresh_from_db()
    assert education.headcount == 1300 and education.history.first().history_type == "~"

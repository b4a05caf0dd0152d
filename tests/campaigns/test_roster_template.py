"""The roster template Excel cannot mangle, and the reader names what Excel did; donors aged
55–60 with a declared history outside the portal, on the form and in the roster."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Donation
from campaigns.rosters.reader import ERROR_ID_AS_NUMBER, read_roster
from tests.factories import QuotaFactory, id_number

pytestmark = pytest.mark.django_db
D = dt.date
EXCEL_SAYS = "Excel 把身份证号转成了数字，请把该列设为文本后重新填写"
# Born 1970-01-01: 56 years old in November 2026.
OLDER = id_number(birth=D(1970, 1, 1), seq=51)


@pytest.fixture(autouse=True)
def quota(plan, unit_a):
    return QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)


def upload(client, data: bytes, unit, name="名单.xlsx"):
    return client.post("/liaison/roster/", {"unit": unit.pk, "file": SimpleUploadedFile(name, data)})


def workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_template_formats_the_id_as_text_and_keeps_the_example_apart(liaison_client):
    data = liaison_client.get("/liaison/roster/template.xlsx").content
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["献血者名单"]
    header = [c.value for c in sheet[2]]
    column = header.index("身份证号") + 1
    assert all(sheet.cell(row=r, column=column).number_format == "@" for r in range(3, 100))
    assert "曾献血（本系统外）" in header
    assert [c.value for c in sheet[3]] == [None] * len(header)  # no example among the donors
    assert "360426199101010071" in [c.value for row in workbook["说明和示例"].iter_rows() for c in row]


def test_an_unchanged_template_imports_no_donor(liaison_client, unit_a):
    data = liaison_client.get("/liaison/roster/template.xlsx").content
    preview = upload(liaison_client, data, unit_a)
    assert preview.context["preview"].rows == [] and preview.context["token"] is None
    assert "表格是空的" in preview.content.decode()
    assert Donation.objects.count() == 0


def test_a_filled_template_imports_and_the_example_copied_into_it_is_skipped(liaison_client, unit_a):
    workbook = openpyxl.load_workbook(io.BytesIO(liaison_client.get("/liaison/roster/template.xlsx").content))
    sheet = workbook["献血者名单"]
    sheet.append(["示例", "张三", "男", "360426199101010071", "2026-03-15", 400, "全血", "", "", ""])
    sheet.append([1, "钱八", "男", id_number(seq=61), D(2026, 3, 15), 400, "全血", "", "", ""])
    preview = upload(liaison_client, workbook_bytes(workbook), unit_a)
    assert [c.row.name for c in preview.context["preview"].rows] == ["钱八"]


@pytest.mark.parametrize("typed", [3.60426199101010e17, 360426199101010000, "3.60426E+17", "3.21E+17"])
def test_an_id_excel_made_a_number_is_named_as_such(liaison_client, unit_a, typed):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "姓名", "身份证号", "献血日期", "献血量"])
    sheet.append([1, "孙九", typed, D(2026, 3, 15), 400])
    page = upload(liaison_client, workbook_bytes(workbook), unit_a).content.decode()
    assert EXCEL_SAYS in page and "Sheet!C2" in page
    assert "应为" not in page  # not a checksum error
    assert Donation.objects.count() == 0


def test_a_csv_saved_by_excel_with_scientific_notation():
    data = "姓名,身份证号,献血日期,献血量\n孙九,3.60426E+17,2026-03-15,400\n".encode()
    reading = read_roster(data, "名单.csv", today=D(2026, 12, 1))
    assert reading.rows[0].errors == [ERROR_ID_AS_NUMBER.format(cell="名单!B2", text="3.60426E+17")]


def test_a_donor_of_56_needs_a_declared_history_on_the_form(liaison_client, unit_a, staff_client):
    data = {
        "unit": unit_a.pk,
        "donor_name": "周十",
        "id_number": OLDER,
        "donated_on": "2026-11-20",
        "amount": "whole:400",
    }
    refused = liaison_client.post("/liaison/log/", data).content.decode()
    assert "首次献血者须在 55 周岁以下" in refused and Donation.objects.count() == 0
    accepted = liaison_client.post("/liaison/log/", data | {"declared_history": "on"}, follow=True)
    assert "已声明曾在本系统外献血" in accepted.content.decode()
    donation = Donation.objects.get()
    assert donation.declared_history
    # staff see the declaration
    admin_page = staff_client.get(f"/admin/campaigns/donation/{donation.pk}/change/").content.decode()
    assert "曾献血（本系统外）" in admin_page


def test_a_roster_row_of_56_with_the_column_filled(liaison_client, unit_a):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "姓名", "身份证号", "献血日期", "献血量", "曾献血（本系统外）"])
    sheet.append([1, "周十", OLDER, D(2026, 11, 20), 400, "是"])
    sheet.append([2, "吴十一", id_number(birth=D(1970, 1, 1), seq=53), D(2026, 11, 20), 400, ""])
    preview = upload(liaison_client, workbook_bytes(workbook), unit_a)
    first, second = preview.context["preview"].rows
    assert not first.errors and first.warnings and first.donation.declared_history
    assert any("首次献血者" in e for e in second.errors)
    sheet.delete_rows(3)
    preview = upload(liaison_client, workbook_bytes(workbook), unit_a)
    liaison_client.post("/liaison/roster/", {"token": preview.context["token"]})
    assert Donation.objects.get().declared_history

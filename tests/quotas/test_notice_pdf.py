"""Text PDFs of whole notices read to exactly the rows their workbooks read to.

The PDFs are printed in the test from the three real notices' tables (`tests/quotas/pdfs.py`):
title and body text, a 附件 label and title per table, ruling lines, merged cells, wrapped
text, and page breaks with the header repeated (or not) and merged cells cut by the break.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from campaigns.rosters.reader import read_roster
from quotas.notice.grid import ERROR_NOT_SPREADSHEET, read_grids
from quotas.notice.pdf import (
    ERROR_PDF_DAMAGED,
    ERROR_PDF_ENCRYPTED,
    ERROR_PDF_NO_TABLE,
    ERROR_PDF_TOO_MANY_PAGES,
    WARN_PDF_IMAGE_PAGES,
    read_pdf,
)
from quotas.notice.reader import read_notice
from tests.quotas.test_notice_golden import assert_reads_as_expected

from .pdfs import Table, image_pdf, notice_pdf, table_from_sheet, text_pdf

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
CASES = ["rugao-2023", "yizheng-2024", "yuanzhou-2023"]
SCANNED = "扫描件或照片中没有找到带表格线的表格"
BODY = ["各镇人民政府，各园区，市各委、办、局：", "现将2024年无偿献血工作目标任务分解落实如下。"]


def _tables(name: str) -> list[Table]:
    sheets = read_grids((NOTICES / f"{name}.xlsx").read_bytes(), f"{name}.xlsx")
    return [table_from_sheet(sheet, sheet.name) for sheet in sheets]


def _expected(name: str) -> dict:
    return json.loads((NOTICES / f"{name}.xlsx.expected.json").read_text(encoding="utf-8"))


_assert_reads_as_expected = assert_reads_as_expected


@pytest.mark.parametrize("name", CASES)
def test_notice_pdf_reads_to_expected_rows(name):
    expected = _expected(name)
    data = notice_pdf(_tables(name), body=BODY)
    reading = read_notice(data, f"{name}.pdf", year=expected["plan"]["year"])
    got = reading.as_json()
    _assert_reads_as_expected(got, expected)
    assert got["warnings"] == []
    if "monthly_totals" in expected["plan"]:
        assert got["plan"]["monthly_totals"] == expected["plan"]["monthly_totals"]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("repeat_header", [True, False])
@pytest.mark.parametrize("repeat_merged_text", [True, False])
def test_tables_over_many_pages(name, repeat_header, repeat_merged_text):
    """Five rows a page: the header repeated or not, a merged period cell cut by the break
    with its text repeated below it or left blank there."""
    expected = _expected(name)
    data = notice_pdf(
        _tables(name), max_rows_per_page=5, repeat_header=repeat_header, repeat_merged_text=repeat_merged_text
    )
    sheets, _, _ = read_pdf(data)
    assert len(sheets) == len(expected["sheets"])  # the continuations joined, one sheet per 附件
    reading = read_notice(data, f"{name}.pdf", year=expected["plan"]["year"])
    _assert_reads_as_expected(reading.as_json(), expected)


def _table_part(sheet):
    """A grid from its header row on, merged cells filled in, text without white space."""
    from quotas.notice.layouts import is_header_row

    start = next(i for i, row in enumerate(sheet.rows) if is_header_row(row))
    rows = []
    for row in sheet.rows[start:]:
        text = ["" if v is None else re.sub(r"\s+", "", str(v)) for v in row]
        if text[0].startswith(("注", "说明", "联系人")) or (text[0] and not any(text[1:]) and rows):
            break
        rows.append(text)
    return rows


def test_the_grid_and_its_merges_are_the_workbooks():
    """Side-by-side blocks, the period merged down over its month across page breaks, the
    repeated header dropped: the PDF's grid is the workbook's grid, cell for cell."""
    workbook = read_grids((NOTICES / "yizheng-2024.xlsx").read_bytes(), "yizheng-2024.xlsx")
    data = notice_pdf(_tables("yizheng-2024"), max_rows_per_page=4, repeat_merged_text=False)
    sheets, _, _ = read_pdf(data)
    assert [s.name for s in sheets] == ["附件1", "附件2"]
    for pdf_sheet, xlsx_sheet in zip(sheets, workbook, strict=True):
        assert _table_part(pdf_sheet) == _table_part(xlsx_sheet)
    merged_down = [m for m in sheets[1].merges if m.left == 0 and m.bottom > m.top]
    assert len(merged_down) == len([m for m in workbook[1].merges if m.left == 0 and m.bottom > m.top])
    # The page's repeated headers are dropped; the workbook's own second header row stays.
    headers = [sum(1 for row in sheet.rows if row[0] == "献血时间") for sheet in (sheets[1], workbook[1])]
    assert headers[0] == headers[1]


def test_the_notice_text_comes_with_the_pdf():
    """文号, title and date come from the PDF's own text; its stated total is the plan's
    total and is checked against the rows like a 合计 row."""
    body = ["仪政办发〔2024〕6号", "全市献血总量确定为12500人份，各单位任务见附件。", "2024年2月20日"]
    reading = read_notice(notice_pdf(_tables("yizheng-2024"), body=body), "n.pdf", year=2024)
    plan = reading.as_json()["plan"]
    assert plan["document_number"] == "仪政办发〔2024〕6号"
    assert plan["issue_date"] == "2024-02-20"
    assert plan["declared_total"] == 12500
    computed = sum(r.target for r in reading.rows if not r.advisory)
    assert [w.message for w in reading.warnings] == [
        f"通知正文写明总数为 12500（“全市献血总量确定为12500人份”），附件各行相加为 {computed}，少 {12500 - computed}："
        "如差额由个人献血完成可忽略此提示，否则请核对附件。"
    ]


def test_a_stated_total_smaller_than_the_rows_is_a_warning():
    table = Table("附件1", "任务表", [["单位", "任务数"], ["甲局", "100"], ["乙局", "80"]])
    reading = read_notice(notice_pdf([table], body=["全年160人次。"]), "n.pdf", year=2024)
    assert reading.errors == [] and reading.declared_total == 160
    assert [w.message for w in reading.warnings] == [
        "通知正文写明总数为 160（“全年160人次”），但附件各行相加为 180，多出 20，请核对。"
    ]


def test_a_scanned_pdf_without_a_ruled_table_is_refused_saying_so():
    # Scans are read by OCR (tests/quotas/test_notice_ocr.py); this one's picture has no table.
    reading = read_notice(image_pdf(), "scan.pdf", year=2024)
    assert reading.rows == []
    assert len(reading.errors) == 1 and SCANNED in reading.errors[0].message


def test_picture_pages_beside_the_tables_are_named():
    """A text notice (4 pages) with a scanned page added: the tables are read, page 5 named."""
    data = notice_pdf(_tables("yizheng-2024"), picture_pages=1)
    reading = read_notice(data, "n.pdf", year=2024)
    assert reading.errors == [] and len(reading.rows) == 123
    assert [w.message for w in reading.warnings] == [WARN_PDF_IMAGE_PAGES.format(pages="第 5 页")]


def test_a_pdf_with_too_many_pages_is_refused(monkeypatch):
    monkeypatch.setattr("quotas.notice.pdf.MAX_PAGES", 3)
    reading = read_notice(notice_pdf(_tables("yizheng-2024")), "n.pdf", year=2024)
    assert [e.message for e in reading.errors] == [ERROR_PDF_TOO_MANY_PAGES.format(pages=4, limit=3)]


def test_a_pdf_without_a_table_is_refused_saying_so():
    reading = read_notice(text_pdf(["关于做好无偿献血工作的通知", "全年160人次。"]), "n.pdf", year=2024)
    assert reading.rows == [] and [e.message for e in reading.errors] == [ERROR_PDF_NO_TABLE]


def test_encrypted_and_damaged_pdfs():
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=pdfencrypt.StandardEncryption("secret"))
    pdf.drawString(100, 700, "x")
    pdf.save()
    assert [e.message for e in read_notice(buffer.getvalue(), "n.pdf", year=2024).errors] == [ERROR_PDF_ENCRYPTED]
    damaged = notice_pdf(_tables("yizheng-2024"))[:3000]
    errors = read_notice(damaged, "n.pdf", year=2024).errors
    assert len(errors) == 1 and errors[0].message.startswith(ERROR_PDF_DAMAGED.split("（")[0])


def test_pdf_is_known_by_its_content_not_its_name():
    data = notice_pdf(_tables("yizheng-2024"))
    assert len(read_notice(data, "附件.xlsx", year=2024).rows) == 123
    # Rosters and headcount sheets stay tables: a PDF there is refused as before.
    assert read_roster(data, "名单.pdf", today=__import__("datetime").date(2024, 6, 1)).errors == [
        ERROR_NOT_SPREADSHEET
    ]


@pytest.mark.django_db
def test_import_notice_command_reads_a_pdf(tmp_path):
    expected = _expected("yuanzhou-2023")
    path = tmp_path / "袁府办字〔2023〕5号.pdf"
    path.write_bytes(notice_pdf(_tables("yuanzhou-2023"), body=["袁府办字〔2023〕5号"], max_rows_per_page=30))
    out = io.StringIO()
    call_command(
        "import_notice",
        str(path),
        "--jurisdiction",
        "宜春市袁州区",
        "--year",
        "2023",
        "--dry-run",
        "--json",
        stdout=out,
    )
    got = json.loads(out.getvalue())
    _assert_reads_as_expected(got, expected)
    assert got["plan"]["document_number"] == "袁府办字〔2023〕5号"


@pytest.mark.django_db
def test_import_notice_command_refuses_a_scan(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(image_pdf())
    with pytest.raises(CommandError):
        call_command(
            "import_notice", str(path), "--jurisdiction", "仪征市", "--year", "2024", "--json", stdout=io.StringIO()
        )


@pytest.mark.django_db
def test_admin_imports_the_whole_notice_pdf(staff_client, jurisdiction, settings, tmp_path):
    """Upload the notice's PDF as published: the preview, then the plan with its 文号 and the
    total the text states; the file kept is the PDF as uploaded."""
    import hashlib

    from django.core.files.uploadedfile import SimpleUploadedFile

    from quotas.models import AnnualPlan, PlanSource

    settings.MEDIA_ROOT = tmp_path
    body = ["仪政办发〔2024〕6号", "全市献血总量确定为12500人份。"]
    data = notice_pdf(_tables("yizheng-2024"), body=body, max_rows_per_page=20)
    url = "/admin/quotas/annualplan/import/"
    preview = staff_client.post(
        url, {"jurisdiction": jurisdiction.pk, "year": 2024, "file": SimpleUploadedFile("通知.pdf", data)}
    )
    page = preview.content.decode()
    assert preview.status_code == 200 and "新增 123" in page and "通知正文写明总数为 12500" in page
    staff_client.post(url, {"token": preview.context["token"]})
    plan = AnnualPlan.objects.get()
    assert (plan.quotas.count(), plan.document_number, plan.declared_total) == (123, "仪政办发〔2024〕6号", 12500)
    source = PlanSource.objects.get()
    assert source.original_name == "通知.pdf" and source.sha256 == hashlib.sha256(data).hexdigest()


def _page_bomb(pages: int) -> bytes:
    """A valid PDF of `pages` empty pages, written by hand (each page its own object)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = b" ".join(f"{3 + i} 0 R".encode() for i in range(pages))
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(pages).encode() + b" >>")
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_a_page_bomb_is_refused_quickly():
    """100,000 pages: refused from the page tree's count before any page is read (parsing the
    10 MB page tree itself takes seconds: pdfminer's parser; the upload sandbox bounds the rest)."""
    import time

    data = _page_bomb(100_000)
    started = time.monotonic()
    reading = read_notice(data, "n.pdf", year=2024)
    assert time.monotonic() - started < 30
    assert [e.message for e in reading.errors] == [ERROR_PDF_TOO_MANY_PAGES.format(pages=100_000, limit=300)]


def _two_tables_apart(left_row_height: float, right_row_height: float) -> bytes:
    """附件1 with two tables printed apart side by side, each of its own row height."""
    from reportlab.pdfgen import canvas

    from .pdfs import FONT

    blocks = [
        (50, left_row_height, [["月份", "单位", "任务数"], ["一月", "甲局", "10"], ["二月", "乙局", "20"]]),
        (320, right_row_height, [["月份", "单位", "任务数"], ["七月", "丙局", "30"], ["八月", "丁局", "40"]]),
    ]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setFont(FONT, 10)
    pdf.drawString(50, 800, "附件1")
    for x, height, rows in blocks:
        for r, row in enumerate(rows):
            y = 760 - (r + 1) * height
            for c, text in enumerate(row):
                pdf.rect(x + c * 70, y, 70, height)
                pdf.drawString(x + c * 70 + 4, y + height / 2 - 4, text)
    pdf.save()
    return buffer.getvalue()


@pytest.mark.parametrize(("left", "right"), [(20, 20), (20, 31)])
def test_tables_apart_side_by_side_read_each_row_once(left, right):
    reading = read_notice(_two_tables_apart(left, right), "n.pdf", year=2024)
    assert reading.errors == []
    assert [(r.unit, r.target, r.period_label) for r in reading.rows] == [
        ("甲局", 10, "一月"),
        ("乙局", 20, "二月"),
        ("丙局", 30, "七月"),
        ("丁局", 40, "八月"),
    ]

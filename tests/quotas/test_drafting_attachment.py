"""The attachment writer: whatever the rows, the portal's own reader gives them back exactly,
from the workbook and from the Word document; the layout is a real notice's."""

from __future__ import annotations

import io

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotas.drafting.attachment import (
    UNREADABLE_ANNUAL,
    UNREADABLE_FORMULA,
    UNREADABLE_GROUP,
    Attachment,
    Row,
    layout,
    unreadable,
    write_docx,
    write_xlsx,
)
from quotas.drafting.periods import DEKAD, MONTH, periods
from quotas.notice.reader import read_notice
from quotas.resources import escape_formula

YEAR = 2025
LABELS = [p.label for p in periods(MONTH, YEAR)] + [p.label for p in periods(DEKAD, YEAR)] + ["全年"]
UNIT_CHARS = "市区县镇局委办院校所公司集团银行中心站队部会社有限责任仪化扬子人民医院学技师第一二三ABC0123 （）()·-"

names = st.text(alphabet=UNIT_CHARS, min_size=1, max_size=40).map(str.strip).filter(bool)


@st.composite
def attachments(draw, most: int = 120):
    n = draw(st.integers(min_value=1, max_value=most))
    rows = []
    period_labels = sorted(draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n)), key=LABELS.index)
    with_location = draw(st.booleans())
    for seq in range(1, n + 1):
        row = Row(
            seq=seq,
            unit=draw(names),
            target=draw(st.integers(min_value=0, max_value=5000)),
            period=period_labels[seq - 1],
            location=draw(st.one_of(st.just(""), names)) if with_location else "",
        )
        if unreadable(row):
            continue
        rows.append(Row(len(rows) + 1, row.unit, row.target, row.period, row.location))
    if not rows:
        rows = [Row(1, "仪化公司", 10, "三月")]
    return Attachment(label="附件1", title=f"测试{YEAR}年无偿献血时间安排及任务数", rows=rows)


def read_back(data: bytes, name: str):
    reading = read_notice(data, name, year=YEAR)
    rows = sorted((r.seq, r.unit, r.target, r.period_label, r.location or "") for r in reading.rows)
    return reading, rows


def expected(document: Attachment):
    return [(r.seq, r.unit, r.target, r.period, r.location) for r in document.rows]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attachments())
def test_the_workbook_reads_back_exactly(document):
    reading, rows = read_back(write_xlsx(document, escape=escape_formula), "a.xlsx")
    assert reading.errors == [] and reading.warnings == []
    assert rows == expected(document)
    assert reading.declared_total == document.total
    assert [r.seq for r in reading.rows] == sorted(r.seq for r in reading.rows)  # read in the draft's order


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attachments(most=60))  # python-docx reads tables slowly: fewer and shorter examples
def test_the_word_document_reads_back_exactly(document):
    reading, rows = read_back(write_docx(document), "a.docx")
    assert reading.errors == [] and reading.warnings == []
    assert rows == expected(document)
    assert reading.declared_total == document.total


def _many(n: int) -> Attachment:
    months = [p.label for p in periods(MONTH, YEAR)]
    return Attachment(
        "附件2",
        "仪征市2025年各委、办、局无偿献血时间安排及任务数",
        [Row(i + 1, f"单位{i + 1}", 10 + i % 7, months[i * 12 // n]) for i in range(n)],
    )


def test_the_workbook_is_laid_out_as_a_notice():
    document = _many(150)
    plan = layout(document)
    assert plan.blocks == 2 and len(plan.pages) > 1
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(document, escape=escape_formula))).active
    assert sheet["A1"].value == "附件2" and sheet["A2"].value.startswith("仪征市2025年")
    headers = [r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "序号"]
    assert len(headers) == len(plan.pages)  # the header again at the top of every page
    assert [b.id for b in sheet.row_breaks.brk] == [h - 1 for h in headers[1:]]
    assert [sheet.cell(headers[0], c).value for c in range(1, 9)] == ["序号", "单位", "任务数（人）", "献血时间"] * 2
    # each page's first row of each block names its period, merged down over that period's rows
    merged = [str(r) for r in sheet.merged_cells.ranges]
    assert any(m.startswith(f"D{headers[1] + 1}:") for m in merged)
    assert int(sheet.page_setup.paperSize) == 9 and sheet.page_setup.fitToWidth == 1
    last = sheet.max_row
    assert (sheet.cell(last, 1).value, sheet.cell(last, 3).value) == ("合计", document.total)
    # the left block holds the first half of the rows, the right block the second half
    assert sheet.cell(headers[0] + 1, 1).value == 1 and sheet.cell(headers[0] + 1, 5).value == 76


def test_one_block_when_it_fits_one_page_and_a_place_column_when_there_are_places():
    document = _many(12)
    assert layout(document).blocks == 1
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(document, escape=escape_formula))).active
    assert sheet.cell(4, 5).value is None
    placed = Attachment("附件1", "t", [Row(1, "仪化公司", 5, "三月", "仪化医院")])
    assert layout(placed).orientation == "landscape"
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(placed, escape=escape_formula))).active
    assert sheet.cell(4, 5).value == "献血地点" and sheet.cell(5, 5).value == "仪化医院"


def test_text_cells_are_escaped_against_formulas():
    document = Attachment("=HYPERLINK(1)", "+标题", [Row(1, "仪化公司", 5, "三月")])
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(document, escape=escape_formula))).active
    assert sheet["A1"].value == "'=HYPERLINK(1)" and sheet["A2"].value == "'+标题"


@pytest.mark.parametrize(
    ("unit", "group", "reason"),
    [
        ("=1+1", False, UNREADABLE_FORMULA),
        ("卫健委、人民医院", False, UNREADABLE_GROUP),
        ("卫健委、人民医院", True, ""),
        ("扬子文旅控股集团有限公司 扬子投资发展有限公司", False, UNREADABLE_GROUP),
        ("94987 部队", False, ""),
        ("卫健系统（全年）", False, UNREADABLE_ANNUAL),
    ],
)
def test_rows_the_reader_would_not_give_back_are_named(unit, group, reason):
    assert unreadable(Row(1, unit, 5, "三月", group=group)) == reason

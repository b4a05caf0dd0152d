"""python-calamine reads every workbook to the grid openpyxl reads, so the notice reader may use
the faster one (`quotas.notice.workbook`): every real notice, the bench's 20,000-row layouts and
a workbook of the awkward cells (dates, whole numbers, blanks, merges, a hidden sheet)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest

from bench.management.commands.bench_import import generate
from quotas.notice import workbook
from quotas.notice.reader import read_notice

from .test_notice_golden import assert_reads_as_expected

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "fixtures" / "notices", ROOT.parent / "shared" / "notices"]
WORKBOOKS = sorted({p for folder in FOLDERS if folder.is_dir() for p in folder.glob("*.xlsx")})


def _grid(sheets) -> list[tuple]:
    """Every sheet as compared: its name, each cell with its type (12 is not 12.0 here), its
    merges and formula count."""
    return [
        (s.name, [[(type(v), v) for v in row] for row in s.cells], s.merges, s.formula_cells, s.problem) for s in sheets
    ]


def _both(data: bytes):
    return workbook.read_xlsx(data), workbook.read_xlsx_openpyxl(data)


def test_the_corpus_is_found():
    assert {p.name for p in WORKBOOKS} >= {"rugao-2023.xlsx", "yizheng-2024.xlsx", "yuanzhou-2023.xlsx"}


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_notice_reads_to_the_same_grid_both_ways(path):
    fast, reference = _both(path.read_bytes())
    assert _grid(fast) == _grid(reference)


@pytest.mark.parametrize("path", [p for p in WORKBOOKS if Path(f"{p}.expected.json").exists()], ids=lambda p: p.name)
def test_every_notice_reads_to_its_expected_rows_both_ways(path, monkeypatch):
    expected = json.loads(Path(f"{path}.expected.json").read_text(encoding="utf-8"))
    year = expected["plan"]["year"]
    assert_reads_as_expected(read_notice(path.read_bytes(), path.name, year=year).as_json(), expected)
    monkeypatch.setattr(workbook, "_read_with_calamine", _refuse)  # openpyxl only: the fallback
    assert_reads_as_expected(read_notice(path.read_bytes(), path.name, year=year).as_json(), expected)


def _refuse(*args, **kwargs):
    raise RuntimeError("calamine unavailable")


@pytest.mark.parametrize("layout", ["simple", "two_block", "compound"])
def test_the_bench_notices_read_the_same_both_ways(layout):
    data, _ = generate(layout, 600)
    fast, reference = _both(data)
    assert _grid(fast) == _grid(reference)


def test_awkward_cells_read_as_openpyxl_reads_them():
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "附件"
    ws["C3"] = dt.date(2024, 3, 5)  # a date: a datetime at midnight, not a date
    ws["D3"] = dt.datetime(2024, 3, 5, 14, 30)
    ws["E3"] = dt.time(9, 30)
    ws["C4"], ws["D4"], ws["E4"], ws["F4"] = 12, 12.5, True, "  教育局 "  # 12 an int, as openpyxl
    ws["H4"], ws["I4"] = 1e20, -0.0
    ws["D5"] = dt.timedelta(hours=30)
    ws["E5"] = 3
    ws["E5"].number_format = "0%"
    ws["C7"] = "空行之后"
    ws["A9"] = "三月"
    ws.merge_cells("A9:A11")
    ws["B11"] = "教育局"
    ws["J12"] = None  # the declared dimension reaches past the last value: rows padded to it
    hidden = book.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "隐藏的表也读"
    buffer = io.BytesIO()
    book.save(buffer)
    fast, reference = _both(buffer.getvalue())
    assert _grid(fast) == _grid(reference)
    assert [s.name for s in fast] == ["附件", "隐藏"]
    assert fast[0].cells[2][2] == dt.datetime(2024, 3, 5) and type(fast[0].cells[3][2]) is int
    assert fast[0].value(10, 0) == "三月" and fast[0].cells[5] == [None] * 10


def test_a_sheet_whose_cells_lie_past_its_dimension_is_refused_before_reading():
    book = openpyxl.Workbook()
    book.active["A1"] = "单位"
    buffer = io.BytesIO()
    book.save(buffer)
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                # A tiny file declaring A1 whose one cell sits a million rows down: calamine would
                # allocate the whole span.
                content = content.replace(b'<row r="1"', b'<row r="900000"').replace(b'r="A1"', b'r="A900000"')
            target.writestr(item, content)
    with pytest.raises(workbook.GridError, match="900000"):
        workbook.read_xlsx(out.getvalue())

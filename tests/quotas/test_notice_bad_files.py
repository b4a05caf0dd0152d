"""Files that are not what they claim: a clear message, bounded work, and nothing read."""

from __future__ import annotations

import io
import zipfile

import pytest

from quotas.notice import grid
from quotas.notice.reader import read_notice

from .workbooks import xlsx


def only_error(data: bytes, name: str) -> str:
    reading = read_notice(data, name, year=2024)
    assert reading.rows == []
    assert len(reading.errors) == 1
    return reading.errors[0].message


def test_empty_file():
    assert "空" in only_error(b"", "a.xlsx")


def test_not_a_spreadsheet():
    assert "格式" in only_error(b"MZ\x90\x00\x03\x00\x00\x00", "program.exe")


def test_a_broken_photo():
    assert "图片文件已损坏" in only_error(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "photo.png")


def test_truncated_zip():
    data = xlsx([["单位", "任务数"], ["甲", 1]])
    assert "损坏" in only_error(data[: len(data) // 2], "cut.xlsx")


def test_zip_bomb_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    assert "压缩炸弹" in only_error(buffer.getvalue(), "bomb.xlsx")


def test_sheet_declaring_a_million_rows(monkeypatch):
    data = xlsx([["单位", "任务数"], ["甲", 1]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                content = content.replace(b'<dimension ref="A1:B2"/>', b'<dimension ref="A1:XFD1048576"/>')
            target.writestr(item, content)
    assert "1048576" in only_error(out.getvalue(), "huge.xlsx")


def test_macro_workbook_is_refused():
    data = xlsx([["单位", "任务数"], ["甲", 1]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("xl/vbaProject.bin", b"\0" * 100)
    assert "宏" in only_error(out.getvalue(), "macro.xlsm")


def test_password_protected_office_file():
    data = grid.OLE_MAGIC + b"\0" * 512 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512
    assert "密码" in only_error(data, "secret.xlsx")


def test_formulas_without_saved_values_are_refused():
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.append(["单位", "任务数"])
    ws.append(["甲局", "=2+3"])
    buffer = io.BytesIO()
    workbook.save(buffer)  # openpyxl stores no cached value: nobody knows what the cell says
    assert "1 个公式没有保存计算结果" in only_error(buffer.getvalue(), "f.xlsx")


def test_formulas_with_saved_values_are_read_and_said():
    data = xlsx([["单位", "任务数"], ["甲局", 5]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                # what Excel writes: the formula and the value it last computed
                content = content.replace(b'<c r="B2" t="n"><v>5</v></c>', b'<c r="B2"><f>2+3</f><v>5</v></c>')
                assert b"<f>2+3</f>" in content
            target.writestr(item, content)
    reading = read_notice(out.getvalue(), "f.xlsx", year=2024)
    assert [(r.unit, r.target) for r in reading.rows] == [("甲局", 5)]
    assert any("公式" in w.message for w in reading.warnings)


@pytest.mark.parametrize("encoding", ["utf-16"])
def test_utf16_csv(encoding):
    data = "单位,任务数\r\n甲局,3\r\n".encode(encoding)
    reading = read_notice(data, "u.csv", year=2024)
    assert [(r.unit, r.target) for r in reading.rows] == [("甲局", 3)]

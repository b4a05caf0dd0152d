"""Legacy Word (.doc), WPS Writer (.wps) and WPS Spreadsheets (.et) notices, known by content.

The .doc files are made in the test from the real notices' tables (a Word document of the
tables, saved as .doc by LibreOffice) and must read to exactly the workbooks' expected rows.
Those tests need LibreOffice: they are skipped without `soffice`, unless REQUIRE_LIBREOFFICE
is set (CI), which makes a missing LibreOffice a failure. What the portal says without
LibreOffice, and a converter that hangs, are tested everywhere with a small .doc kept in
`tests/quotas/files/`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from campaigns.rosters.reader import read_roster
from quotas.notice.grid import ERROR_NOT_SPREADSHEET, read_grids
from quotas.notice.legacy import ERROR_CONVERT_TIMEOUT, ERROR_NO_LIBREOFFICE, soffice_path
from quotas.notice.reader import read_notice
from tests.quotas.test_notice_golden import assert_reads_as_expected

from .workbooks import docx_notice

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
SMALL_DOC = Path(__file__).resolve().parent / "files" / "yizheng-2024-attachment1.doc"
CASES = ["rugao-2023", "yizheng-2024", "yuanzhou-2023"]


def _need_libreoffice():
    if soffice_path() is None:
        if os.environ.get("REQUIRE_LIBREOFFICE"):
            pytest.fail("REQUIRE_LIBREOFFICE is set but LibreOffice (soffice) is not installed")
        pytest.skip("LibreOffice (soffice) is not installed")


def _expected(name: str) -> dict:
    return json.loads((NOTICES / f"{name}.xlsx.expected.json").read_text(encoding="utf-8"))


_assert_reads_as_expected = assert_reads_as_expected


def _soffice(tmp: Path, target: str, *paths: Path) -> None:
    subprocess.run(
        [
            soffice_path(),
            f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(tmp),
            *map(str, paths),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def word_binaries(tmp_path_factory) -> dict[str, bytes]:
    """Each notice's tables as a Word document saved as .doc by LibreOffice (through .odt:
    LibreOffice's direct .docx → .doc export drops python-docx's plain tables)."""
    _need_libreoffice()
    tmp = tmp_path_factory.mktemp("doc")
    sources = []
    for name in CASES:
        sheets = read_grids((NOTICES / f"{name}.xlsx").read_bytes(), f"{name}.xlsx")
        path = tmp / f"{name}.docx"
        path.write_bytes(docx_notice(sheets, body=["关于做好无偿献血工作的通知", "全年总量确定为12500人份。"]))
        sources.append(path)
    _soffice(tmp, "odt", *sources)
    _soffice(tmp, "doc:MS Word 97", *[tmp / f"{name}.odt" for name in CASES])
    return {name: (tmp / f"{name}.doc").read_bytes() for name in CASES}


@pytest.mark.parametrize("name", CASES)
def test_doc_reads_to_expected_rows(word_binaries, name):
    expected = _expected(name)
    reading = read_notice(word_binaries[name], f"{name}.doc", year=expected["plan"]["year"])
    _assert_reads_as_expected(reading.as_json(), expected)
    assert reading.declared_total == 12500  # the document's own text states the total


def test_wps_and_misnamed_files_are_known_by_content(word_binaries):
    expected = _expected("yizheng-2024")
    for filename in ("通知.wps", "通知.xls"):
        reading = read_notice(word_binaries["yizheng-2024"], filename, year=2024)
        _assert_reads_as_expected(reading.as_json(), expected)


@pytest.mark.django_db
def test_doc_is_converted_inside_the_upload_sandbox(word_binaries):
    from quotas.services import read_notice_bounded

    reading = read_notice_bounded(word_binaries["rugao-2023"], "通知.doc", year=2023)
    _assert_reads_as_expected(reading.as_json(), _expected("rugao-2023"))


def test_damaged_doc_is_refused_clearly():
    """LibreOffice recovers what it can of a truncated file: here no table, and it says so."""
    _need_libreoffice()
    reading = read_notice(SMALL_DOC.read_bytes()[:9000], "通知.doc", year=2024)
    assert reading.rows == [] and len(reading.errors) == 1
    assert any(words in reading.errors[0].message for words in ("损坏", "没有找到任务表"))


def _xls_of(name: str) -> bytes:
    """The workbook as Excel 97 binary (what WPS Spreadsheets' .et holds), merges kept."""
    import io

    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for sheet in read_grids((NOTICES / f"{name}.xlsx").read_bytes(), f"{name}.xlsx"):
        out = book.add_sheet(sheet.name)
        anchors = {(m.top, m.left): m for m in sheet.merges}
        covered = {(r, c) for m in sheet.merges for r in range(m.top, m.bottom + 1) for c in range(m.left, m.right + 1)}
        for r, row in enumerate(sheet.cells):
            for c, value in enumerate(row):
                if (r, c) in anchors:
                    m = anchors[(r, c)]
                    out.write_merge(m.top, m.bottom, m.left, m.right, value)
                elif value is not None and (r, c) not in covered:
                    out.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name", CASES)
def test_et_reads_with_xlrd_to_expected_rows(name):
    expected = _expected(name)
    reading = read_notice(_xls_of(name), f"{name}.et", year=expected["plan"]["year"])
    _assert_reads_as_expected(reading.as_json(), expected)


def test_without_libreoffice_the_portal_says_so(monkeypatch):
    monkeypatch.setenv("SOFFICE", "/nonexistent/soffice")
    reading = read_notice(SMALL_DOC.read_bytes(), "通知.doc", year=2024)
    assert [e.message for e in reading.errors] == [ERROR_NO_LIBREOFFICE.format(what=".doc/.wps")]
    assert reading.errors[0].message.startswith(
        "服务器未安装 LibreOffice，无法读取 .doc/.wps 文件；请另存为 .docx 或 .xlsx"
    )


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; only its parent has not looked yet


def test_a_converter_that_hangs_is_stopped(monkeypatch, tmp_path):
    """The converter's whole process group is killed at the timeout, helpers included."""
    hanging = tmp_path / "soffice"
    pid_file = tmp_path / "helper.pid"
    hanging.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n")
    hanging.chmod(0o755)
    monkeypatch.setenv("SOFFICE", str(hanging))
    monkeypatch.setenv("SOFFICE_TIMEOUT_SECONDS", "2")
    started = time.monotonic()
    reading = read_notice(SMALL_DOC.read_bytes(), "通知.doc", year=2024)
    assert time.monotonic() - started < 10
    assert [e.message for e in reading.errors] == [ERROR_CONVERT_TIMEOUT.format(what=".doc/.wps", seconds=2)]
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _running(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(helper)


def test_rosters_stay_spreadsheets():
    reading = read_roster(SMALL_DOC.read_bytes(), "名单.doc", today=dt.date(2024, 6, 1))
    assert reading.errors == [ERROR_NOT_SPREADSHEET]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("通知.pdf", True),
        ("通知.doc", True),
        ("通知.wps", True),
        ("附件.et", True),
        ("照片.jpg", True),
        ("照片.gif", False),
    ],
)
def test_the_upload_form_takes_the_new_formats(jurisdiction, name, accepted):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from quotas.forms import ERROR_SUFFIX, NoticeUploadForm

    form = NoticeUploadForm(
        {"jurisdiction": jurisdiction.pk, "year": 2024}, {"file": SimpleUploadedFile(name, b"%PDF-1.4 x")}
    )
    assert form.is_valid() is accepted
    if not accepted:
        assert form.errors["file"] == [str(ERROR_SUFFIX)]
    assert ".wps" in form.fields["file"].widget.attrs["accept"].split(",")

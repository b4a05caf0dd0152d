"""Scans and photos of the three real notices: read by OCR, with no silent wrong number.

The scans are made in the test (`tests/quotas/scans.py`: printed, rendered at 150–200 dpi,
turned by up to 2°, noisy, JPEG-compressed); one photo of a page is committed
(`files/yizheng-2024-scan-p2.jpg`) for the command. A row is exact when every field of the
expected JSON equals the reading (unit names and period text compared as the portal compares
names: `normalize_name`, white space and bracket width aside). Every row that is not exact must
carry an OCR flag (`flags` in the JSON); the unit-matching flag is left out of that count, since
in an empty portal every name is unmatched.
"""

from __future__ import annotations

import difflib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from quotas.notice.layouts import FLAG_UNMATCHED
from quotas.notice.ocr import ERROR_IMAGE_BOMB, ERROR_IMAGE_TOO_LARGE, OcrText, read_images
from quotas.notice.page_geometry import _skew, _straighten
from quotas.notice.reader import read_notice
from units.naming import normalize_name

from . import scans

FILES = Path(__file__).parent / "files"
# (notice, dpi, angle, noise, JPEG quality): every notice, each at another resolution and turn.
VARIANTS = [
    ("rugao-2023", 200, -1.8, 8.0, 60),
    ("yizheng-2024", 170, 1.5, 8.0, 60),
    ("yuanzhou-2023", 150, 2.0, 10.0, 50),
]


def _norm(value):
    if isinstance(value, str):
        return normalize_name(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def compare(got: dict, expected: dict) -> tuple[int, int, list]:
    """(rows expected, rows exact, rows wrong without an OCR flag — each described)."""
    total = exact = 0
    silent = []
    for sheet, rows in expected["sheets"].items():
        have = got["sheets"].get(sheet, [])
        total += len(rows)
        matcher = difflib.SequenceMatcher(
            a=[_norm(r["unit"]) for r in rows], b=[_norm(r["unit"]) for r in have], autojunk=False
        )
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            pairs = list(zip(range(a0, a1), range(b0, b1), strict=False)) if op in ("equal", "replace") else []
            for i, j in pairs:
                want, read = rows[i], have[j]
                if all(_norm(want[k]) == _norm(read.get(k)) for k in want):
                    exact += 1
                elif not [f for f in read.get("flags") or [] if f["kind"] != FLAG_UNMATCHED]:
                    silent.append((sheet, i, want, read))
            # A row left out: silent, unless the rows read in its place are all flagged (a
            # compound cell read as one item: the flagged row shows the whole cell's text).
            read_in_place = have[b0:b1]
            covered = bool(read_in_place) and all(
                [f for f in r.get("flags") or [] if f["kind"] != FLAG_UNMATCHED] for r in read_in_place
            )
            for i in range(a0 + len(pairs), a1):
                if not covered:
                    silent.append((sheet, i, rows[i], None))
            for j in range(b0 + len(pairs), b1):
                if not [f for f in have[j].get("flags") or [] if f["kind"] != FLAG_UNMATCHED]:
                    silent.append((sheet, None, None, have[j]))
    return total, exact, silent


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dpi", "angle", "noise", "quality"), VARIANTS)
def test_scanned_notice_has_no_silent_wrong_row(name, dpi, angle, noise, quality):
    expected = scans.expected(name)
    pages = scans.scanned_pages(scans.printed(name), dpi=dpi, angle=angle, noise=noise, quality=quality)
    reading = read_notice(scans.scanned_pdf(pages, dpi), f"{name}.pdf", year=expected["plan"]["year"])
    got = reading.as_json()
    assert got["errors"] == []
    total, exact, silent = compare(got, expected)
    print(f"{name}: {exact}/{total} rows exact ({exact / total:.1%}), {len(silent)} wrong without a flag")
    assert silent == []
    assert exact / total >= 0.95


@pytest.mark.django_db
def test_import_notice_reads_a_photo_with_flags_in_the_json():
    """A page photographed at 150 dpi, turned 1.2°: the command's JSON, every row exact."""
    out = io.StringIO()
    call_command(
        "import_notice",
        str(FILES / "yizheng-2024-scan-p2.jpg"),
        "--jurisdiction",
        "仪征市",
        "--year",
        "2024",
        "--dry-run",
        "--json",
        stdout=out,
    )
    got = json.loads(out.getvalue())
    expected = scans.expected("yizheng-2024")
    assert list(got["sheets"]) == ["附件1"]
    total, exact, silent = compare(got, {"sheets": {"附件1": expected["sheets"]["附件1"]}})
    assert (total, exact, silent) == (10, 10, [])
    for row in got["sheets"]["附件1"]:
        # The portal has no units yet: every name is flagged as matching none, and nothing else.
        assert [f["kind"] for f in row["flags"]] == [FLAG_UNMATCHED]
    assert "扫描件或照片" in got["warnings"][0]["message"]


def test_other_formats_carry_no_flags_key():
    reading = read_notice((scans.NOTICES / "yizheng-2024.xlsx").read_bytes(), "yizheng-2024.xlsx", year=2024)
    assert all("flags" not in row for rows in reading.as_json()["sheets"].values() for row in rows)


def test_a_doubtful_cell_flags_its_row_and_a_wrong_total_flags_the_rows_it_sums():
    from quotas.notice.grid import Sheet

    def cell(text, confidence=1.0, digits=1.0):
        return OcrText(text, confidence, digits)

    rows = [
        [cell("单位"), cell("任务数")],
        [cell("甲局"), cell("38", digits=0.55)],
        [cell("乙局"), cell("20")],
        [cell("合计"), cell("60")],
        [cell("丙局"), cell("5")],
    ]
    sheet = Sheet("附件1", rows)
    sheet.ocr = True
    from quotas.notice.layouts import read_sheet

    reading = read_sheet(sheet, 2024)
    flags = {row.unit: [f["kind"] for f in row.flags] for row in reading.rows}
    assert flags == {"甲局": ["ocr_confidence", "total_mismatch"], "乙局": ["total_mismatch"], "丙局": []}
    assert "55%" in reading.rows[0].flags[0]["message"]


def test_a_turned_page_is_straightened():
    import cv2

    page = np.full((1200, 900), 255, dtype=np.uint8)
    for y in range(200, 1000, 40):
        cv2.line(page, (100, y), (800, y), 0, 2)
    for x in (100, 300, 800):
        cv2.line(page, (x, 200), (x, 960), 0, 2)
    turned = cv2.warpAffine(page, cv2.getRotationMatrix2D((450, 600), 1.7, 1.0), (900, 1200), borderValue=255)
    from quotas.notice.page_geometry import _binary

    assert abs(_skew(_binary(turned)) + 1.7) <= 0.1
    assert abs(_skew(_binary(_straighten(turned)))) <= 0.1


def test_an_image_bomb_is_refused_from_its_header():
    from tests.corpus.build import png_declaring

    reading = read_notice(png_declaring(9_000, 9_000), "photo.png", year=2024)  # 81 million: ours
    assert reading.errors[0].message == ERROR_IMAGE_TOO_LARGE.format(width=9000, height=9000, limit=6000)
    reading = read_notice(png_declaring(50_000, 50_000), "photo.png", year=2024)  # Pillow's own guard
    assert reading.errors[0].message == ERROR_IMAGE_BOMB.format(limit=6000)


def test_a_page_without_a_table_is_refused():
    from quotas.notice.grid import GridError

    with pytest.raises(GridError, match="没有找到带表格线的表格"):
        read_images([np.full((800, 600), 255, dtype=np.uint8)])


def test_look_alikes_in_numerals_and_compound_cells_are_corrected():
    from quotas.notice.ocr import _fix

    assert _fix("+-月") == "十一月"
    assert _fix("-月") == "一月"
    assert _fix("1-3月") == "1-3月"
    assert _fix("组织部7：宣传部5：") == "组织部7；宣传部5；"
    assert _fix("卫健系统600（全年）：教育系统600（全年）") == "卫健系统600（全年）；教育系统600（全年）"
    assert _fix("2021年10月13日上午8:00-11:30") == "2021年10月13日上午8:00-11:30"

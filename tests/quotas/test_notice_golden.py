"""Every real notice in fixtures/notices/ reads to exactly its expected JSON: every row, no extras."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from quotas.notice.reader import parse_notice_text, read_notice

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
CASES = sorted(p.name.removesuffix(".expected.json") for p in NOTICES.glob("*.expected.json"))


def _strip(value):
    """Unit names compare with white space removed (fixtures/notices/README.md)."""
    if isinstance(value, str):
        return re.sub(r"\s+", "", value)
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def test_three_notices_are_present():
    assert CASES == ["rugao-2023.xlsx", "yizheng-2024.xlsx", "yuanzhou-2023.xlsx"]


def assert_reads_as_expected(got: dict, expected: dict) -> None:
    """A reading (`NoticeReading.as_json()`) holds exactly the expected rows; the PDF and legacy
    readers' tests use it too."""
    assert got["errors"] == []
    assert list(got["sheets"]) == list(expected["sheets"])
    for sheet, rows in expected["sheets"].items():
        assert len(got["sheets"][sheet]) == len(rows), sheet
        for index, (want, have) in enumerate(zip(rows, got["sheets"][sheet], strict=True)):
            for key, value in want.items():
                if key in ("unit", "members"):
                    assert _strip(have[key]) == _strip(value), (sheet, index, key)
                else:
                    assert have[key] == value, (sheet, index, key)


@pytest.mark.parametrize("name", CASES)
def test_notice_reads_to_expected_rows(name):
    expected = json.loads((NOTICES / f"{name}.expected.json").read_text(encoding="utf-8"))
    year = expected["plan"]["year"]
    reading = read_notice((NOTICES / name).read_bytes(), name, year=year)
    got = reading.as_json()

    assert_reads_as_expected(got, expected)


@pytest.mark.parametrize("name", CASES)
def test_notice_plan_facts(name):
    expected = json.loads((NOTICES / f"{name}.expected.json").read_text(encoding="utf-8"))["plan"]
    reading = read_notice((NOTICES / name).read_bytes(), name, year=expected["year"])
    stem = name.removesuffix(".xlsx")
    reading.facts.update(parse_notice_text((NOTICES / f"{stem}-notice.txt").read_text(encoding="utf-8")))
    plan = reading.as_json()["plan"]
    if "monthly_totals" in expected:
        assert plan["monthly_totals"] == expected["monthly_totals"]
    if "document_number" in expected:
        assert plan["document_number"] == expected["document_number"]


def test_rugao_annual_quotas_are_left_out_of_the_december_total():
    reading = read_notice((NOTICES / "rugao-2023.xlsx").read_bytes(), "rugao-2023.xlsx", year=2023)
    december = [r for r in reading.rows if r.period_label in ("12月份", "全年")]
    assert [(r.unit, r.target, r.period_label) for r in december] == [
        ("卫健系统", 600, "全年"),
        ("教育系统", 600, "全年"),
        ("城北街道", 545, "12月份"),
    ]
    assert reading.warnings == []  # 545 matches the row's 合计 once the annual quotas are left out

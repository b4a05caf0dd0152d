"""The export is the page on paper: every cell of the workbook's tables equals the page's, for a
city (lines, own units, 合计), a county and a unit table; the 合计 row is the headline."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.campaigns.test_dashboard import Tree, _leader

pytestmark = pytest.mark.django_db


def _text(cell_html: str) -> str:
    """A page cell as a reader sees it: tags (tags like 合并任务 after a unit's name) dropped."""
    cell_html = re.sub(r'<span class="tag"[^>]*>.*?</span>', "", cell_html)
    return html.unescape(re.sub(r"<[^>]+>", "", cell_html)).strip()


def page_table(page: str, marker: str) -> list[list[str]]:
    """The body and footer rows of the first table after `marker`."""
    table = page.split(marker, 1)[1].split("<table", 1)[1].split("</table>", 1)[0]
    body = table.split("</thead>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [[_text(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)] for row in rows]


def shown(value, kind: str) -> str:
    """A workbook value written as the page writes it."""
    if value is None or value == "":
        return "—" if kind in ("count", "units", "rate") else ""
    if kind == "count":
        return f"{value:,}"
    if kind == "units":
        return f"{value:,.1f}"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "date":
        return value.date().isoformat() if isinstance(value, dt.datetime) else str(value)
    return str(value)


def sheet_rows(ws, header_text: str) -> list[tuple]:
    """The rows under the header row whose first non-empty cells start with `header_text`, until a blank row."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if header_text in [c for c in r if c])
    out = []
    for row in rows[start + 1 :]:
        if all(c in (None, "") for c in row):
            break
        out.append(row)
    return out


LINE_KINDS = ["count", "count", "count", "rate", "count", "count", "units", "text", "count"]
UNIT_KINDS = ["count", "rate", "count", "count", "units", "date", "text"]  # 已完成 … 状态


def check_lines(page: str, workbook) -> int:
    html_rows = page_table(page, "下级行政区划</h2>")
    xlsx_rows = sheet_rows(workbook["汇总"], "下级行政区划")
    assert len(html_rows) == len(xlsx_rows) and html_rows
    for html_row, xlsx_row in zip(html_rows, xlsx_rows, strict=True):
        name, *cells = html_row
        assert xlsx_row[1] == name
        values = list(xlsx_row[2:])
        verified, share = values.pop(3), values.pop(3)  # two columns in the workbook, one cell on the page
        expected = [shown(v, k) for v, k in zip(values, LINE_KINDS, strict=True)]
        expected.insert(3, "—" if verified is None else f"{shown(verified, 'count')} · {shown(share, 'rate')}")
        if name == "各行差额之和":  # only its 差额 is a figure
            expected = [e if i == 5 else "" for i, e in enumerate(expected)]
            cells = [c if i == 5 else "" for i, c in enumerate(cells)]
        assert cells == expected, name
    return len(html_rows)


def check_units(page: str, workbook) -> int:
    html_rows = page_table(page, 'id="units"')
    xlsx_rows = sheet_rows(workbook["单位完成情况"], "单位")
    assert len(html_rows) == len(xlsx_rows) and html_rows
    for html_row, xlsx_row in zip(html_rows, xlsx_rows, strict=True):
        values = list(xlsx_row)
        verified, share = values.pop(6), values.pop(6)  # two columns in the workbook, one cell on the page
        verified_shown = "—" if verified is None else f"{shown(verified, 'count')} · {shown(share, 'rate')}"
        if html_row[1] == "单位任务合计（不含指导性）":  # the footer: a label spanning 3 columns
            seq, label, *figures = html_row
            assert (seq, label) == ("", values[1])
            kinds = ["count", "count", "rate", "count", "count", "units", "text", "text"]
            expected = [shown(v, k) for v, k in zip(values[4:], kinds, strict=True)]
            expected.insert(2, verified_shown)
            assert figures == expected
            continue
        seq, label, category, period, target, *figures = html_row
        assert label == values[1].replace("（指导性，不计入合计）", "")
        assert (seq, category, period) == (shown(values[0], "text"), shown(values[2], "text"), values[3])
        advisory = "（指导性，不计入合计）" in values[1]
        assert target == (f"（{values[4]}）" if advisory else shown(values[4], "count"))
        expected = [shown(v, k) for v, k in zip(values[5:], UNIT_KINDS, strict=True)]
        expected.insert(1, verified_shown)
        assert figures == expected, label
    return len(html_rows)


@pytest.fixture
def tree(db):
    return Tree()


def _both(client: Client, query: str):
    page = client.get(f"/dashboard/?{query}").content.decode()
    workbook = load_workbook(io.BytesIO(client.get(f"/dashboard/export.xlsx?{query}").content))
    return page, workbook


def test_the_city_page_and_its_export_agree_cell_by_cell(tree):
    page, workbook = _both(_leader(tree.city), "year=2026")
    assert check_lines(page, workbook) == 2 + 1 + 1 + 1  # two counties, own units, 合计, lines' 差额
    assert check_units(page, workbook) == 3 + 1  # three unit quotas, 合计
    summary = list(workbook["汇总"].iter_rows(values_only=True))
    headline = summary[4][:6]
    total = next(r for r in summary if r[1] == "合计")
    assert total[3:9] == headline  # the 合计 row is the headline
    assert total[2] == headline[0]  # the allocations and the own units' task add up to the task


def test_a_county_page_and_its_export_agree_cell_by_cell(tree):
    page, workbook = _both(_leader(tree.county1), f"year=2026&j={tree.county1.pk}")
    assert check_lines(page, workbook) == 2  # own units, 合计 (no children, no difference)
    assert check_units(page, workbook) == 2


def test_blood_units_of_a_unit_with_several_quotas_add_up_once(tree):
    """Three quotas of one unit: its blood units are split over them, not repeated on each."""
    from tests.factories import QuotaFactory, make_donation

    plan = tree.qe.plan
    for month in (7, 8):
        QuotaFactory(
            plan=plan,
            label=f"仪化公司{month}月",
            target=2,
            units=[tree.e],
            period_start=dt.date(2026, month, 1),
            period_end=dt.date(2026, month, 28),
        )
    make_donation(tree.e, donated_on=dt.date(2026, 7, 3), seq=801, amount=300)
    page, workbook = _both(_leader(tree.county1), f"year=2026&j={tree.county1.pk}")
    check_units(page, workbook)
    rows = [r for r in sheet_rows(workbook["单位完成情况"], "单位") if str(r[1]).startswith("仪化公司")]
    # 仪化公司 gave 5 × 2 U + 1.5 U, its subordinate 热电厂 3 × 2 U: 17.5 U in all, once
    assert sum(r[11] for r in rows) == pytest.approx(17.5)  # 献血量（U）

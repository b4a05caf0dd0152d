"""The dashboard as an Excel workbook laid out like a notice table (title, date, one row per unit,
totals), from the same figures the page shows."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from quotas.resources import escape_formula

THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
PERCENT = "0.0%"


def _table(ws, row: int, headers: list[str], lines: list[list], totals: list | None, formats: dict[int, str]) -> int:
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col, value=text)
        cell.font, cell.fill, cell.border = Font(bold=True), HEAD_FILL, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for line in [*lines, *([totals] if totals else [])]:
        row += 1
        for col, value in enumerate(line, start=1):
            cell = ws.cell(row=row, column=col, value=escape_formula(value) if isinstance(value, str) else value)
            cell.border = BOX
            if col in formats:
                cell.number_format = formats[col]
            if line is totals:
                cell.font = Font(bold=True)
    return row + 2


def dashboard_workbook(figures: dict, *, title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "完成情况"
    head = figures["headline"]
    widths = [8, 34, 14, 10, 10, 10, 10, 10, 12, 14, 12]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=16)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(widths))
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.cell(row=2, column=1, value=f"数据截至 {figures['as_of']}（{figures['year']} 年度）")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(widths))
    row = _table(
        ws,
        4,
        ["", "合计", "任务数（人）", "已完成（人）", "完成率", "差额", "按期完成", "献血量（U）"],
        [
            [
                "",
                "",
                head["task"],
                head["completed"],
                head["rate"],
                head["shortfall"],
                head["on_time"],
                head["blood_units"],
            ]
        ],
        None,
        {5: PERCENT},
    )
    if figures["children"]:
        lines = [
            [
                i,
                c["name"],
                c["allocated"],
                c["task"],
                c["completed"],
                c["rate"],
                c["shortfall"],
                c["on_time"],
                c["blood_units"],
                c["status_label"],
            ]
            for i, c in enumerate(figures["children"], start=1)
        ]
        totals = [
            "",
            "合计",
            sum(c["allocated"] or 0 for c in figures["children"]),
            sum(c["task"] for c in figures["children"]),
            sum(c["completed"] for c in figures["children"]),
            None,
            sum(c["shortfall"] for c in figures["children"]),
            sum(c["on_time"] for c in figures["children"]),
            sum(c["blood_units"] for c in figures["children"]),
            "",
        ]
        row = _table(
            ws,
            row,
            [
                "序号",
                "下级行政区划",
                "上级下达",
                "任务数",
                "已完成",
                "完成率",
                "差额",
                "按期完成",
                "献血量（U）",
                "状态",
            ],
            lines,
            totals,
            {6: PERCENT},
        )
    if figures["units"]:
        counted = [u for u in figures["units"] if not u["advisory"]]
        lines = [
            [
                u["seq"] or i,
                u["label"] + ("（指导性）" if u["advisory"] else ""),
                u["period_text"] or "全年",
                u["target"],
                u["completed"],
                u["rate"],
                u["shortfall"],
                u["on_time"],
                u["blood_units"],
                u["due"],
                u["status_label"],
            ]
            for i, u in enumerate(figures["units"], start=1)
        ]
        totals = [
            "",
            "合计（不含指导性）",
            "",
            sum(u["target"] for u in counted),
            sum(u["completed"] for u in counted),
            None,
            sum(u["shortfall"] for u in counted),
            sum(u["on_time"] for u in counted),
            sum(u["blood_units"] for u in counted),
            "",
            "",
        ]
        row = _table(
            ws,
            row,
            [
                "序号",
                "单位",
                "时间",
                "任务数",
                "已完成",
                "完成率",
                "差额",
                "按期完成",
                "献血量（U）",
                "截止日期",
                "状态",
            ],
            lines,
            totals,
            {6: PERCENT},
        )
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "1:2"
    ws.page_setup.fitToWidth = 1
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

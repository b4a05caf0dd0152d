"""The dashboard on paper: an Excel workbook with exactly the page's numbers (the same figures
dict the page renders), laid out for a meeting.

Sheets: 汇总 (the headline, the sub-jurisdictions' lines, the page's own units and a 合计 row equal
to the headline), 单位完成情况 (the unit table with its 合计), 重点名单 (the three lists). Numbers
are numbers (one thousands format, right-aligned), rates percentages, due dates dates; header
rows are frozen and repeated on every printed page; text is escaped so no cell is a formula.
"""

from __future__ import annotations

import datetime as dt
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from core.xlsx import escape_formula

THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
TOTAL_FILL = PatternFill("solid", fgColor="FAFAFA")
COUNT, UNITS, PERCENT, DATE = "#,##0", "#,##0.0", "0.0%", "yyyy-mm-dd"
RIGHT = Alignment(horizontal="right", vertical="center")


class _Sheet:
    """A worksheet written top to bottom: title lines, tables, notes."""

    def __init__(self, ws, widths: list[int]):
        self.ws, self.row, self.columns = ws, 1, len(widths)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True

    def line(self, text: str, *, size: int = 11, bold: bool = False, center: bool = False) -> None:
        cell = self.ws.cell(row=self.row, column=1, value=escape_formula(text))
        cell.font = Font(bold=bold, size=size)
        cell.alignment = Alignment(horizontal="center" if center else "left", vertical="center", wrap_text=True)
        self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.columns)
        self.row += 1

    def table(self, columns: list[tuple[str, str]], rows: list[list], *, totals: tuple[int, ...] = ()) -> int:
        """A table: (header, format) columns — format "" for text — and rows of values; rows whose
        index is in `totals` are bold. Returns the header's row number."""
        header = self.row
        for col, (text, _format) in enumerate(columns, start=1):
            cell = self.ws.cell(row=header, column=col, value=escape_formula(text))
            cell.font, cell.fill, cell.border = Font(bold=True), HEAD_FILL, BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for index, values in enumerate(rows):
            self.row += 1
            for col, ((_text, number_format), value) in enumerate(zip(columns, values, strict=True), start=1):
                if isinstance(value, str) and number_format == DATE:
                    value = dt.date.fromisoformat(value)
                cell = self.ws.cell(row=self.row, column=col, value=escape_formula(value))
                cell.border = BOX
                if number_format:
                    cell.number_format, cell.alignment = number_format, RIGHT
                if index in totals:
                    cell.font, cell.fill = Font(bold=True), TOTAL_FILL
        self.row += 2
        return header


def _line_values(line: dict) -> list:
    return [
        line["task"],
        line["completed"],
        line.get("verified"),  # absent in a bulletin frozen before the figure existed
        line.get("verified_share"),
        line["rate"],
        line["shortfall"],
        line["on_time"],
        line["blood_units"],
        line["status_label"],
    ]


def _figure_columns() -> list[tuple[str, str]]:
    return [
        (_("任务数"), COUNT),
        (_("已完成（人次）"), COUNT),
        (_("血站核实（人次）"), COUNT),
        (_("血站核实占已完成"), PERCENT),
        (_("完成率"), PERCENT),
        (_("差额"), COUNT),
        (_("按期完成"), COUNT),
        (_("献血量（U）"), UNITS),
        (_("状态"), ""),
    ]


def _summary_sheet(wb: Workbook, figures: dict, *, title: str, as_of: str) -> None:
    """汇总: the headline, then the drill-down lines with their 合计 (the headline's figures)."""
    head = figures["headline"]
    figure_columns = _figure_columns()
    summary = _Sheet(wb.active, [8, 30, 12, 12, 12, 12, 12, 10, 12, 12, 14, 12, 10])
    summary.ws.title = _("汇总")
    summary.line(title, size=16, bold=True, center=True)
    summary.line(as_of)
    if figures.get("basis") == "verified":
        summary.line(
            _("只计血站采血记录核实的献血：任务数不变，已完成、完成率、差额、按期完成和状态都按核实的人次计算。")
        )
    summary.row += 1
    summary.table(figure_columns, [_line_values(head)])
    children, own = figures["children"], figures.get("own")
    if children or own:
        rows = [
            [i, c["name"], c["allocated"], *_line_values(c), c["status_counts"]["overdue"]]
            for i, c in enumerate(children, start=1)
        ]
        if own:
            rows.append(["", _("本级单位"), own["allocated"], *_line_values(own), own["status_counts"]["overdue"]])
        lines_totals = figures["lines_totals"]
        rows.append(["", _("合计"), lines_totals["allocated"], *_line_values(head), head["status_counts"]["overdue"]])
        notes = [
            _(
                "合计行即页首的数字：任务数为本级计划的任务数，差额为任务数减已完成；各行差额之和只加未完成的行，超额完成的行不抵减。"
            )
        ]
        if lines_totals["shortfall"] != head["shortfall"]:
            rows.append(
                [
                    "",
                    _("各行差额之和"),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    lines_totals["shortfall"],
                    None,
                    None,
                    "",
                    None,
                ]
            )
        columns = [
            (_("序号"), ""),
            (_("下级行政区划"), ""),
            (_("上级下达"), COUNT),
            *figure_columns,
            (_("逾期单位"), COUNT),
        ]
        summary.table(columns, rows, totals=tuple(range(len(children) + (1 if own else 0), len(rows))))
        for note in notes:
            summary.line(note)
    summary.ws.freeze_panes = "A3"
    summary.ws.print_title_rows = "1:2"


def _units_sheet(wb: Workbook, figures: dict, *, title: str, as_of: str) -> None:
    """单位完成情况: the page's own plan's unit table with its 合计 (advisory quotas left out)."""
    units = figures["units"]
    sheet = _Sheet(wb.create_sheet(_("单位完成情况")), [8, 34, 10, 14, 10, 10, 10, 10, 10, 10, 10, 12, 12, 10])
    sheet.line(title, size=14, bold=True, center=True)
    sheet.line(as_of)
    columns = [
        (_("序号"), ""),
        (_("单位"), ""),
        (_("类别"), ""),
        (_("时间"), ""),
        *_figure_columns()[:-1],  # the summary's figures, then the due date before the status
        (_("截止日期"), DATE),
        (_("状态"), ""),
    ]
    rows = [
        [
            u["seq"],
            u["label"] + (_("（指导性，不计入合计）") if u["advisory"] else ""),
            u["category_label"],
            u["period_text"] or _("全年"),
            u["target"],
            u["completed"],
            u.get("verified"),  # absent in a bulletin frozen before the column existed
            u.get("verified_share"),
            u["rate"],
            u["shortfall"],
            u["on_time"],
            u["blood_units"],
            u["due"],
            u["status_label"],
        ]
        for u in units
    ]
    totals = figures.get("units_totals")
    if totals:
        rows.append(
            [
                "",
                _("单位任务合计（不含指导性）"),
                "",
                "",
                totals["target"],
                totals["completed"],
                totals.get("verified"),
                totals.get("verified_share"),
                totals["rate"],
                totals["shortfall"],
                totals["on_time"],
                totals["blood_units"],
                None,
                "",
            ]
        )
    header = sheet.table(columns, rows, totals=(len(rows) - 1,) if totals else ())
    sheet.line(
        _(
            "差额合计为各单位差额之和（超额完成的单位不抵减其他单位）。献血量按各单位计入任务的人次分摊到同一单位的"
            "多个任务上。下属单位的献血计入主管单位的任务；未分配任务的单位的献血只计入汇总页的已完成。"
        )
    )
    if figures.get("units_truncated"):
        sheet.line(_("单位较多，只列出前 1000 个；合计为全部单位任务之和。"))
    sheet.ws.freeze_panes = f"C{header + 1}"
    sheet.ws.print_title_rows = f"{header}:{header}"


def _lists_sheet(wb: Workbook, figures: dict, *, title: str, as_of: str) -> None:
    """重点名单: overdue, the ten largest shortfalls, due this month."""
    lists = _Sheet(wb.create_sheet(_("重点名单")), [34, 14, 10, 10, 10, 12, 10])
    lists.line(title, size=14, bold=True, center=True)
    lists.line(as_of)
    list_columns = [
        (_("单位"), ""),
        (_("行政区划"), ""),
        (_("任务数"), COUNT),
        (_("已完成（人次）"), COUNT),
        (_("差额"), COUNT),
        (_("截止日期"), DATE),
        (_("状态"), ""),
    ]
    for heading, key, total in (
        (_("已逾期单位（共 %(n)s 个）"), "overdue", figures["overdue_total"]),
        (_("差额最大的十个单位"), "shortfalls", None),
        (_("本月到期（共 %(n)s 个）"), "this_month", figures["this_month_total"]),
    ):
        lists.line(heading % {"n": total} if total is not None else heading, bold=True)
        rows = [
            [r["label"], r["jurisdiction"], r["target"], r["completed"], r["shortfall"], r["due"], r["status_label"]]
            for r in figures[key]
        ]
        lists.table(list_columns, rows or [[_("无"), "", None, None, None, None, ""]])


def dashboard_workbook(figures: dict, *, title: str) -> bytes:
    """The dashboard as a workbook: 汇总, 单位完成情况 (when the page has a unit table), 重点名单."""
    wb = Workbook()
    as_of = _("数据截至 %(date)s（%(year)s 年度）") % {"date": figures["as_of"], "year": figures["year"]}
    _summary_sheet(wb, figures, title=title, as_of=as_of)
    if figures["units"]:
        _units_sheet(wb, figures, title=title, as_of=as_of)
    _lists_sheet(wb, figures, title=title, as_of=as_of)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()

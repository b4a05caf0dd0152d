"""The draft as the notice attachment (附件), in .xlsx and .docx, laid out as real notices are.

Pure Python (openpyxl, python-docx; no Django). What is printed:

- the label ("附件1") and the title above the table;
- the columns 序号 / 单位 / 任务数（人） / 献血时间, and 献血地点 when any row has a place;
- rows in period order, the period cell merged down over the rows of its period;
- two blocks side by side when the rows do not fit one A4 page: the left block holds the first
  half of the rows, the right block the second half (as 仪征 prints its months: January to June
  on the left, July to December on the right);
- a 合计 row under the last rows.

In the workbook the pages are explicit: each printed page starts with the header row again, a
period merged over a page break is printed again at the top of the next page, and a row break
ends each page, so what prints is what was laid out (fit to the page's width, A4). In the Word
document the table is one table whose header row Word repeats on each page.

Read back by the portal's notice reader, either file gives exactly the rows it was written from
(`tests/quotas/test_drafting_attachment.py`). A text the reader would not read back as written
(a name that looks like a group, or that starts like a formula) is refused by `unreadable`
before anything is written, so the draft's page can say which line to rename.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from ..notice.values import split_annual, split_members

# Page geometry, in points: A4 with 1.5 cm margins; the budget leaves room for the scale-down
# that fitting the width may apply (it only shrinks rows, never grows them).
PAGE_HEIGHT = {"portrait": 842, "landscape": 595}
MARGIN = 42
HEADER_HEIGHT = 30
LINE_HEIGHT = 15
TITLE_HEIGHT = 20 + 36 + 10  # label, title, space

COLUMNS = ("seq", "unit", "target", "period", "location")
HEADERS = {"seq": "序号", "unit": "单位", "target": "任务数（人）", "period": "献血时间", "location": "献血地点"}
WIDTHS = {"seq": 6, "unit": 26, "target": 10, "period": 10, "location": 14}  # Excel character units
TOTAL_LABEL = "合计"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

UNREADABLE_GROUP = "group"  # a single unit's name that the reader would split into a group
UNREADABLE_FORMULA = "formula"  # starts like a spreadsheet formula
UNREADABLE_ANNUAL = "annual"  # ends with （全年）, which the reader takes as a mark, not a name
UNREADABLE_EMPTY = "empty"


@dataclass(frozen=True)
class Row:
    seq: int
    unit: str  # as printed: a unit's name, or a group's names joined by 、
    target: int
    period: str  # as printed ("三月", "3月上旬", "全年")
    location: str = ""
    group: bool = False  # several units sharing the number (the reader splits the name)


@dataclass
class Attachment:
    label: str
    title: str
    rows: list[Row]

    @property
    def total(self) -> int:
        return sum(row.target for row in self.rows)

    @property
    def with_location(self) -> bool:
        return any(row.location for row in self.rows)

    @property
    def columns(self) -> list[str]:
        return [c for c in COLUMNS if c != "location" or self.with_location]


def unreadable(row: Row) -> str:
    """Why the reader would not give this row back as written ("" when it would)."""
    if not row.unit.strip():
        return UNREADABLE_EMPTY
    for text in (row.unit, row.location):
        if text.startswith(FORMULA_PREFIXES):
            return UNREADABLE_FORMULA
    if split_annual(row.unit)[1]:
        return UNREADABLE_ANNUAL
    if not row.group and split_members(row.unit) is not None:
        return UNREADABLE_GROUP
    return ""


def display_width(text: str) -> int:
    """Width in Excel character units: a CJK or full-width character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def lines_needed(text: str, width: int) -> int:
    """Lines a wrapped cell of `width` units takes (a unit of slack for the cell's padding)."""
    return max(1, math.ceil(display_width(text) / max(width - 1, 1)))


@dataclass
class Page:
    blocks: list[list[Row]]  # one list per block, side by side
    heights: list[int] = field(default_factory=list)  # each printed row, in points


@dataclass
class Layout:
    orientation: str
    blocks: int
    pages: list[Page]


def _row_height(row: Row | None) -> int:
    if row is None:
        return LINE_HEIGHT + 3
    return LINE_HEIGHT * lines_needed(row.unit, WIDTHS["unit"]) + 3


def layout(attachment: Attachment, *, blocks: int | None = None) -> Layout:
    """Pages of one or two blocks: two when the rows do not fit one page in one block."""
    orientation = "landscape" if attachment.with_location else "portrait"
    budget = PAGE_HEIGHT[orientation] - 2 * MARGIN
    rows = attachment.rows
    single_height = TITLE_HEIGHT + HEADER_HEIGHT + sum(_row_height(r) for r in rows) + _row_height(None)
    if blocks is None:
        blocks = 1 if single_height <= budget else 2
    per_block = math.ceil(len(rows) / blocks) if rows else 0
    columns = [rows[b * per_block : (b + 1) * per_block] for b in range(blocks)]
    pages: list[Page] = []
    index = 0
    first = True
    while index < per_block or not pages:
        room = budget - HEADER_HEIGHT - (TITLE_HEIGHT if first else 0)
        page = Page(blocks=[[] for _ in range(blocks)])
        while index < per_block:
            height = max(_row_height(col[index]) if index < len(col) else 0 for col in columns)
            last = index == per_block - 1
            reserve = _row_height(None) if last else 0  # the 合计 row stays with the last rows
            if page.heights and height + reserve > room:
                break
            for b, col in enumerate(columns):
                if index < len(col):
                    page.blocks[b].append(col[index])
            page.heights.append(height)
            room -= height
            index += 1
        pages.append(page)
        first = False
    return Layout(orientation=orientation, blocks=blocks, pages=pages)


def _runs(rows: list[Row]) -> list[tuple[int, int]]:
    """(first, count) of each run of rows sharing one period."""
    runs: list[tuple[int, int]] = []
    for i, row in enumerate(rows):
        if runs and rows[runs[-1][0]].period == row.period:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def _cell_value(row: Row, column: str) -> object:
    return {"seq": row.seq, "unit": row.unit, "target": row.target, "period": row.period, "location": row.location}[
        column
    ]


# -- xlsx ---------------------------------------------------------------------------------


class _XlsxWriter:
    """One attachment sheet being written: its fonts, borders and cells (`escape` guards every
    text cell against formulas)."""

    def __init__(self, sheet, escape: Callable[[object], object]):
        from openpyxl.styles import Alignment, Border, Font, Side

        thin = Side(style="thin")
        self.sheet, self.escape = sheet, escape
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.left = Alignment(horizontal="left", vertical="center", wrap_text=True)
        self.body = Font(name="宋体", size=11)
        self.bold = Font(name="黑体", size=11, bold=True)

    def put(self, r: int, c: int, value, *, font=None, align=None, framed=True):
        cell = self.sheet.cell(row=r, column=c, value=self.escape(value) if isinstance(value, str) else value)
        cell.font = font or self.body
        cell.alignment = align or self.centre
        if framed:
            cell.border = self.border
        return cell

    def block(self, rows: list, columns: list[str], *, first_row: int, first_column: int) -> None:
        """One block of rows side by side with the others; each run of rows sharing a period
        gets one merged period cell."""
        for i, row in enumerate(rows):
            for k, column in enumerate(columns):
                if column != "period":
                    self.put(
                        first_row + i,
                        first_column + k,
                        _cell_value(row, column),
                        align=self.left if column in ("unit", "location") else self.centre,
                    )
        period_col = first_column + columns.index("period")
        for start, count in _runs(rows):
            self.put(first_row + start, period_col, rows[start].period)
            for j in range(1, count):
                self.sheet.cell(row=first_row + start + j, column=period_col).border = self.border
            if count > 1:
                self.sheet.merge_cells(
                    start_row=first_row + start,
                    start_column=period_col,
                    end_row=first_row + start + count - 1,
                    end_column=period_col,
                )

    def print_setup(self, orientation: str) -> None:
        """A4, fitted to the page's width, centred, the attachment's margins."""
        sheet = self.sheet
        setup = sheet.page_setup
        setup.paperSize = sheet.PAPERSIZE_A4
        setup.orientation = orientation
        setup.fitToWidth = 1
        setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_options.horizontalCentered = True
        margin = MARGIN / 72
        sheet.page_margins.left = sheet.page_margins.right = margin
        sheet.page_margins.top = sheet.page_margins.bottom = margin


def write_xlsx(attachment: Attachment, *, escape: Callable[[object], object]) -> bytes:
    """The attachment as a workbook; `escape` guards every text cell against formulas."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.pagebreak import Break

    plan = layout(attachment)
    columns = attachment.columns
    width = len(columns)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (attachment.label or "附件")[:31]
    w = _XlsxWriter(sheet, escape)
    for b in range(plan.blocks):
        for k, column in enumerate(columns):
            sheet.column_dimensions[get_column_letter(b * width + k + 1)].width = WIDTHS[column]

    w.put(1, 1, attachment.label, font=Font(name="黑体", size=14), align=Alignment(horizontal="left"), framed=False)
    w.put(2, 1, attachment.title, font=Font(name="黑体", size=16, bold=True), framed=False)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=plan.blocks * width)
    sheet.row_dimensions[2].height = 36
    r = 4
    for page_number, page in enumerate(plan.pages):
        if page_number:
            sheet.row_breaks.append(Break(id=r - 1))
        for b in range(plan.blocks):
            for k, column in enumerate(columns):
                w.put(r, b * width + k + 1, HEADERS[column], font=w.bold)
        sheet.row_dimensions[r].height = HEADER_HEIGHT
        first_row = r + 1
        for i, height in enumerate(page.heights):
            sheet.row_dimensions[first_row + i].height = height
        for b, rows in enumerate(page.blocks):
            w.block(rows, columns, first_row=first_row, first_column=b * width + 1)
        r = first_row + len(page.heights)
    # 合计 under the first block: the label over 序号 and 单位, the number under 任务数.
    w.put(r, 1, TOTAL_LABEL, font=w.bold)
    w.put(r, 2, None)
    sheet.merge_cells(start_row=r, start_column=1, end_row=r, end_column=2)
    w.put(r, 3, attachment.total, font=w.bold)
    for c in range(4, plan.blocks * width + 1):
        w.put(r, c, None)
    w.print_setup(plan.orientation)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- docx ---------------------------------------------------------------------------------


def _font(run, name: str, size: float, *, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)


class _WordTable:
    """Rows of a Word table written as XML, one element at a time: python-docx's cell API looks
    each cell up through the whole table (quadratic: minutes for 3,000 rows), this is linear."""

    def __init__(self, table, widths_twips: list[int]):
        self.table = table._tbl
        self.widths = widths_twips

    @staticmethod
    def _element(tag: str, **attributes):
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        element = OxmlElement(tag)
        for name, value in attributes.items():
            element.set(qn(f"w:{name}"), str(value))
        return element

    def _cell(self, text: str, width: int, *, bold=False, left=False, merge: str | None = None, span: int = 1):
        from docx.oxml.ns import qn

        e = self._element
        tc = e("w:tc")
        properties = e("w:tcPr")
        properties.append(e("w:tcW", w=width, type="dxa"))
        if span > 1:
            properties.append(e("w:gridSpan", val=span))
        if merge:
            properties.append(e("w:vMerge", **({"val": "restart"} if merge == "restart" else {})))
        properties.append(e("w:vAlign", val="center"))
        tc.append(properties)
        paragraph = e("w:p")
        paragraph_properties = e("w:pPr")
        paragraph_properties.append(e("w:jc", val="left" if left else "center"))
        paragraph.append(paragraph_properties)
        if text:
            run = e("w:r")
            run_properties = e("w:rPr")
            run_properties.append(e("w:rFonts", ascii="宋体", hAnsi="宋体", eastAsia="黑体" if bold else "宋体"))
            if bold:
                run_properties.append(e("w:b"))
            run_properties.append(e("w:sz", val=21))  # 10.5 pt (五号)
            run.append(run_properties)
            for i, piece in enumerate(text.split("\n")):
                if i:
                    run.append(e("w:br"))
                t = e("w:t")
                t.set(qn("xml:space"), "preserve")
                t.text = piece
                run.append(t)
            paragraph.append(run)
        tc.append(paragraph)
        return tc

    def add_row(self, cells: list[dict], *, header: bool = False) -> None:
        """A row never split over two pages; the header row repeated at the top of each page."""
        e = self._element
        tr = e("w:tr")
        properties = e("w:trPr")
        properties.append(e("w:cantSplit"))
        if header:
            properties.append(e("w:tblHeader", val="true"))
        tr.append(properties)
        column = 0
        for cell in cells:
            span = cell.get("span", 1)
            tr.append(
                self._cell(
                    cell.get("text", ""),
                    sum(self.widths[column : column + span]),
                    bold=cell.get("bold", False),
                    left=cell.get("left", False),
                    merge=cell.get("merge"),
                    span=span,
                )
            )
            column += span
        self.table.append(tr)


def write_docx(attachment: Attachment) -> bytes:
    """The attachment as a Word document: label, title, one table whose header row Word repeats
    on each page, the period merged down over its rows."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    plan = layout(attachment)
    columns = attachment.columns
    width = len(columns)
    document = Document()
    section = document.sections[0]
    portrait = plan.orientation == "portrait"
    section.orientation = WD_ORIENT.PORTRAIT if portrait else WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = (Cm(21), Cm(29.7)) if portrait else (Cm(29.7), Cm(21))
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    usable_cm = (21 if portrait else 29.7) - 3

    _font(document.add_paragraph().add_run(attachment.label), "黑体", 16)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    _font(title.add_run(attachment.title), "方正小标宋简体", 18, bold=True)

    scale = usable_cm / (plan.blocks * sum(WIDTHS[c] for c in columns))
    table = document.add_table(rows=0, cols=plan.blocks * width)
    table.style = "Table Grid"
    table.autofit = False
    for c, column in enumerate(table.columns):
        column.width = Cm(WIDTHS[columns[c % width]] * scale)
    writer = _WordTable(table, [int(Cm(WIDTHS[columns[c % width]] * scale).twips) for c in range(plan.blocks * width)])
    writer.add_row([{"text": HEADERS[c], "bold": True} for _ in range(plan.blocks) for c in columns], header=True)

    # The blocks side by side, row by row; each block's period merged down over its run.
    blocks = [[row for page in plan.pages for row in page.blocks[b]] for b in range(plan.blocks)]
    merges: list[dict[int, str]] = []
    for rows in blocks:
        marks: dict[int, str] = {}
        for start, count in _runs(rows):
            if count > 1:
                marks[start] = "restart"
                marks.update(dict.fromkeys(range(start + 1, start + count), "continue"))
        merges.append(marks)
    for i in range(max((len(b) for b in blocks), default=0)):
        cells = []
        for b, rows in enumerate(blocks):
            row = rows[i] if i < len(rows) else None
            for column in columns:
                if row is None:
                    cells.append({})
                elif column == "period":
                    merge = merges[b].get(i)
                    cells.append({"text": "" if merge == "continue" else row.period, "merge": merge})
                else:
                    cells.append({"text": str(_cell_value(row, column)), "left": column in ("unit", "location")})
        writer.add_row(cells)
    total = [{"text": TOTAL_LABEL, "bold": True, "span": 2}, {"text": str(attachment.total), "bold": True}]
    writer.add_row(total + [{} for _ in range(plan.blocks * width - 3)])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()

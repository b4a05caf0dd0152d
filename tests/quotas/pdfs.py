"""Print notices to PDF for the reader's tests, the way an office's PDF of a notice looks.

`notice_pdf` draws the notice's title and body text on the first page, then each attachment:
its "附件N" label, its title and its table with ruling lines, merged cells drawn as one box,
long cells wrapped, and the rows that do not fit carried to the next page under a repeated
header, with a merged period cell split at the break and its text repeated below it. The font
is reportlab's built-in CJK font STSong-Light (no font file needed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from quotas.notice.grid import Merge, Sheet
from quotas.notice.layouts import is_header_row

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

SIZE = 9
LINE = SIZE * 1.35
PAD = 3
MARGIN = 50


@dataclass
class Table:
    """An attachment table: label ("附件1"), title, rows (header first) and merges within rows."""

    label: str
    title: str
    rows: list[list[object]]
    merges: list[Merge] = field(default_factory=list)
    header_rows: int = 1
    widths: list[float] | None = None


def table_from_sheet(sheet: Sheet, label: str) -> Table:
    """The table of a workbook sheet: from its header row on, merges kept, footnotes left out."""
    header = next(i for i, row in enumerate(sheet.rows) if is_header_row(row))
    title = next((str(v) for row in sheet.cells[:header] for v in row if v and "附件" not in str(v)), "")
    rows = []
    for row in sheet.cells[header:]:
        text = [None if v is None else str(v) for v in row]
        if len([v for v in text if v]) == 1 and text[0] and text[0].startswith(("注", "说明", "联系人")):
            break
        rows.append(text)
    merges = [
        Merge(m.top - header, m.left, min(m.bottom, header + len(rows) - 1) - header, m.right)
        for m in sheet.merges
        if m.top >= header and m.top < header + len(rows)
    ]
    return Table(label=label, title=title, rows=rows, merges=merges)


def _wrap(text: str, width: float) -> list[str]:
    lines, line = [], ""
    for char in text:
        if char == "\n":
            lines.append(line)
            line = ""
            continue
        if line and pdfmetrics.stringWidth(line + char, FONT, SIZE) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line]


def _widths(table: Table, usable: float) -> list[float]:
    if table.widths:
        return table.widths
    columns = max(len(r) for r in table.rows)
    want = [40.0] * columns
    for row in table.rows:
        for c, value in enumerate(row):
            if value:
                want[c] = max(want[c], min(pdfmetrics.stringWidth(str(value), FONT, SIZE) + 2 * PAD, 260))
    scale = min(1.0, usable / sum(want))
    return [w * scale for w in want]


class _Writer:
    def __init__(self, size=A4):
        self.buffer = io.BytesIO()
        self.canvas = canvas.Canvas(self.buffer, pagesize=size)
        self.width, self.height = size
        self.y = self.height - MARGIN
        self.canvas.setFont(FONT, SIZE)

    def new_page(self):
        self.canvas.showPage()
        self.canvas.setFont(FONT, SIZE)
        self.y = self.height - MARGIN

    def text(self, line: str, size: float = SIZE, centre: bool = False):
        if self.y - size * 1.6 < MARGIN:
            self.new_page()
        self.canvas.setFont(FONT, size)
        for part in _wrap(line, self.width - 2 * MARGIN) if size == SIZE else [line]:
            self.y -= size * 1.6
            if centre:
                self.canvas.drawCentredString(self.width / 2, self.y, part)
            else:
                self.canvas.drawString(MARGIN, self.y, part)
        self.canvas.setFont(FONT, SIZE)

    def table(
        self,
        table: Table,
        *,
        repeat_header: bool = True,
        max_rows_per_page: int | None = None,
        repeat_merged_text: bool = True,
    ):
        widths = _widths(table, self.width - 2 * MARGIN)
        xs = [MARGIN]
        for w in widths:
            xs.append(xs[-1] + w)
        anchor = {(m.top, m.left): m for m in table.merges}
        covered = {
            (r, c): m for m in table.merges for r in range(m.top, m.bottom + 1) for c in range(m.left, m.right + 1)
        }

        def cell_lines(r, c):
            merge = anchor.get((r, c))
            right = merge.right if merge else c
            value = table.rows[r][c] if c < len(table.rows[r]) else None
            return _wrap(str(value), xs[right + 1] - xs[c] - 2 * PAD) if value else []

        def height(r):
            lines = 1
            for c in range(len(widths)):
                merge = covered.get((r, c))
                if merge and (merge.left != c or merge.bottom > merge.top):
                    continue  # a vertical merge's text is drawn over its whole height
                lines = max(lines, len(cell_lines(r, c)))
            return lines * LINE + 2 * PAD

        heights = [height(r) for r in range(len(table.rows))]
        header = list(range(table.header_rows))
        body = list(range(table.header_rows, len(table.rows)))
        pages: list[list[int]] = []
        page: list[int] = []
        room = self.y - MARGIN - sum(heights[r] for r in header)
        for r in body:
            full = max_rows_per_page is not None and len(page) >= max_rows_per_page
            if page and (heights[r] > room or full):
                pages.append(page)
                page = []
                room = self.height - 2 * MARGIN - sum(heights[h] for h in header)
            page.append(r)
            room -= heights[r]
        pages.append(page)
        for number, rows in enumerate(pages):
            if number:
                self.new_page()
            shown = header + rows if (number == 0 or repeat_header) else rows
            self._draw_rows(table, shown, heights, xs, covered, cell_lines, repeat_merged_text)

    def _draw_rows(self, table, shown, heights, xs, covered, cell_lines, repeat_merged_text):
        tops = {}
        y = self.y
        for r in shown:
            tops[r] = y
            y -= heights[r]
        bottom_of = {r: tops[r] - heights[r] for r in shown}
        done = set()
        for r in shown:
            for c in range(len(xs) - 1):
                merge = covered.get((r, c))
                if merge:
                    if (merge, r) in done or c != merge.left:
                        continue
                    # The part of the merge on this page; its text is drawn in the part's first row.
                    rows_here = [x for x in shown if merge.top <= x <= merge.bottom]
                    if r != rows_here[0]:
                        continue
                    done.add((merge, r))
                    x0, x1 = xs[merge.left], xs[merge.right + 1]
                    top, bottom = tops[rows_here[0]], bottom_of[rows_here[-1]]
                    cut = rows_here[0] != merge.top
                    lines = [] if cut and not repeat_merged_text else cell_lines(merge.top, merge.left)
                else:
                    x0, x1 = xs[c], xs[c + 1]
                    top, bottom = tops[r], bottom_of[r]
                    lines = cell_lines(r, c)
                self.canvas.rect(x0, bottom, x1 - x0, top - bottom)
                block = len(lines) * LINE
                ty = (top + bottom) / 2 + block / 2 - SIZE
                for line in lines:
                    self.canvas.drawString(x0 + PAD, ty, line)
                    ty -= LINE
        self.y = y - LINE

    def bytes(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


def notice_pdf(
    tables: list[Table],
    *,
    title: str = "关于做好无偿献血工作的通知",
    body: list[str] = (),
    repeat_header: bool = True,
    max_rows_per_page: int | None = None,
    repeat_merged_text: bool = True,
    attachments_on_new_page: bool = True,
    picture_pages: int = 0,
) -> bytes:
    """A whole notice as a text PDF: title and body, then each attachment table, then
    `picture_pages` pages that are only a picture (a scanned page added to the file)."""
    writer = _Writer()
    writer.text(title, size=16, centre=True)
    for line in body:
        writer.text(line)
    for table in tables:
        if attachments_on_new_page:
            writer.new_page()
        writer.text(table.label)
        if table.title:
            writer.text(table.title, size=12, centre=True)
        writer.table(
            table,
            repeat_header=repeat_header,
            max_rows_per_page=max_rows_per_page,
            repeat_merged_text=repeat_merged_text,
        )
    for _ in range(picture_pages):
        writer.new_page()
        writer.canvas.drawImage(_picture(), 50, 300, width=500, height=330)
    return writer.bytes()


def _picture():
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    image = Image.new("L", (600, 400), 255)
    draw = ImageDraw.Draw(image)
    for y in range(50, 350, 30):
        draw.line((50, y, 550, y), fill=0)
    return ImageReader(image)


def text_pdf(lines: list[str]) -> bytes:
    """A PDF of text only: no table."""
    writer = _Writer()
    for line in lines:
        writer.text(line)
    return writer.bytes()


def image_pdf() -> bytes:
    """A PDF whose page is only a picture, as a scanner makes: no text at all."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawImage(_picture(), 50, 300, width=500, height=330)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

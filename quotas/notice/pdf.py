"""Read the attachment tables of a text PDF (the notice as a government website publishes it).

Pure Python on pdfplumber (pdfminer.six). A whole notice is read: its title and body text,
each "附件N" label, and each table drawn with ruling lines, on one page or several. Every table
becomes the same `Sheet` grid the spreadsheet readers build, so the layout reader reads it as
it reads a workbook:

- the grid's rows and columns are the table's ruling lines; a box spanning several of them is
  a merged cell (`Merge`), its text at the anchor;
- tables side by side on a page (two blocks of the same columns) are one grid, left to right;
- a table continued on the next page (no new 附件 label before it, the same columns) is the
  same sheet: the header printed again at the top of the page is dropped, and a merged cell
  cut by the page break is joined again when the next page leaves its part blank;
- the lines between the 附件 label and the table (its title, "献血时间：…") are rows above it,
  as in a workbook; the sheet is named by the label ("附件1"), else "表1", "表2"…;
- text wrapped inside a cell is joined again without the line break.

The text outside the tables is returned too: the notice's own text (文号, stated totals).
A PDF with no text (a scan) is read by OCR (`ocr.py`, into the same elements and assembly); one
with text but no ruled table is refused with a message saying so (its picture pages, if any, are
read by OCR instead): no guess.
"""

from __future__ import annotations

import bisect
import io
import re
from dataclasses import dataclass, field

import pdfplumber
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from .grid import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    GridError,
    Merge,
    Sheet,
    _Budget,
    check_cells,
)
from .layouts import is_header_row

MAX_PAGES = 300
MAX_CHARS_PER_PAGE = 200_000

ERROR_PDF_DAMAGED = "PDF 文件已损坏或不完整，无法读取（{detail}）。"
ERROR_PDF_ENCRYPTED = "PDF 文件设置了打开密码，请去掉密码后再上传。"
ERROR_PDF_TOO_MANY_PAGES = "PDF 有 {pages} 页，超过上限 {limit} 页：请只上传通知及其附件。"
ERROR_PDF_SCANNED = (
    "这是扫描件，无法读取文字：PDF 的页面是图片（{pages}），不是文字。请上传通知附件的 Excel、Word 或文字版 PDF 文件。"
)
ERROR_PDF_NO_TABLE = (
    "PDF 中没有找到带表格线的表格：附件的任务表需要画有表格线才能读取。请上传通知附件的 Excel 或 Word 文件。"
)
ERROR_PDF_PAGE_TOO_FULL = "PDF 第 {page} 页有超过 {limit} 个字符，不像是通知，已拒绝。"
WARN_PDF_IMAGE_PAGES = "PDF 的{pages}是图片（扫描件），其中的文字未读取：如有附件表格在这些页上，请另行上传。"

_LABEL = re.compile(r"^附\s*件\s*([0-9０-９一二三四五六七八九十]{0,3})\s*[:：]?$")
SNAP = 2.0  # ruling lines closer than this (points) are the same line


@dataclass
class _Cell:
    top: int
    left: int
    bottom: int
    right: int
    x1: float  # the cell's right edge on the page, to tell a wrapped line from a line break
    chars: list = field(default_factory=list)

    def text(self) -> str | None:
        text = _join_lines(_lines(self.chars), self.x1)
        return text if text.strip() else None


@dataclass
class _Table:
    """One page's table (or side-by-side tables) as a grid: rows of text and merges."""

    page: int
    top: float
    rows: list[list[str | None]]
    merges: list[Merge]
    col_edges: list[float]
    cells: dict[tuple[int, int], _Cell]  # by anchor


@dataclass
class _Line:
    page: int
    top: float
    text: str


@dataclass
class _Building:
    """The sheet being built from one table and its continuations on the next pages."""

    name: str
    rows: list[list[object]]
    merges: list[Merge]
    col_edges: list[float]
    header: list[list[str | None]]  # the table's rows up to its header, to recognise a repeat


def read_pdf(data: bytes) -> tuple[list[Sheet], str, list[str]]:
    """Every attachment table of a PDF as a Sheet, the notice's text outside the tables, and
    warnings (pages that are pictures)."""
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        _count_pages(pdf)
        pages = pdf.pages
    except GridError:
        raise
    except (PdfminerException, PDFPasswordIncorrect) as exc:
        if _is_password(exc):
            raise GridError(ERROR_PDF_ENCRYPTED) from exc
        raise GridError(ERROR_PDF_DAMAGED.format(detail=_detail(exc))) from exc
    except Exception as exc:  # pdfminer raises many types on broken files
        raise GridError(ERROR_PDF_DAMAGED.format(detail=_detail(exc))) from exc
    try:
        if not pages:
            raise GridError(ERROR_PDF_DAMAGED.format(detail="没有页面"))
        if len(pages) > MAX_PAGES:
            raise GridError(ERROR_PDF_TOO_MANY_PAGES.format(pages=len(pages), limit=MAX_PAGES))
        elements: list[_Line | _Table] = []
        image_pages: list[int] = []
        any_text = False
        for number, page in enumerate(pages, start=1):
            try:
                page_elements, has_text, has_images = _read_page(page, number)
            except GridError:
                raise
            except Exception as exc:
                raise GridError(ERROR_PDF_DAMAGED.format(detail=f"第 {number} 页，{_detail(exc)}")) from exc
            elements.extend(page_elements)
            any_text = any_text or has_text
            if has_images and not has_text:
                image_pages.append(number)
            page.close()
    finally:
        pdf.close()
    if not any_text:  # a scan: every page is a picture, read by OCR (`ocr.py`)
        from .ocr import read_images, render_pdf_pages

        numbers = list(range(1, len(pages) + 1))
        return read_images(render_pdf_pages(data, numbers), numbers)
    sheets, text = _assemble(elements)
    if not sheets:
        if image_pages:  # the notice's text, its attachment scanned: the picture pages by OCR
            from .ocr import read_images, render_pdf_pages

            sheets, scanned_text, warnings = read_images(render_pdf_pages(data, image_pages), image_pages)
            return sheets, "\n".join([text, scanned_text]), warnings
        raise GridError(ERROR_PDF_NO_TABLE)
    warnings = [WARN_PDF_IMAGE_PAGES.format(pages=_pages_text(image_pages))] if image_pages else []
    return sheets, text, warnings


def _count_pages(pdf) -> None:
    """Refuse a PDF of more than MAX_PAGES pages before pdfplumber builds an object per page:
    the page tree is walked lazily and the walk stops at the limit."""
    from pdfminer.pdfpage import PDFPage

    declared = _declared_pages(pdf)
    if declared:  # the page tree's own count, read before the tree is walked
        raise GridError(ERROR_PDF_TOO_MANY_PAGES.format(pages=declared, limit=MAX_PAGES))
    for count, _ in enumerate(PDFPage.create_pages(pdf.doc), start=1):
        if count > MAX_PAGES:  # a tree that understates its count
            raise GridError(ERROR_PDF_TOO_MANY_PAGES.format(pages=f"{MAX_PAGES}+", limit=MAX_PAGES))


def _declared_pages(pdf) -> int | None:
    from pdfminer.pdftypes import resolve1

    try:
        count = resolve1(resolve1(pdf.doc.catalog["Pages"])["Count"])
        return count if isinstance(count, int) and count > MAX_PAGES else None
    except Exception:  # noqa: BLE001 - only for the message
        return None


def _is_password(exc: Exception) -> bool:
    inner = exc.args[0] if exc.args else None
    return isinstance(exc, PDFPasswordIncorrect) or isinstance(inner, PDFPasswordIncorrect)


def _detail(exc: Exception) -> str:
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    return type(inner).__name__


def _pages_text(pages: list[int]) -> str:
    shown = "、".join(str(p) for p in pages[:10])
    return f"第 {shown}{' 等' if len(pages) > 10 else ''} 页"


# -- one page -----------------------------------------------------------------------------


def _read_page(page, number: int) -> tuple[list, bool, bool]:
    """The page's text lines and tables in reading order (top to bottom)."""
    chars = page.chars
    if len(chars) > MAX_CHARS_PER_PAGE:
        raise GridError(ERROR_PDF_PAGE_TOO_FULL.format(page=number, limit=MAX_CHARS_PER_PAGE))
    has_text = any(c["text"].strip() for c in chars)
    has_images = bool(page.images)
    if has_text:
        page = page.dedupe_chars()
        chars = [c for c in page.chars if c.get("text")]
    found = page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}) if has_text else []
    groups = _side_by_side([t for t in found if len(t.cells) >= 2])
    tables = [_grid(group, chars, number) for group in groups]
    inside = [t_bbox for group in groups for t_bbox in [_union_bbox(group)]]
    outside = [c for c in chars if not any(_contains(b, c) for b in inside)]
    lines = [_Line(number, line[0]["top"], _line_text(line)) for line in _lines(outside)]
    elements = [line for line in lines if line.text.strip()] + tables
    elements.sort(key=lambda e: e.top)
    return elements, has_text, has_images


def _row_edges(table) -> list[float]:
    return _snap([b[1] for b in table.cells] + [b[3] for b in table.cells])


def _side_by_side(tables) -> list[list]:
    """Tables side by side with the same rows (two blocks printed apart): one grid, left to
    right. Tables whose rows do not line up stay apart: joining them would split a row of one
    over two rows of the grid, and a unit would be read twice."""
    groups: list[list] = []
    for table in sorted(tables, key=lambda t: (t.bbox[1], t.bbox[0])):
        edges = _row_edges(table)
        for group in groups:
            first = _row_edges(group[0])
            if len(first) == len(edges) and all(abs(a - b) <= SNAP for a, b in zip(first, edges, strict=True)):
                group.append(table)
                break
        else:
            groups.append([table])
    return groups


def _union_bbox(group) -> tuple[float, float, float, float]:
    return (
        min(t.bbox[0] for t in group),
        min(t.bbox[1] for t in group),
        max(t.bbox[2] for t in group),
        max(t.bbox[3] for t in group),
    )


def _contains(bbox, char) -> bool:
    x = (char["x0"] + char["x1"]) / 2
    y = (char["top"] + char["bottom"]) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _snap(values: list[float]) -> list[float]:
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > SNAP:
            edges.append(value)
    return edges


def _index(edges: list[float], value: float) -> int:
    """The index of the edge nearest `value`."""
    i = bisect.bisect_left(edges, value)
    if i == 0:
        return 0
    if i == len(edges):
        return len(edges) - 1
    return i if edges[i] - value < value - edges[i - 1] else i - 1


def _grid(group, chars, page_number: int) -> _Table:
    """The cells of one table (or of side-by-side tables) placed on their ruling lines."""
    boxes = [cell for table in group for cell in table.cells]
    xs = _snap([b[0] for b in boxes] + [b[2] for b in boxes])
    ys = _snap([b[1] for b in boxes] + [b[3] for b in boxes])
    if len(xs) - 1 > MAX_COLUMNS:
        raise GridError(f"PDF 第 {page_number} 页的表格有 {len(xs) - 1} 列，超过上限 {MAX_COLUMNS} 列。")
    if len(ys) - 1 > MAX_ROWS:
        raise GridError(f"PDF 第 {page_number} 页的表格有 {len(ys) - 1} 行，超过上限 {MAX_ROWS} 行。")
    cells: dict[tuple[int, int], _Cell] = {}
    owner: dict[tuple[int, int], _Cell] = {}
    for x0, top, x1, bottom in boxes:
        cell = _Cell(_index(ys, top), _index(xs, x0), _index(ys, bottom) - 1, _index(xs, x1) - 1, x1)
        if cell.bottom < cell.top or cell.right < cell.left or (cell.top, cell.left) in owner:
            continue
        cells[(cell.top, cell.left)] = cell
        for r in range(cell.top, cell.bottom + 1):
            for c in range(cell.left, cell.right + 1):
                owner.setdefault((r, c), cell)
    for char in chars:
        x = (char["x0"] + char["x1"]) / 2
        y = (char["top"] + char["bottom"]) / 2
        if not (xs[0] <= x <= xs[-1] and ys[0] <= y <= ys[-1]):
            continue
        c = bisect.bisect_right(xs, x) - 1
        r = bisect.bisect_right(ys, y) - 1
        cell = owner.get((min(r, len(ys) - 2), min(c, len(xs) - 2)))
        if cell is not None:
            cell.chars.append(char)
    rows: list[list[str | None]] = [[None] * (len(xs) - 1) for _ in range(len(ys) - 1)]
    merges = []
    for cell in cells.values():
        rows[cell.top][cell.left] = cell.text()
        if cell.bottom > cell.top or cell.right > cell.left:
            merges.append(Merge(cell.top, cell.left, cell.bottom, cell.right))
    return _Table(page_number, ys[0], rows, merges, xs, cells)


# -- text ---------------------------------------------------------------------------------


def _lines(chars) -> list[list[dict]]:
    """Characters grouped into lines, top to bottom, each left to right."""
    lines: list[list[dict]] = []
    for char in sorted(chars, key=lambda c: (round(c["top"], 1), c["x0"])):
        size = char.get("size") or (char["bottom"] - char["top"])
        if lines and abs(lines[-1][0]["top"] - char["top"]) <= size * 0.5:
            lines[-1].append(char)
        else:
            lines.append([char])
    for line in lines:
        line.sort(key=lambda c: c["x0"])
    return lines


def _line_text(line: list[dict]) -> str:
    """A line's characters; a gap wider than a third of a character is a space."""
    out = []
    previous = None
    for char in line:
        if previous is not None:
            size = char.get("size") or (char["bottom"] - char["top"])
            gap = char["x0"] - previous["x1"]
            if gap > size / 3 and char["text"] != " " and previous["text"] != " ":
                out.append(" ")
        out.append(char["text"])
        previous = char
    return "".join(out)


def _join_lines(lines: list[list[dict]], right: float) -> str:
    """A cell's lines: a line that stopped because the next character did not fit is wrapped
    text, joined again with nothing between (a space between two Latin words); any other line
    break is kept."""
    text = ""
    for i, line in enumerate(lines):
        piece = _line_text(line).strip()
        if i:
            previous = lines[i - 1]
            width = line[0]["x1"] - line[0]["x0"]
            wrapped = previous[-1]["x1"] + width > right - 6
            if not wrapped:
                text += "\n"
            elif text[-1:].isascii() and text[-1:].isalnum() and piece[:1].isascii() and piece[:1].isalnum():
                text += " "
        text += piece
    return text[: MAX_CELL_CHARS + 1]


# -- the whole document -------------------------------------------------------------------


def _label(text: str) -> str | None:
    m = _LABEL.match(text.strip())
    return re.sub(r"\s+", "", text.strip()).rstrip(":：") if m else None


def _header_rows(rows: list[list[str | None]]) -> list[list[str | None]]:
    for i, row in enumerate(rows[:10]):
        if is_header_row(row):
            return rows[: i + 1]
    return []


def _same_row(a: list, b: list) -> bool:
    def key(row):
        return [re.sub(r"\s+", "", v) if v else "" for v in row]

    return key(a) == key(b)


def _continues(sheet: _Building, table: _Table) -> bool:
    if len(table.col_edges) != len(sheet.col_edges):
        return False
    return all(abs(a - b) <= 3 * SNAP for a, b in zip(table.col_edges, sheet.col_edges, strict=True))


def _assemble(elements) -> tuple[list[Sheet], str]:
    """Walk the document in reading order: lines of text, labels, tables and their continuations."""
    sheets: list[_Building] = []
    body: list[str] = []
    pending: list[_Line] = []  # the lines since the last table
    budget = _Budget()
    for element in elements:
        if isinstance(element, _Line):
            body.append(element.text)
            pending.append(element)
            continue
        table = element
        labels = [i for i, line in enumerate(pending) if _label(line.text)]
        # The sheet this table continues: the latest with the same columns (with tables apart
        # side by side, the left one continues the sheet before the last).
        current = next((s for s in reversed(sheets) if _continues(s, table)), None) if not labels else None
        if current is not None:
            _append(current, table, budget)
        else:
            if labels:
                name = _label(pending[labels[-1]].text)
                above = [line.text for line in pending[labels[-1] :]]
            else:
                name = f"表{len(sheets) + 1}"
                above = [line.text for line in pending if line.page == table.page][-2:]
            if any(s.name == name for s in sheets):
                name = f"{name}（{len(sheets) + 1}）"
            rows: list[list[object]] = [[text] for text in above]
            sheet = _Building(name, rows, [], table.col_edges, _header_rows(table.rows))
            _append(sheet, table, budget, first=True)
            sheets.append(sheet)
        pending = []
    result = []
    for sheet in sheets:
        width = max(len(r) for r in sheet.rows)
        rows = [row + [None] * (width - len(row)) for row in sheet.rows]
        result.append(Sheet(sheet.name, rows, merges=sheet.merges))
    return result, "\n".join(body)


def _append(sheet: _Building, table: _Table, budget: _Budget, first: bool = False) -> None:
    rows = table.rows
    skip = 0
    repeated = not first and sheet.header and len(rows) > len(sheet.header)
    if repeated and all(_same_row(a, b) for a, b in zip(rows, sheet.header, strict=False)):
        skip = len(sheet.header)
    base = len(sheet.rows) - skip
    if not first and skip < len(rows):
        _join_cut_merges(sheet, table, skip, base)
    for row in rows[skip:]:
        budget.add_cells(len(row) or 1)
        check_cells(row, sheet.name)
        sheet.rows.append(list(row))
    if len(sheet.rows) > MAX_ROWS:
        raise GridError(f"“{sheet.name}”超过上限 {MAX_ROWS} 行。")
    carried = [m for m in sheet.merges if m.bottom >= base + skip]  # joined over the break
    added = []
    for merge in table.merges:
        if merge.bottom < skip:
            continue
        top = max(merge.top, skip)
        if any(m.top <= base + top <= m.bottom and m.left <= merge.left <= m.right for m in carried):
            continue
        if merge.bottom > top or merge.right > merge.left:
            added.append(Merge(base + top, merge.left, base + merge.bottom, merge.right))
    budget.add_merges(added, sheet.name)
    sheet.merges.extend(added)


def _join_cut_merges(sheet: _Building, table: _Table, first_row: int, base: int) -> None:
    """A cell merged down over a page break shows its text on the first page only: where the
    next page's first cell in that column is blank, the merge goes on over it."""
    last = len(sheet.rows) - 1
    for index, merge in enumerate(sheet.merges):
        if merge.bottom != last or merge.bottom == merge.top and merge.right == merge.left:
            continue
        cell = table.cells.get((first_row, merge.left))
        if cell is None or cell.right != merge.right or cell.text() is not None:
            continue
        sheet.merges[index] = Merge(merge.top, merge.left, base + cell.bottom, merge.right)
    # The merge's first part was one row (a plain cell on the first page): in a column whose
    # cells are merged down elsewhere, a blank cell at the top of the next page continues it.
    merged_down = {m.left for m in [*sheet.merges, *table.merges] if m.bottom > m.top and m.left == m.right}
    covered = {(r, c) for m in sheet.merges for r in range(m.top, m.bottom + 1) for c in range(m.left, m.right + 1)}
    for (r, c), cell in table.cells.items():
        if r != first_row or c not in merged_down or cell.right != c or cell.text() is not None:
            continue
        if last >= 0 and (last, c) not in covered and sheet.rows[last][c] is not None:
            sheet.merges.append(Merge(last, c, base + cell.bottom, c))

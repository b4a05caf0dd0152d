"""Read an uploaded file into plain grids of cell values, one per sheet or Word table.

Pure Python. Supports .xlsx (openpyxl, read-only), .xls (xlrd), .csv (UTF-8, UTF-8 with BOM,
GBK/GB18030) and tables inside .docx (python-docx). A merged range is recorded by its anchor
(top-left cell) and extent, never copied cell by cell: `Sheet.value(r, c)` and `Sheet.rows` give
the anchor's value for every cell of the range, so the layout code never needs to know about
merges, and a merge of a million cells costs one record.

Before any reader opens a file, `guard_*` checks what it declares: zip members' uncompressed
sizes (zip bombs), the number of sheets, each sheet's declared dimension and the cells declared
by the whole workbook, the number and area of merged ranges, and the row count, so a hostile
file is refused in bounded time and memory with a message staff can act on. Uploads are also
read in a child process with an address-space and CPU-time limit (`core.sandbox`), so a file
that slips past these checks is still bounded.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils.cell import get_column_letter

MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_CELL_CHARS = 10_000
# Whole-workbook limits: a 20,000-row notice is ~150,000 cells, a 200,000-row roster ~2 million.
MAX_CELLS = 4_000_000
MAX_SHEETS = 50
MAX_MERGES = 20_000
MAX_MERGED_CELLS = 1_000_000

ERROR_EMPTY_FILE = "文件是空的。"
ERROR_NOT_SPREADSHEET = "无法识别的文件格式：请上传 .xlsx、.xls、.csv 或 .docx 文件。"
ERROR_CORRUPT = "文件已损坏或不完整，无法读取（{detail}）。"
ERROR_ENCRYPTED = "文件设置了打开密码，请去掉密码后再上传。"
ERROR_ZIP_BOMB = "文件解压后过大（{size} MB），疑似压缩炸弹，已拒绝。"
ERROR_TOO_MANY_ROWS = "工作表“{sheet}”声明了 {rows} 行，超过上限 {limit} 行。"
ERROR_TOO_MANY_COLUMNS = "工作表“{sheet}”声明了 {cols} 列，超过上限 {limit} 列。"
ERROR_ENCODING = "无法识别 CSV 文件的编码：请另存为 UTF-8 或 GBK。"
ERROR_MACRO = "文件包含宏（.xlsm/vbaProject），为安全起见已拒绝：请另存为普通 .xlsx。"
ERROR_HTML = "这是网页文件（HTML），不是 Excel 表格：请在 Excel 或 WPS 中打开后另存为 .xlsx 再上传。"
ERROR_UNSAFE_XML = "文件含有不安全的 XML 内容（DTD/实体定义），正常的 Office 文件不会有，已拒绝。"
ERROR_CELL_TOO_LONG = "“{sheet}”中有单元格超过 {limit} 个字符，不像是任务表或名单，已拒绝。"
ERROR_TOO_MANY_CELLS = "文件共有 {cells} 个单元格，超过上限 {limit} 个：请只上传任务表或名单所在的工作表。"
ERROR_DECLARED_CELLS = "文件的工作表共声明了 {cells} 个单元格，超过上限 {limit} 个：请只上传任务表或名单所在的工作表。"
ERROR_TOO_MANY_SHEETS = "文件有 {sheets} 个工作表（或表格），超过上限 {limit} 个：请只保留任务表或名单。"
ERROR_TOO_MANY_MERGES = "工作表“{sheet}”有超过 {limit} 个合并单元格区域，不像是任务表或名单，已拒绝。"
ERROR_MERGED_TOO_LARGE = "合并单元格共覆盖 {cells} 个单元格，超过上限 {limit} 个，不像是任务表或名单，已拒绝。"
ERROR_MERGE_OUTSIDE = "工作表“{sheet}”的合并单元格 {ref} 超出了 {rows} 行、{cols} 列的范围，已拒绝。"
ERROR_MERGES_OVERLAP = (
    "工作表“{sheet}”的合并单元格 {ref} 与另一合并区域重叠：文件已损坏，请用 Excel 或 WPS 另存后再上传。"
)
ERROR_FORMAT_NOT_ACCEPTED = "这里只能导入 {formats} 文件。"
WARN_TABLE_UNREADABLE = "{sheet} 无法读取（{detail}），已跳过。"
ERROR_FORMULAS_UNSAVED = (
    "工作表“{sheet}”有 {count} 个公式没有保存计算结果（多见于程序生成的文件），无法知道它们的值："
    "请用 Excel 或 WPS 打开后保存一次再上传，或把公式粘贴为数值。"
)
ERROR_MOJIBAKE_REPLACED = (
    "文件中的中文已损坏（出现“\ufffd”）：多半是 GBK 编码的文件被当作 UTF-8 另存过，"
    "原字已无法恢复，请从原始文件重新导出。"
)
ERROR_MOJIBAKE = (
    "文件中的中文是乱码（“{seen}”应为“{meant}”）：GBK 编码的文字被按西文编码读过再保存。"
    "请用 WPS 或 Excel 按 GBK 重新打开原文件，另存为 .xlsx 后上传。"
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"
# Formats only the notice reader takes (`read_document`): rosters and headcounts are tables.
DOCUMENT_FORMATS = {"pdf", "doc", "image"}
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class GridError(ValueError):
    """The file cannot be read at all; the message is shown to staff as it is."""


@dataclass(frozen=True)
class Merge:
    """A merged range by its anchor (top-left cell) and extent, 0-based and inclusive."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def area(self) -> int:
        return (self.bottom - self.top + 1) * (self.right - self.left + 1)


class Sheet:
    """One sheet (or Word table): rows of values, and its merged ranges by anchor and extent.

    `value(r, c)` and `rows` give a merged cell the value of its range's anchor, as a printed
    table shows it; `anchor(r, c)` names the cell the value stands in. A row of `rows` is built
    when it is asked for, so a merge over a million cells never becomes a million entries.
    `ocr` is true for a table read from a scan or photo (`ocr.py`): its cells are `OcrText`.
    """

    ocr = False

    def __init__(
        self,
        name: str,
        rows: list[list[object]],
        formula_cells: int = 0,
        merges: Sequence[Merge] = (),
        problem: str = "",
    ):
        self.name = name
        self.cells = rows  # as stored in the file: merged cells other than the anchor are empty
        self.formula_cells = formula_cells
        self.problem = problem  # why this table could not be read, when it could not
        self.merges = [m for m in dict.fromkeys(merges) if m.top < len(rows)]
        # Per column: the merges crossing it, by top row, for a binary search.
        self._tops: dict[int, list[int]] = {}
        self._by_column: dict[int, list[Merge]] = {}
        for merge in sorted(self.merges, key=lambda m: (m.top, m.left)):
            for c in range(merge.left, merge.right + 1):
                self._tops.setdefault(c, []).append(merge.top)
                self._by_column.setdefault(c, []).append(merge)
        for column in self._by_column.values():
            for above, below in zip(column, column[1:], strict=False):
                if below.top <= above.bottom:
                    raise GridError(ERROR_MERGES_OVERLAP.format(sheet=name, ref=_range_ref(below)))
        self._merged_columns = sorted(self._by_column)

    def ref(self, row: int, col: int) -> str:
        """The spreadsheet address of a 0-based cell, e.g. "附件2!B14"."""
        return f"{self.name}!{get_column_letter(col + 1)}{row + 1}"

    def merge_at(self, row: int, col: int) -> Merge | None:
        """The merged range holding this cell, if any."""
        tops = self._tops.get(col)
        if not tops:
            return None
        i = bisect.bisect_right(tops, row) - 1
        if i >= 0:
            merge = self._by_column[col][i]
            if merge.bottom >= row:
                return merge
        return None

    def anchor(self, row: int, col: int) -> tuple[int, int]:
        """The cell whose value this cell shows: its merged range's top-left, or itself."""
        merge = self.merge_at(row, col)
        return (merge.top, merge.left) if merge else (row, col)

    def _raw(self, row: int, col: int) -> object:
        if row < len(self.cells) and col < len(self.cells[row]):
            return self.cells[row][col]
        return None

    def value(self, row: int, col: int) -> object:
        if row >= len(self.cells):
            return None
        merge = self.merge_at(row, col) if self._by_column else None
        if merge is not None:
            return self._raw(merge.top, merge.left)
        return self._raw(row, col)

    def row(self, r: int) -> list[object]:
        """Row `r` with merged cells filled in (a new list: changing it changes nothing)."""
        values = list(self.cells[r])
        for c in self._merged_columns:
            merge = self.merge_at(r, c)
            if merge is None:
                continue
            if c >= len(values):
                values.extend([None] * (c + 1 - len(values)))
            values[c] = self._raw(merge.top, merge.left)
        return values

    @property
    def rows(self) -> _Rows:
        return _Rows(self)


class _Rows(Sequence):
    """The rows of a sheet with merged cells filled in, built one at a time when asked for."""

    def __init__(self, sheet: Sheet):
        self._sheet = sheet

    def __len__(self) -> int:
        return len(self._sheet.cells)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._sheet.row(r) for r in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._sheet.row(index)

    def __iter__(self) -> Iterator[list[object]]:
        for r in range(len(self)):
            yield self._sheet.row(r)

    def __bool__(self) -> bool:
        return bool(self._sheet.cells)


def _range_ref(merge: Merge) -> str:
    return f"{get_column_letter(merge.left + 1)}{merge.top + 1}:{get_column_letter(merge.right + 1)}{merge.bottom + 1}"


class _Budget:
    """Cells and merged cells counted across the whole workbook, refused once over the limits."""

    def __init__(self):
        self.cells = 0
        self.merged = 0

    def add_cells(self, count: int) -> None:
        self.cells += count
        if self.cells > MAX_CELLS:
            raise GridError(ERROR_TOO_MANY_CELLS.format(cells=f"{self.cells}+", limit=MAX_CELLS))

    def add_merges(self, merges: list[Merge], sheet: str) -> None:
        if len(merges) > MAX_MERGES:
            raise GridError(ERROR_TOO_MANY_MERGES.format(sheet=sheet, limit=MAX_MERGES))
        for merge in merges:
            if merge.bottom >= MAX_ROWS or merge.right >= MAX_COLUMNS or merge.top < 0 or merge.left < 0:
                raise GridError(
                    ERROR_MERGE_OUTSIDE.format(sheet=sheet, ref=_range_ref(merge), rows=MAX_ROWS, cols=MAX_COLUMNS)
                )
            self.merged += merge.area
        if self.merged > MAX_MERGED_CELLS:
            raise GridError(ERROR_MERGED_TOO_LARGE.format(cells=self.merged, limit=MAX_MERGED_CELLS))


def _check_sheet_count(count: int) -> None:
    if count > MAX_SHEETS:
        raise GridError(ERROR_TOO_MANY_SHEETS.format(sheets=count, limit=MAX_SHEETS))


_HTML_RE = re.compile(rb"\s*(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|table|meta|head|body)[\s>]", re.IGNORECASE)


def check_cells(values, sheet: str) -> None:
    """Refuse a row with a cell longer than any name or number a notice or roster holds."""
    for value in values:
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise GridError(ERROR_CELL_TOO_LONG.format(sheet=sheet, limit=MAX_CELL_CHARS))


def sniff_format(head: bytes, filename: str) -> str:
    """The reader to use: 'xlsx', 'xls', 'docx', 'pdf', 'image' (a .jpg/.png scan or photo) or
    'csv', from the bytes first, then the name."""
    suffix = Path(filename).suffix.lower()
    if head.startswith(ZIP_MAGIC):
        if suffix == ".docx":
            return "docx"
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if PDF_MAGIC in head[:1024]:  # the header may follow some bytes of junk
        return "pdf"
    if head.startswith((JPEG_MAGIC, PNG_MAGIC)):
        return "image"
    if not head:
        raise GridError(ERROR_EMPTY_FILE)
    if _HTML_RE.match(head[:1024]):
        raise GridError(ERROR_HTML)
    if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise GridError(ERROR_NOT_SPREADSHEET)
    if suffix in {"", ".csv", ".txt"}:
        return "csv"
    raise GridError(ERROR_NOT_SPREADSHEET)


@dataclass
class Document:
    """What a notice file holds: its tables as grids, its text outside them, and warnings."""

    sheets: list[Sheet]
    text: str = ""
    warnings: list[str] = field(default_factory=list)


def detect_format(data: bytes, filename: str) -> str:
    """`sniff_format`, and inside an OLE container a Word-binary document ('doc': .doc/.wps)
    told from a workbook ('xls': .xls/.et) by its streams."""
    kind = sniff_format(data[:8192], filename)
    if kind == "xls":
        from .legacy import WORD, ole_kind

        if ole_kind(data) == WORD:
            return "doc"
    return kind


def read_grids(data: bytes, filename: str) -> list[Sheet]:
    """Every sheet of a spreadsheet or Word file as a grid. Raises GridError with a message for staff."""
    if detect_format(data, filename) in DOCUMENT_FORMATS:
        raise GridError(ERROR_NOT_SPREADSHEET)
    return read_document(data, filename).sheets


def read_document(data: bytes, filename: str) -> Document:
    """Every table of a notice file (spreadsheet, Word, WPS or PDF) as a grid, with the file's text."""
    from .tables import read_csv, read_docx
    from .workbook import read_xlsx

    kind = detect_format(data, filename)
    if kind == "xlsx":
        return Document(read_xlsx(data))
    if kind == "xls":
        return Document(_read_legacy_workbook(data, filename))
    if kind == "docx":
        return Document(*read_docx(data))
    if kind == "doc":
        return Document(*read_docx(_convert(data, "doc")))
    if kind == "pdf":
        from .pdf import read_pdf

        return Document(*read_pdf(data))
    if kind == "image":
        from .ocr import read_image_file

        return Document(*read_image_file(data))
    return Document([read_csv(data, Path(filename).stem or "CSV")])


def _convert(data: bytes, kind: str) -> bytes:
    from .legacy import ConvertError, convert

    try:
        return convert(data, kind)
    except ConvertError as exc:
        raise GridError(str(exc)) from exc


def _read_legacy_workbook(data: bytes, filename: str) -> list[Sheet]:
    """An .xls or WPS .et: xlrd first; a workbook it cannot read goes through LibreOffice."""
    from .legacy import ERROR_NO_LIBREOFFICE, WORKBOOK, ConvertError, convert, soffice_path
    from .workbook import read_xls, read_xlsx

    try:
        return read_xls(data)
    except GridError as exc:
        if str(exc) == ERROR_ENCRYPTED or not str(exc).startswith(ERROR_CORRUPT.split("（")[0]):
            raise
        if soffice_path() is None:
            if Path(filename).suffix.lower() == ".et":
                raise GridError(ERROR_NO_LIBREOFFICE.format(what=".et")) from exc
            raise
        try:
            converted = convert(data, WORKBOOK)
        except ConvertError:
            raise exc from None
        return read_xlsx(converted)


def table_check(data: bytes, filename: str, *, formats: tuple[str, ...]) -> tuple[str, int]:
    """For an import that reads the file with another library: ("", data rows of the fullest
    sheet), or (the message, 0) when the guards refuse the file or its format is not wanted."""
    try:
        sheets = read_grids(data, filename)
        if sniff_format(data[:8192], filename) not in formats:
            return ERROR_FORMAT_NOT_ACCEPTED.format(formats="、".join(f".{f}" for f in formats)), 0
    except GridError as exc:
        return str(exc), 0
    return "", max((sum(1 for row in sheet.rows if any(v is not None for v in row)) for sheet in sheets), default=0)


def make_merge(min_col: int, min_row: int, max_col: int, max_row: int, *, one_based: bool) -> Merge:
    shift = 1 if one_based else 0
    top, bottom = sorted((min_row - shift, max_row - shift))
    left, right = sorted((min_col - shift, max_col - shift))
    return Merge(top, left, bottom, right)


def trim_rows(rows: list[list[object]]) -> list[list[object]]:
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()
    return rows

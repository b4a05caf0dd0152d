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
import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils.cell import get_column_letter, range_boundaries

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
    kind = detect_format(data, filename)
    if kind == "xlsx":
        return Document(_read_xlsx(data))
    if kind == "xls":
        return Document(_read_legacy_workbook(data, filename))
    if kind == "docx":
        return Document(*_read_docx(data))
    if kind == "doc":
        return Document(*_read_docx(_convert(data, "doc")))
    if kind == "pdf":
        from .pdf import read_pdf

        return Document(*read_pdf(data))
    if kind == "image":
        from .ocr import read_image_file

        return Document(*read_image_file(data))
    return Document([_read_csv(data, Path(filename).stem or "CSV")])


def _convert(data: bytes, kind: str) -> bytes:
    from .legacy import ConvertError, convert

    try:
        return convert(data, kind)
    except ConvertError as exc:
        raise GridError(str(exc)) from exc


def _read_legacy_workbook(data: bytes, filename: str) -> list[Sheet]:
    """An .xls or WPS .et: xlrd first; a workbook it cannot read goes through LibreOffice."""
    from .legacy import ERROR_NO_LIBREOFFICE, WORKBOOK, ConvertError, convert, soffice_path

    try:
        return _read_xls(data)
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
        return _read_xlsx(converted)


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


# -- xlsx ---------------------------------------------------------------------------------

_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f[\s>/]")
# A formula with no cached value: the formula closes the cell, or only an empty <v> follows.
_UNSAVED_RE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_DTD_RE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def guard_zip(archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs and macro workbooks before any XML is parsed."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > 10 * 1024 * 1024 and info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise GridError(ERROR_ZIP_BOMB.format(size=info.file_size // (1024 * 1024)))
        if info.filename.lower().endswith("vbaproject.bin"):
            raise GridError(ERROR_MACRO)
    if total > MAX_UNCOMPRESSED:
        raise GridError(ERROR_ZIP_BOMB.format(size=total // (1024 * 1024)))
    for info in archive.infolist():
        # Office XML never declares a DTD; one that does is an entity bomb or an external
        # entity. The prolog comes first, so the head of each part is enough.
        if info.filename.lower().endswith((".xml", ".rels")):
            with archive.open(info) as part:
                if _DTD_RE.search(part.read(64 * 1024)):
                    raise GridError(ERROR_UNSAFE_XML)


@dataclass
class _SheetScan:
    """What a byte scan of one sheet's XML found, before any row is read."""

    merges: list[Merge]
    formulas: int
    declared_cells: int


def _merge(min_col: int, min_row: int, max_col: int, max_row: int, *, one_based: bool) -> Merge:
    shift = 1 if one_based else 0
    top, bottom = sorted((min_row - shift, max_row - shift))
    left, right = sorted((min_col - shift, max_col - shift))
    return Merge(top, left, bottom, right)


def _scan_sheet_xml(archive: zipfile.ZipFile, path: str, sheet: str) -> _SheetScan:
    """Merged ranges, formula count and declared size of one sheet, streamed with no parser.

    openpyxl's read-only mode, the fast one, does not expose merged cells; the ranges sit at
    the end of the sheet XML, so a byte scan finds them without building a tree. The scan
    stops as soon as the sheet has more merged ranges than any table has.
    """
    refs: list[bytes] = []
    formulas = unsaved = 0
    declared = 0
    tail = b""
    first = True
    with archive.open(path) as stream:
        while chunk := stream.read(1 << 20):
            buf = tail + chunk
            if first:
                first = False
                if m := _DIMENSION_RE.search(buf[:4096]):
                    declared = _check_dimension(m.group(1).decode(), sheet)
            # Count only complete tokens; keep a short tail for tokens split across chunks.
            cut = max(0, len(buf) - 256)
            formulas += len(_FORMULA_RE.findall(buf, 0, cut))
            unsaved += len(_UNSAVED_RE.findall(buf, 0, cut))
            refs.extend(_MERGE_RE.findall(buf, 0, cut))
            if len(refs) > MAX_MERGES:
                raise GridError(ERROR_TOO_MANY_MERGES.format(sheet=sheet, limit=MAX_MERGES))
            tail = buf[cut:]
    formulas += len(_FORMULA_RE.findall(tail))
    unsaved += len(_UNSAVED_RE.findall(tail))
    refs.extend(_MERGE_RE.findall(tail))
    if unsaved:
        raise GridError(ERROR_FORMULAS_UNSAVED.format(sheet=sheet, count=unsaved))
    merges = [_merge(*range_boundaries(ref.decode()), one_based=True) for ref in refs]
    return _SheetScan(merges=merges, formulas=formulas, declared_cells=declared)


def _check_dimension(ref: str, sheet: str) -> int:
    """Refuse a sheet that declares more rows or columns than a table has; its declared cells."""
    if ":" not in ref:
        return 1
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    rows, cols = max_row - min_row + 1, max_col - min_col + 1
    if rows > MAX_ROWS:
        raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=sheet, rows=rows, limit=MAX_ROWS))
    if cols > MAX_COLUMNS:
        raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=sheet, cols=cols, limit=MAX_COLUMNS))
    # openpyxl pads every row to the declared width and height: those cells are read too.
    return max_row * max_col


def _read_xlsx(data: bytes) -> list[Sheet]:
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        guard_zip(archive)
    except zipfile.BadZipFile as exc:
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    except (EOFError, OSError, zipfile.LargeZipFile) as exc:
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except GridError:
        raise
    except Exception as exc:  # openpyxl raises many types on broken files
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    sheets = []
    budget = _Budget()
    try:
        worksheets = [ws for ws in workbook.worksheets if hasattr(ws, "_worksheet_path")]  # not chartsheets
        _check_sheet_count(len(worksheets))
        # Every sheet's declarations first: a workbook of 40 sheets each declaring 40 million
        # cells is refused before a single row is read.
        scans = []
        for ws in worksheets:
            scan = _scan_sheet_xml(archive, ws._worksheet_path, ws.title)
            budget.add_merges(scan.merges, ws.title)
            scans.append(scan)
        declared = sum(scan.declared_cells for scan in scans)
        if declared > MAX_CELLS:
            raise GridError(ERROR_DECLARED_CELLS.format(cells=declared, limit=MAX_CELLS))
        for ws, scan in zip(worksheets, scans, strict=True):
            rows = []
            for values in ws.iter_rows(values_only=True):
                if len(values) > MAX_COLUMNS:
                    raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=ws.title, cols=len(values), limit=MAX_COLUMNS))
                budget.add_cells(len(values) or 1)
                check_cells(values, ws.title)
                rows.append(list(values))
                if len(rows) > MAX_ROWS:
                    raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=ws.title, rows=f"{MAX_ROWS}+", limit=MAX_ROWS))
            sheets.append(Sheet(ws.title, _trim(rows), formula_cells=scan.formulas, merges=scan.merges))
    except GridError:
        raise
    except Exception as exc:
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    finally:
        workbook.close()
    return sheets


def _trim(rows: list[list[object]]) -> list[list[object]]:
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()
    return rows


# -- xls ----------------------------------------------------------------------------------


def _read_xls(data: bytes) -> list[Sheet]:
    import xlrd

    if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in data[: 65536 * 4]:
        raise GridError(ERROR_ENCRYPTED)
    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except xlrd.biffh.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise GridError(ERROR_ENCRYPTED) from exc
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    except Exception as exc:
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    sheets = []
    budget = _Budget()
    _check_sheet_count(book.nsheets)
    for index in range(book.nsheets):
        xs = book.sheet_by_index(index)
        if xs.nrows > MAX_ROWS:
            raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=xs.name, rows=xs.nrows, limit=MAX_ROWS))
        if xs.ncols > MAX_COLUMNS:
            raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=xs.name, cols=xs.ncols, limit=MAX_COLUMNS))
        # xlrd gives (rlo, rhi, clo, chi), half-open and 0-based.
        merges = [_merge(clo, rlo, chi - 1, rhi - 1, one_based=False) for rlo, rhi, clo, chi in xs.merged_cells]
        budget.add_merges(merges, xs.name)
        budget.add_cells(xs.nrows * xs.ncols)
        rows = []
        for r in range(xs.nrows):
            row = []
            for c in range(xs.ncols):
                cell = xs.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                elif cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
                    row.append(int(cell.value))
                else:
                    row.append(cell.value)
            check_cells(row, xs.name)
            rows.append(row)
        sheets.append(Sheet(xs.name, _trim(rows), merges=merges))
    book.release_resources()
    return sheets


# -- csv ----------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """Decode a CSV saved by Excel or WPS: UTF-8 (with or without BOM), else GB18030 (⊃ GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return _refuse_mojibake(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise GridError(ERROR_ENCODING) from exc


_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_LATIN1_RE = re.compile(r"[\u00c0-\u00ff]")


def _refuse_mojibake(text: str) -> str:
    """Refuse text whose Chinese was mangled on the way: U+FFFD, or GBK read as Latin-1."""
    head = text[:65536]
    if head.count("\ufffd") >= 2:
        raise GridError(ERROR_MOJIBAKE_REPLACED)
    if not _CJK_RE.search(head) and len(_LATIN1_RE.findall(head)) >= 4:
        for western in ("cp1252", "latin-1"):
            try:
                meant = head.encode(western).decode("gb18030")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if len(_CJK_RE.findall(meant)) >= 2:
                seen = next(w for w in re.split(r"[,\t;\s]+", head) if _LATIN1_RE.search(w))
                sample = re.search(r"[\u4e00-\u9fff]+", meant).group()
                raise GridError(ERROR_MOJIBAKE.format(seen=seen[:12], meant=sample[:6]))
    return text


def _read_csv(data: bytes, name: str) -> Sheet:
    text = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[object]] = []
    budget = _Budget()
    try:
        for values in csv.reader(io.StringIO(text), dialect):
            if len(values) > MAX_COLUMNS:
                raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=name, cols=len(values), limit=MAX_COLUMNS))
            budget.add_cells(len(values) or 1)
            check_cells(values, name)
            rows.append([v if v.strip() else None for v in values])
            if len(rows) > MAX_ROWS:
                raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=name, rows=f"{MAX_ROWS}+", limit=MAX_ROWS))
    except csv.Error as exc:  # the module's own limit (128 KB per field) or a broken quote
        if "field limit" in str(exc):
            raise GridError(ERROR_CELL_TOO_LONG.format(sheet=name, limit=MAX_CELL_CHARS)) from exc
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    return Sheet(name, _trim(rows))


# -- docx ---------------------------------------------------------------------------------


def _read_docx(data: bytes) -> tuple[list[Sheet], str]:
    """The tables of a Word file, and its paragraphs' text (the notice's own words)."""
    import docx

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        guard_zip(archive)
        document = docx.Document(io.BytesIO(data))
        tables = document.tables
    except GridError:
        raise
    except Exception as exc:
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    _check_sheet_count(len(tables))
    above = _docx_labels(document, tables)
    budget = _Budget()
    sheets = []
    for number, table in enumerate(tables, start=1):
        label, lines = above.get(number - 1, ("", []))
        name = label if label and label not in {s.name for s in sheets} else f"表{number}"
        try:
            rows = [[line] for line in lines] + _docx_rows(table, name, budget)
        except GridError:
            raise
        except Exception as exc:  # one broken table must not hide the others
            sheets.append(Sheet(name, [], problem=WARN_TABLE_UNREADABLE.format(sheet=name, detail=type(exc).__name__)))
            continue
        sheets.append(Sheet(name, _trim(rows)))
    try:
        text = "\n".join(p.text for p in document.paragraphs)[: MAX_CELL_CHARS * 10]
    except Exception:  # noqa: BLE001 - the tables are what counts; the text only adds checks
        text = ""
    return sheets, text


_LABEL_RE = re.compile(r"^附\s*件\s*[0-9０-９一二三四五六七八九十]{0,3}\s*[:：]?$")


def _docx_labels(document, tables) -> dict[int, tuple[str, list[str]]]:
    """For each table after an "附件N" paragraph: the label ("附件1") and the lines between it
    and the table (its title, "献血时间：…"), which become rows above the table as in a workbook."""
    index = {id(table._tbl): i for i, table in enumerate(tables)}
    found: dict[int, tuple[str, list[str]]] = {}
    label, lines = "", []
    try:
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                text = "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t")).strip()
                if _LABEL_RE.match(text):
                    label, lines = re.sub(r"\s+", "", text).rstrip(":："), [text]
                elif label and text and len(lines) < 6:
                    lines.append(text)
            elif tag == "tbl" and id(child) in index:
                if label:
                    found[index[id(child)]] = (label, lines)
                label, lines = "", []
    except Exception:  # noqa: BLE001 - labels only name the tables; the tables are read anyway
        return {}
    return found


def _docx_rows(table, name: str, budget: _Budget) -> list[list[object]]:
    """A Word table's rows, one value per grid column, read row by row without recursion.

    A cell spanning several grid columns (gridSpan) repeats in each, as python-docx's
    `row.cells` gives it; a cell continuing a vertical merge (vMerge) shows the value of the
    merge's first cell, carried down from the row above. A continuation with nothing above it
    (a hostile or damaged file: Word never writes one in the first row) shows its own text.
    """
    from docx.oxml.simpletypes import ST_Merge
    from docx.table import _Cell

    rows: list[list[object]] = []
    above: dict[int, tuple[object, int]] = {}  # grid offset -> (value, span) in the previous row
    for tr in table._tbl.tr_lst:
        values: list[object] = []
        here: dict[int, tuple[object, int]] = {}
        offset = tr.grid_before
        for tc in tr.tc_lst:
            span = max(1, tc.grid_span)
            if tc.vMerge == ST_Merge.CONTINUE and offset in above:
                value, span = above[offset]
            else:
                text = _Cell(tc, table).text
                value = text if text.strip() else None
            values.extend([value] * span)
            here[offset] = (value, span)
            offset += span
            if len(values) > MAX_COLUMNS:
                raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=name, cols=f"{MAX_COLUMNS}+", limit=MAX_COLUMNS))
        above = here
        budget.add_cells(len(values) or 1)
        check_cells(values, name)
        rows.append(values)
        if len(rows) > MAX_ROWS:
            raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=name, rows=f"{MAX_ROWS}+", limit=MAX_ROWS))
    return rows

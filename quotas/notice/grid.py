"""Read an uploaded file into plain grids of cell values, one per sheet or Word table.

Pure Python. Supports .xlsx (openpyxl, read-only), .xls (xlrd), .csv (UTF-8, UTF-8 with BOM,
GBK/GB18030) and tables inside .docx (python-docx). A merged range's value is copied into every
cell of the range, so the layout code never needs to know about merges.

Before any reader opens a file, `guard_*` checks what it declares: zip members' uncompressed
sizes (zip bombs), each sheet's declared dimension, and the row count, so a hostile file is
refused in bounded time and memory with a message staff can act on.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils.cell import get_column_letter, range_boundaries

MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_CELL_CHARS = 10_000

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


class GridError(ValueError):
    """The file cannot be read at all; the message is shown to staff as it is."""


@dataclass
class Sheet:
    """One sheet (or Word table): rows of values with merged ranges filled in."""

    name: str
    rows: list[list[object]]
    formula_cells: int = 0
    # (row, col) of a cell inside a merged range -> (row, col) of the range's top-left cell.
    merged_from: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def ref(self, row: int, col: int) -> str:
        """The spreadsheet address of a 0-based cell, e.g. "附件2!B14"."""
        return f"{self.name}!{get_column_letter(col + 1)}{row + 1}"

    def value(self, row: int, col: int) -> object:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None


_HTML_RE = re.compile(rb"\s*(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|table|meta|head|body)[\s>]", re.IGNORECASE)


def check_cells(values, sheet: str) -> None:
    """Refuse a row with a cell longer than any name or number a notice or roster holds."""
    for value in values:
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise GridError(ERROR_CELL_TOO_LONG.format(sheet=sheet, limit=MAX_CELL_CHARS))


def sniff_format(head: bytes, filename: str) -> str:
    """The reader to use: 'xlsx', 'xls', 'docx' or 'csv', from the bytes first, then the name."""
    suffix = Path(filename).suffix.lower()
    if head.startswith(ZIP_MAGIC):
        if suffix == ".docx":
            return "docx"
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if not head:
        raise GridError(ERROR_EMPTY_FILE)
    if _HTML_RE.match(head[:1024]):
        raise GridError(ERROR_HTML)
    if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise GridError(ERROR_NOT_SPREADSHEET)
    if suffix in {"", ".csv", ".txt"}:
        return "csv"
    raise GridError(ERROR_NOT_SPREADSHEET)


def read_grids(data: bytes, filename: str) -> list[Sheet]:
    """Every sheet of a file as a grid. Raises GridError with a message for staff."""
    kind = sniff_format(data[:8192], filename)
    if kind == "xlsx":
        return _read_xlsx(data)
    if kind == "xls":
        return _read_xls(data)
    if kind == "docx":
        return _read_docx(data)
    return [_read_csv(data, Path(filename).stem or "CSV")]


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


def _scan_sheet_xml(archive: zipfile.ZipFile, path: str, sheet: str) -> tuple[list[str], int]:
    """Merged ranges and formula count of one sheet, streamed from its XML with no parser.

    openpyxl's read-only mode, the fast one, does not expose merged cells; the ranges sit at
    the end of the sheet XML, so a byte scan finds them without building a tree.
    """
    merges: list[str] = []
    formulas = unsaved = 0
    tail = b""
    first = True
    with archive.open(path) as stream:
        while chunk := stream.read(1 << 20):
            buf = tail + chunk
            if first:
                first = False
                if m := _DIMENSION_RE.search(buf[:4096]):
                    _check_dimension(m.group(1).decode(), sheet)
            # Count only complete tokens; keep a short tail for tokens split across chunks.
            cut = max(0, len(buf) - 256)
            formulas += len(_FORMULA_RE.findall(buf, 0, cut))
            unsaved += len(_UNSAVED_RE.findall(buf, 0, cut))
            merges.extend(ref.decode() for ref in _MERGE_RE.findall(buf, 0, cut))
            tail = buf[cut:]
    formulas += len(_FORMULA_RE.findall(tail))
    unsaved += len(_UNSAVED_RE.findall(tail))
    merges.extend(ref.decode() for ref in _MERGE_RE.findall(tail))
    if unsaved:
        raise GridError(ERROR_FORMULAS_UNSAVED.format(sheet=sheet, count=unsaved))
    return merges, formulas


def _check_dimension(ref: str, sheet: str) -> None:
    if ":" not in ref:
        return
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    rows, cols = max_row - min_row + 1, max_col - min_col + 1
    if rows > MAX_ROWS:
        raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=sheet, rows=rows, limit=MAX_ROWS))
    if cols > MAX_COLUMNS:
        raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=sheet, cols=cols, limit=MAX_COLUMNS))


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
    try:
        for ws in workbook.worksheets:
            if not hasattr(ws, "_worksheet_path"):  # a chartsheet
                continue
            merges, formulas = _scan_sheet_xml(archive, ws._worksheet_path, ws.title)
            rows = []
            for values in ws.iter_rows(values_only=True):
                check_cells(values, ws.title)
                rows.append(list(values))
                if len(rows) > MAX_ROWS:
                    raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=ws.title, rows=f"{MAX_ROWS}+", limit=MAX_ROWS))
            sheet = Sheet(name=ws.title, rows=_trim(rows), formula_cells=formulas)
            _fill_merges(sheet, (range_boundaries(ref) for ref in merges), one_based=True)
            sheets.append(sheet)
    except GridError:
        raise
    except Exception as exc:
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    finally:
        workbook.close()
    return sheets


def _fill_merges(sheet: Sheet, ranges, *, one_based: bool) -> None:
    """Copy each merged range's top-left value into every cell of the range."""
    shift = 1 if one_based else 0
    for min_col, min_row, max_col, max_row in ranges:
        r0, c0 = min_row - shift, min_col - shift
        if r0 >= len(sheet.rows):
            continue
        anchor = sheet.value(r0, c0)
        for r in range(r0, min(max_row - shift + 1, len(sheet.rows))):
            row = sheet.rows[r]
            for c in range(c0, max_col - shift + 1):
                if (r, c) == (r0, c0):
                    continue
                if c >= len(row):
                    row.extend([None] * (c + 1 - len(row)))
                row[c] = anchor
                sheet.merged_from[(r, c)] = (r0, c0)


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
    for index in range(book.nsheets):
        xs = book.sheet_by_index(index)
        if xs.nrows > MAX_ROWS:
            raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=xs.name, rows=xs.nrows, limit=MAX_ROWS))
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
        sheet = Sheet(name=xs.name, rows=_trim(rows))
        # xlrd gives (rlo, rhi, clo, chi), half-open and 0-based.
        _fill_merges(sheet, ((clo, rlo, chi - 1, rhi - 1) for rlo, rhi, clo, chi in xs.merged_cells), one_based=False)
        sheets.append(sheet)
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
    try:
        for values in csv.reader(io.StringIO(text), dialect):
            check_cells(values, name)
            rows.append([v if v.strip() else None for v in values])
            if len(rows) > MAX_ROWS:
                raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=name, rows=f"{MAX_ROWS}+", limit=MAX_ROWS))
    except csv.Error as exc:  # the module's own limit (128 KB per field) or a broken quote
        if "field limit" in str(exc):
            raise GridError(ERROR_CELL_TOO_LONG.format(sheet=name, limit=MAX_CELL_CHARS)) from exc
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    return Sheet(name=name, rows=_trim(rows))


# -- docx ---------------------------------------------------------------------------------


def _read_docx(data: bytes) -> list[Sheet]:
    import docx

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        guard_zip(archive)
        document = docx.Document(io.BytesIO(data))
    except GridError:
        raise
    except Exception as exc:
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    sheets = []
    for number, table in enumerate(document.tables, start=1):
        rows = []
        for row in table.rows:
            # python-docx repeats a merged cell once per grid column it spans: the value holds
            # for every cell of the merge, as in a spreadsheet.
            values = [cell.text if cell.text.strip() else None for cell in row.cells]
            check_cells(values, f"表{number}")
            rows.append(values)
            if len(rows) > MAX_ROWS:
                raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=f"表{number}", rows=f"{MAX_ROWS}+", limit=MAX_ROWS))
        sheets.append(Sheet(name=f"表{number}", rows=_trim(rows)))
    return sheets

"""Read .xlsx and .xls workbooks into grids (`grid.Sheet`), guarded before any row is read.

An .xlsx is first scanned as bytes (`guard_zip`, `_scan_sheet_xml`: zip bombs, macros, DTDs,
declared sizes, merged ranges and formulas without saved results), then its cells are read with
python-calamine (Rust; ~0.1× openpyxl's read-only time), converted to the values openpyxl gives
(`_from_calamine`); a workbook calamine cannot read is read with openpyxl read-only. An .xls is
read with xlrd.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass

from openpyxl.utils.cell import column_index_from_string, range_boundaries

from .grid import (
    ERROR_CORRUPT,
    ERROR_DECLARED_CELLS,
    ERROR_ENCRYPTED,
    ERROR_FORMULAS_UNSAVED,
    ERROR_MACRO,
    ERROR_TOO_MANY_COLUMNS,
    ERROR_TOO_MANY_MERGES,
    ERROR_TOO_MANY_ROWS,
    ERROR_UNSAFE_XML,
    ERROR_ZIP_BOMB,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_MERGES,
    MAX_RATIO,
    MAX_ROWS,
    MAX_UNCOMPRESSED,
    GridError,
    Merge,
    Sheet,
    _Budget,
    _check_sheet_count,
    check_cells,
    make_merge,
    trim_rows,
)

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
    width: int = 0  # the declared last column (openpyxl pads every row to it), 0 if none
    extent: int = 0  # rows × columns the cells actually written span


def _scan_sheet_xml(archive: zipfile.ZipFile, path: str, sheet: str) -> _SheetScan:
    """Merged ranges, formula count, declared and written size of one sheet, streamed with no parser.

    Neither openpyxl's read-only mode nor python-calamine exposes merged cells cheaply; the
    ranges sit at the end of the sheet XML, so a byte scan finds them without building a tree.
    The scan stops as soon as the sheet has more merged ranges than any table has. The last row
    and column the cells are written at bound what calamine allocates (a sheet whose dimension
    lies is refused here, not after a reader has built it in memory).
    """
    refs: list[bytes] = []
    formulas = unsaved = 0
    declared = width = 0
    last_row = 0
    columns: set[bytes] = set()
    tail = b""
    first = True
    with archive.open(path) as stream:
        while chunk := stream.read(1 << 20):
            buf = tail + chunk
            if first:
                first = False
                if m := _DIMENSION_RE.search(buf[:4096]):
                    declared, width = _check_dimension(m.group(1).decode(), sheet)
            # Count only complete tokens; keep a short tail for tokens split across chunks.
            cut = max(0, len(buf) - 256)
            formulas += len(_FORMULA_RE.findall(buf, 0, cut))
            unsaved += len(_UNSAVED_RE.findall(buf, 0, cut))
            refs.extend(_MERGE_RE.findall(buf, 0, cut))
            columns.update(_CELL_COLUMN_RE.findall(buf, 0, cut))
            last_row = max(last_row, *map(int, _ROW_NUMBER_RE.findall(buf, 0, cut) or [0]))
            if len(refs) > MAX_MERGES:
                raise GridError(ERROR_TOO_MANY_MERGES.format(sheet=sheet, limit=MAX_MERGES))
            tail = buf[cut:]
    formulas += len(_FORMULA_RE.findall(tail))
    unsaved += len(_UNSAVED_RE.findall(tail))
    refs.extend(_MERGE_RE.findall(tail))
    columns.update(_CELL_COLUMN_RE.findall(tail))
    last_row = max(last_row, *map(int, _ROW_NUMBER_RE.findall(tail) or [0]))
    if unsaved:
        raise GridError(ERROR_FORMULAS_UNSAVED.format(sheet=sheet, count=unsaved))
    last_column = max((column_index_from_string(c.decode()) for c in columns if len(c) <= 3), default=0)
    if last_row > MAX_ROWS:
        raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=sheet, rows=last_row, limit=MAX_ROWS))
    if last_column > MAX_COLUMNS or any(len(c) > 3 for c in columns):
        raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=sheet, cols=f"{MAX_COLUMNS}+", limit=MAX_COLUMNS))
    merges = [make_merge(*range_boundaries(ref.decode()), one_based=True) for ref in refs]
    return _SheetScan(
        merges=merges, formulas=formulas, declared_cells=declared, width=width, extent=last_row * last_column
    )


_CELL_COLUMN_RE = re.compile(rb'<(?:\w+:)?c\s+r="([A-Z]+)[0-9]')
# A row that holds a cell (an empty <row r="N"/> allocates nothing and is not counted).
_ROW_NUMBER_RE = re.compile(rb'<(?:\w+:)?row\s+r="([0-9]{1,9})"[^>]*(?<!/)>\s*<(?:\w+:)?c[\s>]')


def _check_dimension(ref: str, sheet: str) -> tuple[int, int]:
    """Refuse a sheet that declares more rows or columns than a table has; its declared cells
    and last column."""
    if ":" not in ref:
        return 1, 0
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    rows, cols = max_row - min_row + 1, max_col - min_col + 1
    if rows > MAX_ROWS:
        raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=sheet, rows=rows, limit=MAX_ROWS))
    if cols > MAX_COLUMNS:
        raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=sheet, cols=cols, limit=MAX_COLUMNS))
    # openpyxl pads every row to the declared width and height: those cells are read too.
    return max_row * max_col, max_col


def _open_archive(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        guard_zip(archive)
    except zipfile.BadZipFile as exc:
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    except (EOFError, OSError, zipfile.LargeZipFile) as exc:
        raise GridError(ERROR_CORRUPT.format(detail=exc)) from exc
    return archive


def _scan_all(archive: zipfile.ZipFile, parts: list[tuple[str, str]], budget: _Budget) -> list[_SheetScan]:
    """Every sheet's declarations first: a workbook of 40 sheets each declaring 40 million cells
    is refused before a single row is read."""
    _check_sheet_count(len(parts))
    scans = []
    for title, path in parts:
        scan = _scan_sheet_xml(archive, path, title)
        budget.add_merges(scan.merges, title)
        scans.append(scan)
    declared = sum(max(scan.declared_cells, scan.extent) for scan in scans)
    if declared > MAX_CELLS:
        raise GridError(ERROR_DECLARED_CELLS.format(cells=declared, limit=MAX_CELLS))
    return scans


def _add_row(rows: list, values: list, title: str, budget: _Budget) -> None:
    if len(values) > MAX_COLUMNS:
        raise GridError(ERROR_TOO_MANY_COLUMNS.format(sheet=title, cols=len(values), limit=MAX_COLUMNS))
    budget.add_cells(len(values) or 1)
    check_cells(values, title)
    rows.append(values)
    if len(rows) > MAX_ROWS:
        raise GridError(ERROR_TOO_MANY_ROWS.format(sheet=title, rows=f"{MAX_ROWS}+", limit=MAX_ROWS))


def read_xlsx(data: bytes) -> list[Sheet]:
    """Every worksheet of an .xlsx as a grid: calamine reads the cells, openpyxl when it cannot."""
    archive = _open_archive(data)
    try:
        parts = _worksheet_parts(archive)
    except Exception:  # noqa: BLE001 - an unusual package: openpyxl knows more layouts
        parts = None
    if parts is not None:
        try:
            return _read_with_calamine(data, archive, parts)
        except GridError:
            raise
        except Exception:  # noqa: BLE001 - calamine refused the file: openpyxl says why, or reads it
            return read_xlsx_openpyxl(data, archive)
    return read_xlsx_openpyxl(data, archive)


_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _worksheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(title, XML part) of each worksheet, in workbook order; chartsheets left out, as
    openpyxl's `worksheets` leaves them. The XML is parsed by defusedxml (guard_zip has refused
    any DTD already)."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(archive.read("_rels/.rels"))
    main = next(
        r.get("Target") for r in root.iter(f"{_PKG_REL_NS}Relationship") if r.get("Type").endswith("/officeDocument")
    )
    main = main.lstrip("/")
    folder = main.rpartition("/")[0]
    rels_path = f"{folder}/_rels/{main.rpartition('/')[2]}.rels" if folder else f"_rels/{main}.rels"
    targets = {}
    for rel in ElementTree.fromstring(archive.read(rels_path)).iter(f"{_PKG_REL_NS}Relationship"):
        if rel.get("Type", "").endswith("/worksheet"):
            target = rel.get("Target")
            targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else f"{folder}/{target}".lstrip("/")
    workbook = ElementTree.fromstring(archive.read(main))
    parts = []
    for sheet in workbook.iter():
        if sheet.tag.rpartition("}")[2] == "sheet" and sheet.get(f"{_REL_NS}id") in targets:
            parts.append((sheet.get("name"), targets[sheet.get(f"{_REL_NS}id")]))
    names = set(archive.namelist())
    if not parts or any(path not in names for _, path in parts):
        raise ValueError("worksheet parts not found")
    return parts


def _read_with_calamine(data: bytes, archive: zipfile.ZipFile, parts: list[tuple[str, str]]) -> list[Sheet]:
    import python_calamine

    budget = _Budget()
    scans = _scan_all(archive, parts, budget)
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = []
    for (title, _), scan in zip(parts, scans, strict=True):
        rows: list[list[object]] = []
        for raw in book.get_sheet_by_name(title).to_python(skip_empty_area=False):
            # `_from_calamine` inlined for the common cases (a call per cell costs ~0.1 s a notice).
            values = [
                (int(v) if v.is_integer() and -1e15 < v < 1e15 else v)
                if (kind := type(v)) is float
                else (v or None)
                if kind is str
                else _from_calamine(v)
                for v in raw
            ]
            if len(values) < scan.width:
                values.extend([None] * (scan.width - len(values)))
            _add_row(rows, values, title, budget)
        sheets.append(Sheet(title, trim_rows(rows), formula_cells=scan.formulas, merges=scan.merges))
    book.close()
    return sheets


def _from_calamine(value: object) -> object:
    """A cell as openpyxl (read-only, cached values) gives it: an empty cell None, a whole
    number an int (calamine gives every number as a float; Excel writes "12", openpyxl reads it
    as 12), a date with no time of day a datetime at midnight. Strings, floats with a fraction,
    booleans, times and durations are the same from both."""
    kind = type(value)
    if kind is str:
        return value if value else None
    if kind is float:
        return int(value) if value.is_integer() and -1e15 < value < 1e15 else value
    if kind is dt.date:
        return dt.datetime(value.year, value.month, value.day)
    return value


def read_xlsx_openpyxl(data: bytes, archive: zipfile.ZipFile | None = None) -> list[Sheet]:
    """Every worksheet of an .xlsx read with openpyxl read-only: the fallback, and the reference
    the calamine reading is tested against."""
    import openpyxl

    archive = archive or _open_archive(data)
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
        scans = _scan_all(archive, [(ws.title, ws._worksheet_path) for ws in worksheets], budget)
        for ws, scan in zip(worksheets, scans, strict=True):
            rows: list[list[object]] = []
            for values in ws.iter_rows(values_only=True):
                _add_row(rows, list(values), ws.title, budget)
            sheets.append(Sheet(ws.title, trim_rows(rows), formula_cells=scan.formulas, merges=scan.merges))
    except GridError:
        raise
    except Exception as exc:
        raise GridError(ERROR_CORRUPT.format(detail=type(exc).__name__)) from exc
    finally:
        workbook.close()
    return sheets


# -- xls ----------------------------------------------------------------------------------


def read_xls(data: bytes) -> list[Sheet]:
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
        merges = [make_merge(clo, rlo, chi - 1, rhi - 1, one_based=False) for rlo, rhi, clo, chi in xs.merged_cells]
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
        sheets.append(Sheet(xs.name, trim_rows(rows), merges=merges))
    book.release_resources()
    return sheets

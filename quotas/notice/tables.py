"""Read CSV files and the tables of Word files into grids (`grid.Sheet`).

A CSV is decoded as Excel or WPS saved it (UTF-8 with or without BOM, else GB18030), mangled
Chinese refused; a Word file's tables are read row by row, merged cells filled as printed, with
the "附件N" label and title lines above each table as rows of its grid.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

from .grid import (
    ERROR_CELL_TOO_LONG,
    ERROR_CORRUPT,
    ERROR_ENCODING,
    ERROR_MOJIBAKE,
    ERROR_MOJIBAKE_REPLACED,
    ERROR_TOO_MANY_COLUMNS,
    ERROR_TOO_MANY_ROWS,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    WARN_TABLE_UNREADABLE,
    GridError,
    Sheet,
    _Budget,
    _check_sheet_count,
    check_cells,
    trim_rows,
)
from .workbook import guard_zip

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


def read_csv(data: bytes, name: str) -> Sheet:
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
    return Sheet(name, trim_rows(rows))


# -- docx ---------------------------------------------------------------------------------


def read_docx(data: bytes) -> tuple[list[Sheet], str]:
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
        sheets.append(Sheet(name, trim_rows(rows)))
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

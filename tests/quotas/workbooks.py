"""Build small notice files in every format for the reader's tests."""

from __future__ import annotations

import io

import openpyxl


def xlsx(rows: list[list], *, merges: list[str] = (), title: str = "附件", sheets: dict | None = None) -> bytes:
    """An .xlsx with one sheet (or several: {title: (rows, merges)})."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, (sheet_rows, sheet_merges) in (sheets or {title: (rows, merges)}).items():
        ws = workbook.create_sheet(name)
        for row in sheet_rows:
            ws.append(row)
        for ref in sheet_merges:
            ws.merge_cells(ref)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xls(rows: list[list], *, merges: list[tuple[int, int, int, int]] = ()) -> bytes:
    """An old .xls; merges are (first_row, last_row, first_col, last_col), 0-based inclusive."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("附件1")
    merged_cells = set()
    for r1, r2, c1, c2 in merges:
        sheet.write_merge(r1, r2, c1, c2, rows[r1][c1])
        merged_cells |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None and (r, c) not in merged_cells:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows)
    return text.encode(encoding)


def docx(rows: list[list], *, merge_down: tuple[int, int, int] | None = None) -> bytes:
    """A Word document with one table; merge_down=(col, first_row, last_row) merges a column."""
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph("附件1 各单位无偿献血任务表")
    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                table.cell(r, c).text = str(value)
    if merge_down:
        col, first, last = merge_down
        table.cell(first, col).merge(table.cell(last, col))
        table.cell(first, col).text = str(rows[first][col])
    document.add_paragraph("说明：各单位按时完成。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_notice(sheets, *, body: list[str] = ()) -> bytes:
    """A Word notice: body paragraphs, then each sheet as "附件" label, title and table, merged
    cells merged in Word (`sheets` are `quotas.notice.grid.Sheet`s read from a workbook)."""
    import docx as python_docx

    from quotas.notice.layouts import is_header_row

    document = python_docx.Document()
    for line in body:
        document.add_paragraph(line)
    for sheet in sheets:
        header = next(i for i, row in enumerate(sheet.rows) if is_header_row(row))
        for row in sheet.cells[:header]:
            document.add_paragraph(" ".join(str(v) for v in row if v is not None))
        rows = sheet.cells[header:]
        width = max(len(r) for r in rows)
        table = document.add_table(rows=len(rows), cols=width)
        table.style = "Table Grid"
        for merge in sheet.merges:
            if merge.top >= header:
                table.cell(merge.top - header, merge.left).merge(table.cell(merge.bottom - header, merge.right))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    table.cell(r, c).text = str(value)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()

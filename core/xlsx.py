"""Writing workbooks for download: one escaping rule for text, one response.

A text cell that starts with = + - @ (or a tab or carriage return) is what Excel, WPS and
LibreOffice run as a formula — `=HYPERLINK(...)` in a bulletin title or a unit name imported from
a notice. Every workbook the portal writes passes its text through `escape_formula`, which keeps
the text and prefixes an apostrophe (the spreadsheet's own "this is text" mark); the flat quota
import removes it again (`unescape_formula`), so export → edit → import round-trips.
"""

from __future__ import annotations

import io

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def escape_formula(value):
    """Text a spreadsheet would run as a formula, made plain text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_formula(value):
    """The text `escape_formula` was given back (for imports of what the portal exported)."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def xlsx_response(workbook, filename: str) -> HttpResponse:
    """An attachment download of an openpyxl workbook (or its saved bytes)."""
    if isinstance(workbook, bytes):
        content = workbook
    else:
        buffer = io.BytesIO()
        workbook.save(buffer)
        content = buffer.getvalue()
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response

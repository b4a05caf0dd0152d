"""The notice reader: a notice attachment file in, every quota row with warnings and errors out.

Pure Python. `read_notice(data, filename, year=...)` reads every sheet (or Word table) of an
.xlsx/.xls/.csv/.docx file; `NoticeReading.as_json()` gives the document of
`fixtures/notices/*.expected.json`. `parse_notice_text` reads the facts a notice's own text
gives (文号, title, issue date).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .grid import GridError, read_grids
from .layouts import ERROR_NO_HEADER, Issue, ParsedRow, read_sheet


@dataclass
class NoticeReading:
    year: int
    jurisdiction: str = ""
    sheets: dict[str, list[ParsedRow]] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    period_totals: dict[str, int] = field(default_factory=dict)
    declared_total: int | None = None
    facts: dict = field(default_factory=dict)

    @property
    def rows(self) -> list[ParsedRow]:
        return [row for rows in self.sheets.values() for row in rows]

    @property
    def total(self) -> int:
        """The sum of the quotas that count (advisory numbers never do)."""
        return sum(row.target for row in self.rows if not row.advisory)

    def as_json(self) -> dict:
        plan = {"jurisdiction": self.jurisdiction, "year": self.year, **self.facts}
        if self.period_totals:
            plan["monthly_totals"] = self.period_totals
        if self.declared_total is not None:
            plan["declared_total"] = self.declared_total
        return {
            "plan": plan,
            "sheets": {name: [row.as_json() for row in rows] for name, rows in self.sheets.items()},
            "warnings": [issue.as_dict() for issue in self.warnings],
            "errors": [issue.as_dict() for issue in self.errors],
        }


def read_notice(data: bytes, filename: str, *, year: int, jurisdiction: str = "") -> NoticeReading:
    """Read every sheet of a notice attachment. Never raises for a bad file: errors say why."""
    reading = NoticeReading(year=year, jurisdiction=jurisdiction)
    try:
        grids = read_grids(data, filename)
    except GridError as exc:
        reading.errors.append(Issue("error", str(exc)))
        return reading
    found = False
    for grid in grids:
        sheet = read_sheet(grid, year)
        found = found or sheet.found_table
        for issue in sheet.issues:
            (reading.errors if issue.level == "error" else reading.warnings).append(issue)
        if sheet.rows:
            reading.sheets[grid.name] = sheet.rows
        reading.period_totals.update(sheet.period_totals)
        if sheet.declared_total is not None:
            reading.declared_total = (reading.declared_total or 0) + sheet.declared_total
    if not found:
        reading.errors.append(Issue("error", ERROR_NO_HEADER))
    return reading


_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（【]\s*(\d{4})\s*[〕\]］)）】]\s*\d+\s*号")
_TITLE = re.compile(r"关于[^\n。]{2,60}?的通知")
_ISSUE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def parse_notice_text(text: str) -> dict:
    """The plan facts a notice's text states: document number, title, and the date it was issued.

    The issue date is the last full date in the text (the date line above the seal).
    """
    facts: dict = {}
    if m := _DOC_NUMBER.search(text):
        facts["document_number"] = re.sub(r"\s+", "", m.group(0))
    if m := _TITLE.search(re.sub(r"[ \t\u3000]+", "", text)):
        facts["title"] = m.group(0)
    dates = []
    for m in _ISSUE_DATE.finditer(text):
        try:
            dates.append(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    if dates:
        facts["issue_date"] = dates[-1].isoformat()
    return facts

"""The notice reader: a notice attachment file in, every quota row with warnings and errors out.

Pure Python. `read_notice(data, filename, year=...)` reads every sheet (or Word table) of an
.xlsx/.xls/.csv/.docx file and every ruled table of a text PDF; `NoticeReading.as_json()` gives
the document of `fixtures/notices/*.expected.json`. `parse_notice_text` reads the facts a
notice's own text gives (文号, title, issue date, the total it states); `check_notice_text` adds
them to a reading and checks the stated total against the rows. The text comes with the file
(a PDF's or Word file's own paragraphs) or separately (the notice text uploaded beside it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .grid import GridError, read_document
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
    stated_total: int | None = None  # the total the notice text states ("全年160人次")

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
        document = read_document(data, filename)
    except GridError as exc:
        reading.errors.append(Issue("error", str(exc)))
        return reading
    reading.warnings.extend(Issue("warning", message) for message in document.warnings)
    found = False
    for grid in document.sheets:
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
    elif document.text:
        check_notice_text(reading, document.text)
    return reading


_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（【]\s*(\d{4})\s*[〕\]］)）】]\s*\d+\s*号")
_TITLE = re.compile(r"关于[^\n。]{2,60}?的通知")
_ISSUE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# "全年160人次", "总量确定为12500人份", "全市献血任务总数为 3000 人": a whole-plan word, a few
# words, the number and its unit of persons.
_STATED_TOTAL = re.compile(
    r"(?:全年|全市|全区|全县|全镇|总量|总数|总任务|任务总数|年度任务|目标任务|总计|共计)"
    r"[^。；;，,\n\d]{0,12}?([0-9０-９][0-9０-９,，]*)\s*(?:人次|人份|人|名)"
)
WARN_STATED_TOTAL_LARGER = (
    "通知正文写明总数为 {stated}（“{text}”），附件各行相加为 {computed}，少 {gap}："
    "如差额由个人献血完成可忽略此提示，否则请核对附件。"
)
WARN_STATED_TOTAL_SMALLER = "通知正文写明总数为 {stated}（“{text}”），但附件各行相加为 {computed}，多出 {gap}，请核对。"


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
    if m := _STATED_TOTAL.search(text):
        digits = re.sub(r"[,，]", "", m.group(1)).translate(_FULL_WIDTH)
        facts["stated_total"] = int(digits)
        facts["stated_total_text"] = re.sub(r"\s+", "", m.group(0))
    return facts


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def check_notice_text(reading: NoticeReading, text: str, *, override: bool = False) -> None:
    """Add what a notice's text states to a reading (over what it has with `override`: the text
    staff uploaded beside the file is the better source), and check
    the total it states against the rows, as a 合计 row is checked: a warning naming both
    numbers. The stated total is the plan's total (it may exceed the rows: individual donors)."""
    facts = parse_notice_text(text)
    stated = facts.pop("stated_total", None)
    stated_text = facts.pop("stated_total_text", "")
    for name, value in facts.items():
        if override or name not in reading.facts:
            reading.facts[name] = value
    if stated is None or reading.stated_total is not None:
        return
    reading.stated_total = stated
    reading.declared_total = stated
    computed = reading.total
    if reading.rows and stated != computed:
        template = WARN_STATED_TOTAL_LARGER if stated > computed else WARN_STATED_TOTAL_SMALLER
        message = template.format(stated=stated, text=stated_text, computed=computed, gap=abs(stated - computed))
        reading.warnings.append(Issue("warning", message, "", stated_text))

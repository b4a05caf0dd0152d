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

from openpyxl.utils.cell import coordinate_to_tuple

from units.naming import to_halfwidth

from .grid import GridError, read_document
from .layouts import (
    COMPOUND,
    ERROR_NO_HEADER,
    FLAG_TOTAL,
    HEADCOUNT,
    SEQ,
    TARGET,
    TOTAL,
    UNIT,
    Issue,
    ParsedRow,
    read_sheet,
)


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
    # Read from a scan: every cell a row was read from (and each 合计 cell), by address →
    # {"role", "text" (as recognised), "page", "box"}: what the preview shows and staff may
    # correct. Corrections applied: [{"ref", "role", "ocr", "typed"}]. Neither is in the JSON.
    ocr_cells: dict[str, dict] = field(default_factory=dict)
    corrections: list[dict] = field(default_factory=list)

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


def read_notice(
    data: bytes,
    filename: str,
    *,
    year: int,
    jurisdiction: str = "",
    corrections: dict[str, str] | None = None,
    document=None,
) -> NoticeReading:
    """Read every sheet of a notice attachment. Never raises for a bad file: errors say why.

    `corrections` (address → text) are what staff typed over cells of a scan in the preview:
    each is checked for its cell's role (`check_correction`) and put in the grid in place of
    the recognised text before the tables are read, so totals, periods and names are checked
    again as for any cell. A correction of a cell that is not a scanned cell of a row is an error.
    `document` is the file already read (`read_scan`: a scan read by OCR in the background);
    the tables are read from it and the file is not read again.
    """
    reading = NoticeReading(year=year, jurisdiction=jurisdiction)
    if document is None:
        try:
            document = read_document(data, filename)
        except GridError as exc:
            reading.errors.append(Issue("error", str(exc)))
            return reading
    if corrections:
        _correct(document, year, corrections, reading)
    _read_tables(document, year, reading)
    _collect_ocr_cells(document, reading)
    return reading


def read_scan(data: bytes, filename: str) -> tuple[object, str]:
    """The expensive half of `read_notice` for a scan: (the document read by OCR, "") or (None,
    the error for staff). Run by the background task (`quotas.tasks`) in the upload sandbox."""
    try:
        return read_document(data, filename), ""
    except GridError as exc:
        return None, str(exc)


def _read_tables(document, year: int, reading: NoticeReading) -> None:
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


ERROR_CORRECTION_CELL = "{ref} 不是扫描件中可更正的单元格。"
ERROR_CORRECTION_NUMBER = "{ref}：更正的数字“{text}”应为大于或等于 0 的整数（指导性数字写作 (60)）。"
ERROR_CORRECTION_EMPTY = "{ref}：更正的单位名称不能为空。"
ERROR_CORRECTION_LONG = "{ref}：更正的内容超过 {limit} 个字符。"
_WHOLE_NUMBER = re.compile(r"^(?:\d{1,7}|[(（]\d{1,7}[)）])$")
_NUMBER_ROLES = {TARGET, HEADCOUNT, SEQ, TOTAL}
CORRECTION_MAX_CHARS = 200


def check_correction(ref: str, role: str, text: str) -> str:
    """Why a correction typed over a scanned cell cannot stand, or "": a number (任务数, 总人数,
    序号, 合计) is a whole number ≥ 0, or one in brackets (advisory); a unit's name is not empty;
    nothing is longer than a name may be. A period is checked by the period grammar when the
    table is read again, as any cell's."""
    if len(text) > CORRECTION_MAX_CHARS:
        return ERROR_CORRECTION_LONG.format(ref=ref, limit=CORRECTION_MAX_CHARS)
    if role in _NUMBER_ROLES:
        if not _WHOLE_NUMBER.match(to_halfwidth(text).strip()):
            return ERROR_CORRECTION_NUMBER.format(ref=ref, text=text)
    elif role in (UNIT, COMPOUND) and not text.strip():
        return ERROR_CORRECTION_EMPTY.format(ref=ref)
    return ""


def same_text(typed: str, recognised: str) -> bool:
    """Whether a field still holds what was recognised: a one-line field drops the line breaks
    of a cell's text ("镇机关⏎(含便民中心)"), and that is no correction."""
    return re.sub(r"[\r\n]", "", typed).strip() == re.sub(r"[\r\n]", "", recognised).strip()


def _correct(document, year: int, corrections: dict[str, str], reading: NoticeReading) -> None:
    """Staff's corrections into the grid, in place of the recognised text: each checked for the
    role its cell has in the table as read without corrections (reading a grid is cheap; the
    recognition is not repeated)."""
    from .ocr import OcrText

    before = NoticeReading(year=year)
    _read_tables(document, year, before)
    _collect_ocr_cells(document, before)
    sheets = {sheet.name: sheet for sheet in document.sheets}
    for ref, typed in corrections.items():
        cell = before.ocr_cells.get(ref)
        sheet_name, _, address = ref.rpartition("!")
        sheet = sheets.get(sheet_name)
        if cell is None or sheet is None:
            reading.errors.append(Issue("error", ERROR_CORRECTION_CELL.format(ref=ref), ref, str(typed)[:80]))
            continue
        typed = str(typed).strip()
        if same_text(typed, cell["text"]):
            continue  # as read: nothing corrected (and nothing to check: the reader read it)
        problem = check_correction(ref, cell["role"], typed)
        if problem:
            reading.errors.append(Issue("error", problem, ref, typed[:80]))
            continue
        row, column = coordinate_to_tuple(address)
        # Full confidence, the same place on the page: no longer in doubt, still shown.
        sheet.cells[row - 1][column - 1] = OcrText(typed, 1.0, 1.0, cell["page"], cell["box"])
        reading.corrections.append({"ref": ref, "role": cell["role"], "ocr": cell["text"], "typed": typed})


def _collect_ocr_cells(document, reading: NoticeReading) -> None:
    """Where each scanned row's cells stand on their page (`ParsedRow.ocr_cells`), and the 合计
    cells their flags name."""
    sheets = {sheet.name: sheet for sheet in document.sheets if getattr(sheet, "ocr", False)}
    if not sheets:
        return
    wanted: dict[str, str] = {}
    for row in reading.rows:
        for role, ref in (row.ocr_cells or {}).items():
            wanted.setdefault(ref, role)
        for flag in row.flags or []:
            if flag["kind"] == FLAG_TOTAL:
                wanted.setdefault(flag["ref"], TOTAL)
    for ref, role in wanted.items():
        sheet_name, _, address = ref.rpartition("!")
        sheet = sheets.get(sheet_name)
        if sheet is None:
            continue
        row, column = coordinate_to_tuple(address)
        value = sheet.value(row - 1, column - 1)
        box = getattr(value, "box", None)
        if box is None or not any(box):
            continue
        reading.ocr_cells[ref] = {"role": role, "text": str(value), "page": value.page, "box": box}


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

"""Find the quota table(s) in a sheet grid and read their rows, whatever the print layout.

Pure Python. The header row is found by its vocabulary (DOMAIN.md, "What the attachment
tables look like"), not by position: title, "附件1" label and footnote rows around the table
are passed over; a header repeated at a page break is skipped; two or more blocks of the same
columns side by side are read one after the other; period cells merged down or left blank
under a month carry down; compound cells "组织部7；宣传部5；" are split and checked against the
row's 合计; 合计/总计 rows check the rows and are never quotas.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from units.naming import clean_text, normalize_name

from .grid import MAX_CELL_CHARS, Sheet
from .periods import PeriodError, parse_period
from .values import Number, parse_number, parse_seq, split_annual, split_compound, split_members

SEQ, UNIT, COMPOUND, TARGET, PERIOD, LOCATION, HEADCOUNT, TOTAL, REMARK = (
    "seq",
    "unit",
    "compound",
    "target",
    "period",
    "location",
    "headcount",
    "total",
    "remark",
)

WARN_TOTAL_MISMATCH = "{ref} 的合计为 {declared}，但各行相加为 {computed}。"
WARN_NO_TARGET = "{ref} 的单位“{unit}”没有任务数，已跳过。"
WARN_NO_TABLE = "工作表“{sheet}”中没有找到任务表（表头需包含“单位”和“任务数/目标数”等列），已跳过。"
WARN_EMPTY_SHEET = "工作表“{sheet}”是空的，已跳过。"
WARN_FORMULAS = "工作表“{sheet}”有 {count} 个公式单元格：已使用文件中保存的计算结果。"
ERROR_NO_HEADER = (
    "文件中没有找到任务表：没有一行同时包含单位列（单位/单位名称/村别…）和任务数列（任务数/目标数/计划数…）。"
)
ERROR_CELL_TOO_LONG = "{ref} 的内容过长（{length} 个字符），不像是单位名称。"
ERROR_COMPOUND = "{ref}：{message}"
# Doubts about a row read from a scan or photo (ParsedRow.flags).
FLAG_OCR_CONFIDENCE = "ocr_confidence"
FLAG_TOTAL = "total_mismatch"
FLAG_SEQ = "seq_gap"
FLAG_UNMATCHED = "unit_unmatched"
FLAG_MESSAGES = {
    FLAG_OCR_CONFIDENCE: "{ref} 识别把握不足（{confidence}%）：读作“{text}”，请核对。",
    FLAG_TOTAL: "与 {ref} 的合计 {declared} 不符（各行相加为 {computed}）：本行的数字可能识别有误，请核对。",
    FLAG_SEQ: "{ref} 的序号 {seq} 不接上一行的 {previous}：可能漏读或多读了一行，请核对。",
    FLAG_UNMATCHED: "“{name}”没有匹配到已有单位：可能识别有误，请核对。",
}
WARN_OCR_NO_UNIT = "{ref} 有任务数 {number} 但单位名称未能识别，已跳过：请核对扫描件。"

_TOTAL_WORDS = {"合计", "总计", "小计", "共计", "总合计", "累计", "全市合计", "全区合计", "全县合计"}
_FOOTNOTE = re.compile(
    r"^(?:说\s*明|注|备\s*注|联\s*系\s*人|联系电话|电话|附\s*件|抄\s*送|填报|审核|制表)\s*[:：0-9一二三四五六七八九十、.．]?"
)
_DEFAULT_PERIOD = re.compile(r"(?:献血)?(?:时间|日期)\s*[:：]\s*([^\s，,；;]+(?:\s*[上下]午[^\s，,；;]*)?)")
_DEFAULT_PLACE = re.compile(r"(?:献血)?地点\s*[:：]\s*([^\s，,；;]+)")

_SEQ_WORDS = {"序号", "编号", "序", "no", "no."}
_UNIT_WORDS = {
    "单位",
    "单位名称",
    "献血单位",
    "村别",
    "镇别",
    "乡镇",
    "部门",
    "单位部门",
    "乡镇街道",
    "镇街道",
    "乡镇(街道)",
    "镇(街道)",
    "镇(区)",
    "镇(区、街道)",
    "单位(部门)",
    "责任单位",
    "名称",
    "县区",
    "区县",
    "县市区",
    "县(市、区)",
    "地区",
    "乡镇名称",
}
_HEADCOUNT_WORDS = {
    "总人数",
    "职工总人数",
    "在职人数",
    "职工人数",
    "员工人数",
    "单位总人数",
    "在编人数",
    "干部职工人数",
    "适龄健康员工总人数",
    "适龄人数",
    "职工总数",
    "员工总数",
    "人员总数",
    "在职职工人数",
}
_TARGET_PREFIXES = (
    "任务数",
    "目标数",
    "计划任务",
    "计划数",
    "献血任务",
    "参加献血人数",
    "预约总数",
    "目标任务",
    "献血人数",
    "计划献血人数",
    "任务",
    "献血目标",
    "分配任务",
    "年度任务",
    "计划人数",
    "任务人数",
)
_PERIOD_WORDS = (
    "计划献血日期",
    "献血时间",
    "完成时间",
    "月份",
    "献血日期",
    "时间",
    "日期",
    "采血时间",
    "采血日期",
    "时间安排",
)
_TOTAL_COLUMN = {"合计", "小计", "月合计", "总计", "本月合计", "合计(人)"}


def header_role(value: object) -> str | None:
    """The column a header cell names, or None. "任务数（人）" → target, "单 位" → unit."""
    if not isinstance(value, str) or len(value) > 40 or value.strip().endswith("表"):
        return None
    return _header_role(value)


@lru_cache(maxsize=8192)
def _header_role(value: str) -> str | None:
    key = normalize_name(value)
    base = re.sub(r"\(.*?\)|\[.*?\]", "", key)
    if not base:
        return None
    if base in _SEQ_WORDS:
        return SEQ
    if "单位" in base and any(w in base for w in ("计划数", "任务", "目标")):
        return COMPOUND
    if base in _HEADCOUNT_WORDS or key in _HEADCOUNT_WORDS:
        return HEADCOUNT
    if base in _UNIT_WORDS or key in _UNIT_WORDS or base.endswith("单位名称"):
        return UNIT
    if base.startswith(_TARGET_PREFIXES):
        return TARGET
    if base in _TOTAL_COLUMN or key in _TOTAL_COLUMN:
        return TOTAL
    if "地点" in base:
        return LOCATION
    if any(base.startswith(w) or base.endswith(w) for w in _PERIOD_WORDS):
        return PERIOD
    if base == "备注":
        return REMARK
    return None


@dataclass
class Block:
    """One table of columns; a sheet printed two-up has two blocks side by side."""

    columns: dict[str, int]

    @property
    def has_quota_columns(self) -> bool:
        """A unit column and a number column, or a compound "单位及计划数" column beside another.

        A merged title ("…无偿献血任务分配表") repeats one text in every cell: each copy is a
        one-column block, never a table.
        """
        if COMPOUND in self.columns:
            return len(self.columns) >= 2
        return UNIT in self.columns and TARGET in self.columns


def find_blocks(row: list[object]) -> list[Block]:
    """The table blocks a header row declares; a role seen again starts the next block."""
    blocks: list[Block] = []
    current: dict[str, int] = {}
    for col, value in enumerate(row):
        role = header_role(value)
        if role is None:
            continue
        if role in current:
            blocks.append(Block(current))
            current = {}
        current[role] = col
    if current:
        blocks.append(Block(current))
    return [b for b in blocks if b.has_quota_columns]


def is_header_row(row: list[object]) -> bool:
    return bool(find_blocks(row))


@dataclass
class Issue:
    level: str  # "warning" or "error"
    message: str
    ref: str = ""
    text: str = ""
    # Not in the reading's JSON: KIND_YEAR for a year that differs from the import's, and for a
    # row's error the unit as printed in that row, so the preview shows the row where it stands.
    kind: str = ""
    unit: str = ""

    def as_dict(self) -> dict:
        return {"level": self.level, "ref": self.ref, "text": self.text, "message": self.message}


@dataclass
class ParsedRow:
    """One quota as the notice states it, with where it came from."""

    sheet: str
    unit: str
    members: list[str] | None
    target: int
    advisory: bool
    period_label: str | None
    start: dt.date | None
    end: dt.date | None
    location: str | None
    headcount: int | None
    seq: int | None
    cell: str
    row_index: int = 0
    annual: bool = False  # an annual quota printed inside a monthly row
    period_cell: str = ""  # where the period text stands (a merged cell's top-left)
    # A row read from a scan or photo (`Sheet.ocr`): the doubts to check before confirming
    # (a cell read with low confidence, a number that does not add up with a printed total,
    # a name matching no unit); None for every other format.
    flags: list[dict] | None = None
    # Read from a scan: where each of the row's cells stands, by role ("target" → "附件1!C4",
    # the anchor of a merged cell), so the preview can show the cell's image and staff correct
    # it. Not in the reading's JSON.
    ocr_cells: dict[str, str] | None = None

    def as_json(self) -> dict:
        document = {
            "unit": self.unit,
            "members": self.members,
            "target": self.target,
            "period_label": self.period_label,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "advisory": self.advisory,
            "location": self.location,
            "headcount": self.headcount,
            "seq": self.seq,
        }
        if self.flags is not None:
            document["flags"] = self.flags
        return document

    def flag(self, kind: str, ref: str, text: str, message: str) -> None:
        if self.flags is None:
            self.flags = []
        if not any(f["kind"] == kind and f["ref"] == ref and f["text"] == text for f in self.flags):
            self.flags.append({"kind": kind, "ref": ref, "text": text, "message": message})


@dataclass
class SheetReading:
    rows: list[ParsedRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    period_totals: dict[str, int] = field(default_factory=dict)
    declared_total: int | None = None
    found_table: bool = False
    total_rows: list[_TotalRow] = field(default_factory=list)


@dataclass
class _TotalRow:
    """A 合计/小计 row: the number it declares and where."""

    row_index: int
    label: str
    declared: int
    ref: str
    ocr: bool = False


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return clean_text(value)


def _is_total_label(text: str) -> bool:
    key = normalize_name(text)
    return key in _TOTAL_WORDS or key.startswith(("合计", "总计"))


def _row_text(row: list[object]) -> str:
    for value in row:
        text = _text(value)
        if text:
            return text
    return ""


def read_sheet(sheet: Sheet, year: int) -> SheetReading:
    """Every quota row of one sheet, in reading order: block by block, row by row."""
    reading = SheetReading()
    if sheet.problem:
        reading.issues.append(Issue("warning", sheet.problem))
        return reading
    if not any(any(v is not None and _text(v) for v in row) for row in sheet.rows):
        reading.issues.append(Issue("warning", WARN_EMPTY_SHEET.format(sheet=sheet.name)))
        return reading
    if sheet.formula_cells:
        reading.issues.append(Issue("warning", WARN_FORMULAS.format(sheet=sheet.name, count=sheet.formula_cells)))

    header_index = next((i for i, row in enumerate(sheet.rows) if is_header_row(row)), None)
    if header_index is None:
        reading.issues.append(Issue("warning", WARN_NO_TABLE.format(sheet=sheet.name)))
        return reading
    reading.found_table = True
    blocks = find_blocks(sheet.rows[header_index])
    default_period, default_place = _defaults_above(sheet, header_index)
    _check_title_year(sheet, header_index, year, reading)
    for block in blocks:
        start = len(reading.rows)
        _read_block(sheet, block, header_index, year, default_period, default_place, reading)
        if sheet.ocr:
            _check_ocr_seq(sheet, reading, start)
    _check_total_rows(reading)
    return reading


KIND_YEAR = "year"
WARN_TITLE_YEAR = "{ref} 的标题写的是 {found} 年，而导入的年度是 {year} 年：请确认年度，否则所有日期都会错一年。"
# "2012年无偿献血任务分配表", "2012年度…"; not a date such as "2022年12月20日" (a table issued
# in December for the next year).
_TITLE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月)")


def _check_title_year(sheet: Sheet, header_index: int, year: int, reading: SheetReading) -> None:
    """A year in the title rows above the header that is not the import's year: a loud warning
    (importing a 2012 table into 2013 would silently move every period by a year)."""
    for r, row in enumerate(sheet.rows[:header_index]):
        for c, value in enumerate(row):
            found = {int(y) for y in _TITLE_YEAR.findall(_text(value))}
            if found and year not in found:
                ref = sheet.ref(r, c)
                message = WARN_TITLE_YEAR.format(ref=ref, found="、".join(map(str, sorted(found))), year=year)
                reading.issues.append(Issue("warning", message, ref, _text(value)[:80], kind=KIND_YEAR))
                return


def _defaults_above(sheet: Sheet, header_index: int) -> tuple[str | None, str | None]:
    """A date and place written once for the whole table in the rows above its header."""
    period = place = None
    for row in sheet.rows[:header_index]:
        text = " ".join(_text(v) for v in row if v is not None)
        if not period and (m := _DEFAULT_PERIOD.search(text)):
            period = m.group(1)
        if not place and (m := _DEFAULT_PLACE.search(text)):
            place = m.group(1)
    return period, place


@dataclass
class _TotalCheck:
    declared: int
    label: str
    ref: str
    computed: int = 0
    rows: list[int] = field(default_factory=list)  # indexes into the reading's rows


def _read_block(sheet, block, header_index, year, default_period, default_place, reading):
    cols = block.columns
    carried_period: object = default_period
    total_groups: dict[tuple[int, int], _TotalCheck] = {}
    for r in range(header_index + 1, len(sheet.rows)):
        row = sheet.rows[r]
        unit_col = cols.get(COMPOUND, cols.get(UNIT))
        if header_role(sheet.value(r, unit_col)) in (UNIT, COMPOUND) and is_header_row(row):
            continue  # the header again after a page break
        unit_raw = sheet.value(r, unit_col)
        unit_text = _text(unit_raw)
        lead_text = _row_text(row)
        if lead_text and _FOOTNOTE.match(lead_text) and not _looks_like_data(sheet, r, cols):
            continue
        period_raw = sheet.value(r, cols[PERIOD]) if PERIOD in cols else None
        if _text(period_raw):
            carried_period = period_raw
        seq_text = _text(sheet.value(r, cols[SEQ])) if SEQ in cols else ""
        if (
            _is_total_label(unit_text)
            or (not unit_text and _is_total_label(seq_text))
            or _is_total_label(_text(period_raw))
        ):
            _record_total_row(sheet, r, cols, unit_col, reading)
            continue
        if not unit_text:
            if sheet.ocr and TARGET in cols and (number := _number_or_none(sheet.value(r, cols[TARGET]))):
                ref = sheet.ref(r, unit_col)
                message = WARN_OCR_NO_UNIT.format(ref=ref, number=number.value)
                reading.issues.append(Issue("warning", message, ref, str(number.value)))
            continue
        if len(unit_text) > MAX_CELL_CHARS or (COMPOUND not in cols and len(unit_text) > 300):
            reading.issues.append(
                Issue(
                    "error",
                    ERROR_CELL_TOO_LONG.format(ref=sheet.ref(r, unit_col), length=len(unit_text)),
                    sheet.ref(r, unit_col),
                    unit_text[:80],
                )
            )
            continue
        context = _RowContext(sheet, r, cols, year, carried_period, default_place, reading)
        first_new = len(reading.rows)
        if COMPOUND in cols:
            added = _read_compound(context, unit_col, unit_text)
        else:
            added = _read_simple(context, unit_col, unit_text)
        if TOTAL in cols and added is not None:
            anchor = sheet.anchor(r, cols[TOTAL])
            declared = _number_or_none(sheet.value(r, cols[TOTAL]))
            if declared is not None:
                check = total_groups.setdefault(
                    anchor,
                    _TotalCheck(declared.value, context.period_label or "", sheet.ref(*anchor)),
                )
                check.computed += added
                check.rows.extend(range(first_new, len(reading.rows)))
    for check in total_groups.values():
        if check.label:
            reading.period_totals[check.label] = check.declared
        if check.declared != check.computed:
            if sheet.ocr:
                _flag_total(reading, check.rows, check.ref, check.declared, check.computed)
            reading.issues.append(
                Issue(
                    "warning",
                    WARN_TOTAL_MISMATCH.format(ref=check.ref, declared=check.declared, computed=check.computed),
                    check.ref,
                    str(check.declared),
                )
            )


def _looks_like_data(sheet: Sheet, r: int, cols: dict[str, int]) -> bool:
    """A footnote-looking first cell in a row that still holds a task number is data."""
    if TARGET not in cols:
        return False
    try:
        return parse_number(sheet.value(r, cols[TARGET])) is not None
    except ValueError:
        return False


def _number_or_none(value: object) -> Number | None:
    try:
        return parse_number(value)
    except ValueError:
        return None


@dataclass
class _RowContext:
    sheet: Sheet
    r: int
    cols: dict[str, int]
    year: int
    period_raw: object
    default_place: str | None
    reading: SheetReading
    period_label: str | None = None

    def error(self, col: int, message: str) -> None:
        ref = self.sheet.ref(self.r, col)
        unit_col = self.cols.get(COMPOUND, self.cols.get(UNIT))
        unit = _text(self.sheet.value(self.r, unit_col))[:200] if unit_col is not None else ""
        text = _text(self.sheet.value(self.r, col))[:200]
        self.reading.issues.append(Issue("error", f"{ref}：{message}", ref, text, unit=unit))

    def common(self) -> dict | None:
        """Period, place, headcount and 序号 of this row, or None after recording an error."""
        sheet, r, cols = self.sheet, self.r, self.cols
        label = _text(self.period_raw) or None
        try:
            period = parse_period(self.period_raw, self.year)
        except PeriodError as exc:
            self.error(cols.get(PERIOD, 0), str(exc))
            return None
        self.period_label = label
        period_cell = ""
        if PERIOD in cols and label:
            period_cell = sheet.ref(*sheet.anchor(r, cols[PERIOD]))
        headcount = None
        if HEADCOUNT in cols:
            try:
                number = parse_number(sheet.value(r, cols[HEADCOUNT]))
            except ValueError as exc:
                self.error(cols[HEADCOUNT], str(exc))
                return None
            headcount = number.value if number else None
        location = _text(sheet.value(r, cols[LOCATION])) if LOCATION in cols else ""
        return {
            "period_label": label,
            "start": period.start if period else None,
            "end": period.end if period else None,
            "location": location or self.default_place or None,
            "headcount": headcount,
            "seq": parse_seq(sheet.value(r, cols[SEQ])) if SEQ in cols else None,
            "period_cell": period_cell,
        }

    def add(self, unit: str, number: Number, common: dict, col: int, *, annual: bool = False) -> None:
        fields = dict(common)
        if annual:
            fields.update(period_label="全年", start=dt.date(self.year, 1, 1), end=dt.date(self.year, 12, 31))
        self.reading.rows.append(
            ParsedRow(
                sheet=self.sheet.name,
                unit=unit,
                members=split_members(unit),
                target=number.value,
                advisory=number.advisory,
                cell=self.sheet.ref(self.r, col),
                row_index=self.r,
                annual=annual and bool(common["period_label"]),
                flags=_ocr_flags(self.sheet, self.r, self.cols) if self.sheet.ocr else None,
                ocr_cells=_ocr_cells(self.sheet, self.r, self.cols, col) if self.sheet.ocr else None,
                **fields,
            )
        )


def _read_simple(ctx: _RowContext, unit_col: int, unit_text: str) -> int | None:
    """One unit (or one group) and its number. Returns what the row adds to a 合计 check."""
    target_col = ctx.cols[TARGET]
    raw = ctx.sheet.value(ctx.r, target_col)
    try:
        number = parse_number(raw)
    except ValueError as exc:
        ctx.error(target_col, str(exc))
        return None
    if number is None:
        ref = ctx.sheet.ref(ctx.r, unit_col)
        ctx.reading.issues.append(Issue("warning", WARN_NO_TARGET.format(ref=ref, unit=unit_text), ref, unit_text))
        return None
    common = ctx.common()
    if common is None:
        return None
    name, annual_name = split_annual(unit_text)
    annual = annual_name or number.annual
    ctx.add(name, number, common, unit_col, annual=annual)
    return 0 if (number.advisory or annual) else number.value


def _read_compound(ctx: _RowContext, col: int, text: str) -> int | None:
    """ "组织部7；宣传部5；" → one quota per unit; annual items are left out of the row's 合计."""
    try:
        items = split_compound(text)
    except ValueError as exc:
        ctx.error(col, str(exc))
        return None
    common = ctx.common()
    if common is None:
        return None
    counted = 0
    for item in items:
        name, annual_name = split_annual(item.name)
        annual = annual_name or item.number.annual
        ctx.add(name, item.number, common, col, annual=annual)
        if not (annual or item.number.advisory):
            counted += item.number.value
    return counted


def _record_total_row(sheet: Sheet, r: int, cols: dict[str, int], unit_col: int, reading: SheetReading) -> None:
    """A 合计 row: keep its number to check the rows against once the sheet is read."""
    target_col = cols.get(TARGET, cols.get(TOTAL))
    if target_col is None:
        return
    number = _number_or_none(sheet.value(r, target_col))
    if number is None:
        return
    label = normalize_name(_text(sheet.value(r, unit_col)) or _text(sheet.value(r, cols.get(SEQ, unit_col))))
    reading.total_rows.append(_TotalRow(r, label, number.value, sheet.ref(r, target_col), sheet.ocr))


def _flag_total(reading: SheetReading, indexes: list[int], ref: str, declared: int, computed: int) -> None:
    """A scanned table whose rows do not add up to its printed total: every row of the sum is
    in doubt (one of them, or the total, was misread)."""
    message = FLAG_MESSAGES[FLAG_TOTAL].format(ref=ref, declared=declared, computed=computed)
    for i in indexes:
        reading.rows[i].flag(FLAG_TOTAL, ref, str(declared), message)


def _ocr_flags(sheet: Sheet, r: int, cols: dict[str, int]) -> list[dict]:
    """The doubtful cells a scanned row was read from (`ocr.OcrText.doubtful`)."""
    flags = []
    seen = set()
    for col in cols.values():
        anchor = sheet.anchor(r, col)
        if anchor in seen:
            continue
        seen.add(anchor)
        value = sheet.value(r, col)
        if getattr(value, "doubtful", False):
            ref = sheet.ref(*anchor)
            message = FLAG_MESSAGES[FLAG_OCR_CONFIDENCE].format(
                ref=ref, confidence=int(value.certainty * 100), text=str(value)
            )
            flags.append({"kind": FLAG_OCR_CONFIDENCE, "ref": ref, "text": str(value), "message": message})
    return flags


def _ocr_cells(sheet: Sheet, r: int, cols: dict[str, int], unit_col: int) -> dict[str, str]:
    """Each role's cell of a scanned row, by its anchor's address (the unit's is the row's own)."""
    cells = {role: sheet.ref(*sheet.anchor(r, col)) for role, col in cols.items() if role != REMARK}
    cells[COMPOUND if COMPOUND in cols else UNIT] = sheet.ref(*sheet.anchor(r, unit_col))
    return cells


def _check_ocr_seq(sheet: Sheet, reading: SheetReading, start: int) -> None:
    """In a scanned table, 序号 that do not follow each other: a row read twice or left out."""
    previous = None
    for row in reading.rows[start:]:
        if row.sheet != sheet.name or row.seq is None:
            continue
        if previous is not None and row.seq not in (previous.seq, previous.seq + 1, 1):
            ref = row.cell
            message = FLAG_MESSAGES[FLAG_SEQ].format(ref=ref, seq=row.seq, previous=previous.seq)
            row.flag(FLAG_SEQ, ref, str(row.seq), message)
            previous.flag(FLAG_SEQ, ref, str(row.seq), message)
        previous = row


def _check_total_rows(reading: SheetReading) -> None:
    """Check each 合计 row against the rows above it (a 小计 only since the previous 小计).

    Advisory numbers are never summed; annual quotas inside a monthly row are left out, as
    the notices' own totals leave them out.
    """
    since = -1
    for total in sorted(reading.total_rows, key=lambda t: t.row_index):
        subtotal = total.label.startswith("小计")
        lower = since if subtotal else -1
        computed = sum(
            row.target
            for row in reading.rows
            if lower < row.row_index < total.row_index and not row.advisory and not row.annual
        )
        if not subtotal:
            reading.declared_total = total.declared
        if total.declared != computed and total.ocr:
            indexes = [
                i
                for i, row in enumerate(reading.rows)
                if lower < row.row_index < total.row_index and not row.advisory and not row.annual
            ]
            _flag_total(reading, indexes, total.ref, total.declared, computed)
        if total.declared != computed:
            reading.issues.append(
                Issue(
                    "warning",
                    WARN_TOTAL_MISMATCH.format(ref=total.ref, declared=total.declared, computed=computed),
                    total.ref,
                    str(total.declared),
                )
            )
        since = total.row_index

"""Read a donor roster (无偿献血者人员名单) the way units keep it: header found by vocabulary.

Pure Python: 序号, 姓名, 性别, 身份证号, 献血日期, 献血量, 献血类型, 单位, 手机 in any order, with
title and footnote rows around them, in .xlsx/.xls/.csv/.docx (the notice reader's grids).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from quotas.notice.grid import GridError, read_grids
from quotas.notice.periods import PeriodError, parse_period
from units.naming import clean_text, normalize_name, to_halfwidth

ERROR_NO_HEADER = "没有找到名单表头：需要“姓名”“身份证号”“献血日期”等列。"
ERROR_NO_ROWS = "名单表头下面没有献血者：表格是空的。"
ERROR_DATE = "献血日期无法识别：“{text}”"
ERROR_AMOUNT = "献血量无法识别：“{text}”（全血填 200/300/400，血小板填 1 或 2 个治疗量）"
ERROR_MISSING = "缺少{what}。"
ERROR_ID_AS_NUMBER = "Excel 把身份证号转成了数字，请把该列设为文本后重新填写（{cell}：{text}）。"
ERROR_DECLARED = "“曾献血（本系统外）”列无法识别：“{text}”（填“是”或留空）"
# A sheet of notes and the example row (the template's 说明和示例) is never read as donors, nor a
# row whose 序号 says it is an example. The English template's words too (compared in lower case).
NOTES_SHEET_WORDS = ("说明", "示例", "notes", "example")
EXAMPLE_MARKS = ("示例", "例", "example")
_YES = {"是", "有", "y", "yes", "true", "1", "√", "✓", "曾献血"}
_NO = {"", "否", "无", "n", "no", "false", "0", "-", "—"}
# A number Excel made of an ID: 3.60426E+17 as text (a CSV saved by Excel), or digits lost.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?e\+?\d+", re.IGNORECASE)

NAME, ID, SEX, DATE, AMOUNT, KIND = "name", "id", "sex", "date", "amount", "kind"
UNIT, PHONE, SEQ, DECLARED = "unit", "phone", "seq", "declared"
_ROLES = [
    (SEQ, ("序号", "编号")),
    (ID, ("身份证号", "身份证号码", "证件号码", "身份证", "公民身份号码")),
    (NAME, ("姓名", "献血者姓名", "献血者")),
    (SEX, ("性别",)),
    (DATE, ("献血日期", "献血时间", "日期", "采血日期")),
    (AMOUNT, ("献血量", "献血量(ml)", "献血量(毫升)", "血量", "献血量(ml/治疗量)")),
    (KIND, ("献血类型", "类型", "献血方式", "血液成分")),
    (UNIT, ("单位", "工作单位", "所在单位", "单位名称")),
    (PHONE, ("手机", "手机号", "联系电话", "电话", "手机号码")),
    (DECLARED, ("曾献血(本系统外)", "曾献血", "有献血史", "既往献血", "既往献血史")),
]
# The headers of the template downloaded in English (its translation of TEMPLATE_HEADER), and
# their plain variants, normalised as header cells are.
_ENGLISH = {
    SEQ: ("No.", "No", "Seq"),
    ID: ("ID number", "ID", "ID no."),
    NAME: ("Name", "Donor name", "Donor"),
    SEX: ("Sex",),
    DATE: ("Donation date", "Date", "Donated on"),
    AMOUNT: ("Amount", "Volume", "Volume (ml)"),
    KIND: ("Kind", "Type"),
    UNIT: ("Unit",),
    PHONE: ("Mobile", "Mobile phone", "Phone"),
    DECLARED: ("Donated before", "Donated before (outside this portal)"),
}
_ROLES = [(role, words + tuple(normalize_name(w) for w in _ENGLISH[role])) for role, words in _ROLES]
TEMPLATE_HEADER = [
    "序号",
    "姓名",
    "性别",
    "身份证号",
    "献血日期",
    "献血量",
    "献血类型",
    "单位",
    "手机",
    "曾献血（本系统外）",
]


@dataclass
class RosterRow:
    ref: str
    name: str
    id_number: str
    donated_on: dt.date | None
    kind: str
    amount: int | None
    unit: str
    phone: str
    declared_history: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class RosterReading:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def header_role(value: object, roles) -> str | None:
    """The role a header cell names in `roles` ((role, words) pairs), by its normalised text
    with or without a parenthesised unit ("献血量(ml)"); None for anything else. The station
    export's reader uses it with its own words."""
    if not isinstance(value, str):
        return None
    full = normalize_name(value)
    key = re.sub(r"\(.*?\)", "", full)
    for role, words in roles:
        if key in words or full in words:
            return role
    return None


def _role(value: object) -> str | None:
    return header_role(value, _ROLES)


def cell_text(value: object) -> str:
    """A cell as text: 12.0 read from a spreadsheet is "12", whitespace cleaned."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


_text = cell_text


def id_made_a_number(value: object) -> bool:
    """Excel turned the ID into a number: a numeric cell, or its text in scientific notation."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_SCIENTIFIC.fullmatch(to_halfwidth(value.strip())))


def parse_declared(value: object) -> bool:
    text = to_halfwidth(_text(value)).lower()
    if value is True or text in _YES:
        return True
    if value is False or value is None or text in _NO:
        return False
    raise ValueError(ERROR_DECLARED.format(text=text))


def parse_day(value: object, today: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = to_halfwidth(_text(value))
    if m := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text):  # 20260305
        text = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    try:
        period = parse_period(text, today.year)
    except PeriodError:
        period = None
    if period is None or period.start != period.end:
        raise ValueError(ERROR_DATE.format(text=text))
    return period.start


def parse_amount(value: object, kind_text: str) -> tuple[str, int]:
    """("whole", 400) or ("platelets", 2) from "400", "400ml", "2个治疗量", kind "单采血小板"."""
    text = to_halfwidth(_text(value)).lower()
    platelets = any(word in kind_text.lower() for word in ("血小板", "单采", "platelet")) or "治疗量" in text
    match = re.search(r"\d+", text)
    if not match:
        raise ValueError(ERROR_AMOUNT.format(text=text))
    amount = int(match.group())
    if not platelets and amount in (1, 2) and "ml" not in text and "毫升" not in text:
        platelets = True
    return ("platelets" if platelets else "whole"), amount


def read_roster(data: bytes, filename: str, *, today: dt.date) -> RosterReading:
    """Every donor row of every sheet; row problems are kept on the row, file problems on the reading."""
    reading = RosterReading()
    try:
        grids = read_grids(data, filename)
    except GridError as exc:
        reading.errors.append(str(exc))
        return reading
    found = False
    problems = [sheet.problem for sheet in grids if sheet.problem]
    for sheet in grids:
        if any(word in sheet.name.lower() for word in NOTES_SHEET_WORDS):
            continue
        header = None
        for r, row in enumerate(sheet.rows):
            roles = {}
            for c, value in enumerate(row):
                role = _role(value)
                if role and role not in roles:
                    roles[role] = c
            if NAME in roles and ID in roles:
                header, columns = r, roles
                break
        if header is None:
            continue
        found = True
        for r in range(header + 1, len(sheet.rows)):
            cells = {role: sheet.value(r, c) for role, c in columns.items()}
            get = cells.get
            name, number = _text(get(NAME)), _text(get(ID))
            if not name and not number:
                continue
            if _role(get(NAME)) == NAME:  # header repeated after a page break
                continue
            if SEQ in columns and _text(get(SEQ)).lower().startswith(EXAMPLE_MARKS):
                continue
            item = RosterRow(
                ref=sheet.ref(r, columns[NAME]),
                name=name,
                id_number=number,
                donated_on=None,
                kind="whole",
                amount=None,
                unit=_text(get(UNIT)),
                phone=_text(get(PHONE)),
            )
            if not name:
                item.errors.append(ERROR_MISSING.format(what="姓名"))
            if not number:
                item.errors.append(ERROR_MISSING.format(what="身份证号"))
            elif id_made_a_number(get(ID)):
                item.errors.append(ERROR_ID_AS_NUMBER.format(cell=sheet.ref(r, columns[ID]), text=number))
            if DECLARED in columns:
                try:
                    item.declared_history = parse_declared(get(DECLARED))
                except ValueError as exc:
                    item.errors.append(str(exc))
            try:
                item.donated_on = parse_day(get(DATE), today)
            except ValueError as exc:
                item.errors.append(str(exc))
            try:
                item.kind, item.amount = parse_amount(get(AMOUNT) if AMOUNT in columns else "400", _text(get(KIND)))
            except ValueError as exc:
                item.errors.append(str(exc))
            reading.rows.append(item)
    if not found:
        reading.errors.append(ERROR_NO_HEADER)
        reading.errors.extend(problems)  # a table that could not be read may have been the roster
    elif not reading.rows:
        reading.errors.append(ERROR_NO_ROWS)
    return reading

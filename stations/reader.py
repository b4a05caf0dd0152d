"""Read the blood station's collection export: header found by vocabulary, any column order.

Pure Python (no Django import), run in the bounded child process like every upload
(`core.sandbox.run_bounded`), over the notice reader's grids (.xlsx, .xls, GBK/UTF-8 CSV).
Row problems are kept on the row with its cell reference; file problems on the reading.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from campaigns.rosters.reader import cell_text, header_role, parse_day
from quotas.notice.grid import GridError, read_grids
from units.naming import to_halfwidth

ERROR_NO_HEADER = "没有找到血站采血记录的表头：需要“姓名”“证件号码”“献血日期”等列。"
ERROR_NO_ROWS = "表头下面没有采血记录：表格是空的。"
ERROR_MISSING = "缺少{what}。"
ERROR_KIND = "献血类型无法识别：“{text}”（全血或机采血小板）"
ERROR_AMOUNT = "献血量无法识别：“{text}”（全血填毫升数，血小板填治疗量）"

NAME, SEX, ID, DATE, KIND, AMOUNT, PLACE, WORKPLACE, CODE = (
    "name",
    "sex",
    "id",
    "date",
    "kind",
    "amount",
    "place",
    "workplace",
    "code",
)
_ROLES = [
    (NAME, ("姓名", "献血者姓名", "献血者")),
    (SEX, ("性别",)),
    (ID, ("证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号")),
    (DATE, ("献血日期", "采血日期", "献血时间", "采血时间")),
    (KIND, ("献血类型", "血液成分", "献血方式", "采血类型", "成分")),
    (AMOUNT, ("献血量", "采血量", "献血量(ml)", "采血量(ml)", "献血量(毫升)", "采血量(毫升)", "治疗量", "数量")),
    (PLACE, ("献血地点", "采血点", "采血地点", "献血点")),
    (WORKPLACE, ("工作单位", "单位", "单位名称", "所在单位")),
    (CODE, ("献血码", "条码", "流水号", "献血条码", "血袋条码", "献血编号")),
]
_PLATELET_WORDS = ("血小板", "机采", "单采", "成分")


@dataclass(slots=True)
class StationRow:
    ref: str
    name: str
    sex: str
    id_number: str
    collected_on: dt.date | None
    kind: str
    amount: int | None
    place: str
    workplace: str
    code: str
    errors: list[str] = field(default_factory=list)


@dataclass
class StationReading:
    rows: list[StationRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _role(value: object) -> str | None:
    return header_role(value, _ROLES)


_text = cell_text


def parse_kind_amount(kind_text: str, amount_value: object) -> tuple[str, int]:
    """("whole", 400) from 全血 / "400ml"; ("platelets", 1) from 机采血小板 / "1治疗量"."""
    text = to_halfwidth(_text(amount_value)).lower()
    kind = to_halfwidth(kind_text)
    if kind and not (any(w in kind for w in _PLATELET_WORDS) or "全血" in kind):
        raise ValueError(ERROR_KIND.format(text=kind_text))
    platelets = any(w in kind for w in _PLATELET_WORDS) or "治疗量" in text
    match = re.search(r"\d+(\.\d+)?", text)
    if not match:
        raise ValueError(ERROR_AMOUNT.format(text=text))
    amount = float(match.group())
    if not amount.is_integer():
        raise ValueError(ERROR_AMOUNT.format(text=text))
    return ("platelets" if platelets else "whole"), int(amount)


class _Memo:
    """Parse each distinct date cell and kind/amount pair once: an export of 100,000 rows holds
    a few hundred of each. The result or the error message is kept, so every row gets what the
    parser says for its value."""

    def __init__(self, today: dt.date):
        self.today = today
        self.days: dict[tuple, tuple[dt.date | None, str]] = {}
        self.amounts: dict[tuple, tuple[tuple[str, int] | None, str]] = {}

    def day(self, value: object) -> dt.date:
        key = (type(value), value)  # 1, 1.0 and True are equal keys but different cells
        try:
            found = self.days.get(key)
        except TypeError:  # an unhashable cell value: parse it every time
            return parse_day(value, self.today)
        if found is None:
            try:
                found = (parse_day(value, self.today), "")
            except ValueError as exc:
                found = (None, str(exc))
            self.days[key] = found
        if found[1]:
            raise ValueError(found[1])
        return found[0]

    def kind_amount(self, kind_text: str, amount_value: object) -> tuple[str, int]:
        key = (kind_text, type(amount_value), amount_value)
        try:
            found = self.amounts.get(key)
        except TypeError:
            return parse_kind_amount(kind_text, amount_value)
        if found is None:
            try:
                found = (parse_kind_amount(kind_text, amount_value), "")
            except ValueError as exc:
                found = (None, str(exc))
            self.amounts[key] = found
        if found[1]:
            raise ValueError(found[1])
        return found[0]


def read_station_export(data: bytes, filename: str, *, today: dt.date) -> StationReading:
    """Every collection row of every sheet that has the station's header."""
    reading = StationReading()
    memo = _Memo(today)
    # One string object for each distinct place, workplace and sex: a few hundred texts
    # repeated over 100,000 rows, kept once here, in the pickle to the parent and in its rows.
    texts: dict[str, str] = {}

    def shared(text: str) -> str:
        return texts.setdefault(text, text)

    try:
        grids = read_grids(data, filename)
    except GridError as exc:
        reading.errors.append(str(exc))
        return reading
    found = False
    for sheet in grids:
        header = columns = None
        for r, row in enumerate(sheet.rows):
            roles: dict[str, int] = {}
            for c, value in enumerate(row):
                role = _role(value)
                if role and role not in roles:
                    roles[role] = c
            if NAME in roles and ID in roles and DATE in roles:
                header, columns = r, roles
                break
        if header is None:
            continue
        found = True
        # A sheet without merged cells (every CSV) is read straight from its stored cells.
        cells = None if sheet.merges else sheet.cells
        for r in range(header + 1, len(sheet.cells)):
            if cells is None:
                get = {role: sheet.value(r, c) for role, c in columns.items()}.get
            else:
                line = cells[r]
                width = len(line)
                get = {role: line[c] if c < width else None for role, c in columns.items()}.get
            name, number = _text(get(NAME)), _text(get(ID))
            if not name and not number:
                continue
            if _role(get(NAME)) == NAME:  # header repeated after a page break
                continue
            item = StationRow(
                ref=sheet.ref(r, columns[NAME]),
                name=name,
                sex=shared(_text(get(SEX))),
                id_number=number,
                collected_on=None,
                kind="whole",
                amount=None,
                place=shared(_text(get(PLACE))[:200]),
                workplace=shared(_text(get(WORKPLACE))[:200]),
                code=to_halfwidth(_text(get(CODE)))[:80],
            )
            if not name:
                item.errors.append(ERROR_MISSING.format(what="姓名"))
            if not number:
                item.errors.append(ERROR_MISSING.format(what="证件号码"))
            try:
                item.collected_on = memo.day(get(DATE))
            except ValueError as exc:
                item.errors.append(str(exc))
            try:
                item.kind, item.amount = memo.kind_amount(_text(get(KIND)), get(AMOUNT) if AMOUNT in columns else "")
            except ValueError as exc:
                item.errors.append(str(exc))
            reading.rows.append(item)
    if not found:
        reading.errors.append(ERROR_NO_HEADER)
        reading.errors.extend(sheet.problem for sheet in grids if sheet.problem)
    elif not reading.rows:
        reading.errors.append(ERROR_NO_ROWS)
    return reading

"""A simple sheet of unit headcounts (单位名称 + 总人数 / 适龄员工数), read from grids.

Pure Python. The header row is found by its vocabulary, as the notice reader finds a quota
table's: a unit column (单位, 单位名称, …) and a headcount column (总人数, 职工人数, 适龄员工数, …),
wherever they stand and whatever is above them. Each following row with a name gives one
headcount; a row with a name and no number is skipped with a warning, a number that is not a
whole non-negative number is an error naming its cell, and the same unit twice is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from units.naming import clean_text, normalize_name

from ..notice.grid import GridError, Sheet, read_grids
from ..notice.layouts import HEADCOUNT, UNIT, Issue, header_role
from ..notice.values import parse_number

# Besides the notice reader's headcount words: how headcount sheets name their column.
EXTRA_HEADCOUNT_WORDS = {"适龄员工数", "适龄员工人数", "适龄健康员工数", "适龄健康员工人数", "员工数", "人数"}

ERROR_NO_HEADER = "没有找到表头：需要一列单位名称（单位/单位名称）和一列人数（总人数/适龄员工数）。"
ERROR_DUPLICATE = "{ref}：单位“{name}”重复出现（第一次在 {first}）。"
WARN_NO_NUMBER = "{ref}：单位“{name}”没有人数，已跳过。"


@dataclass
class HeadcountRow:
    name: str
    headcount: int
    ref: str


@dataclass
class HeadcountReading:
    rows: list[HeadcountRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


def _role(value: object) -> str | None:
    role = header_role(value)
    if role in (UNIT, HEADCOUNT):
        return role
    if isinstance(value, str) and normalize_name(value) in EXTRA_HEADCOUNT_WORDS:
        return HEADCOUNT
    return None


def _header(sheet: Sheet) -> tuple[int, int, int] | None:
    """(header row, unit column, headcount column) of the first row naming both."""
    for r, row in enumerate(sheet.rows):
        columns: dict[str, int] = {}
        for c, value in enumerate(row):
            role = _role(value)
            if role and role not in columns:
                columns[role] = c
        if UNIT in columns and HEADCOUNT in columns:
            return r, columns[UNIT], columns[HEADCOUNT]
    return None


def read_headcounts(sheets: list[Sheet]) -> HeadcountReading:
    """Every (unit name, headcount) of the first sheet that has a header; see the module."""
    reading = HeadcountReading()
    seen: dict[str, str] = {}
    for sheet in sheets:
        found = _header(sheet)
        if found is None:
            continue
        header, unit_col, count_col = found
        for r in range(header + 1, len(sheet.rows)):
            name = clean_text(sheet.value(r, unit_col))
            if not name or _role(name) == UNIT:
                continue
            ref = sheet.ref(r, count_col)
            try:
                number = parse_number(sheet.value(r, count_col))
            except ValueError as exc:
                reading.errors.append(Issue("error", f"{ref}：{exc}", ref, clean_text(sheet.value(r, count_col))))
                continue
            if number is None:
                reading.warnings.append(Issue("warning", WARN_NO_NUMBER.format(ref=ref, name=name), ref, name))
                continue
            key = normalize_name(name)
            if key in seen:
                message = ERROR_DUPLICATE.format(ref=sheet.ref(r, unit_col), name=name, first=seen[key])
                reading.errors.append(Issue("error", message, sheet.ref(r, unit_col), name))
                continue
            seen[key] = sheet.ref(r, unit_col)
            reading.rows.append(HeadcountRow(name=name, headcount=number.value, ref=sheet.ref(r, unit_col)))
        return reading
    reading.errors.append(Issue("error", ERROR_NO_HEADER))
    return reading


def read_headcount_file(data: bytes, filename: str) -> HeadcountReading:
    """A headcount sheet as uploaded: the grids, then `read_headcounts`; a file the grid reader
    refuses is a reading with that error. Run in the bounded child process (core.sandbox)."""
    try:
        return read_headcounts(read_grids(data, filename))
    except GridError as exc:
        return HeadcountReading(errors=[Issue("error", str(exc))])

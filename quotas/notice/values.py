"""Cell values of notice tables: task numbers, headcounts, 序号, unit-name groups.

Pure Python: each function takes what a reader gives for a cell (int, float, str, date or None)
and returns plain values or raises `ValueError` with a message for staff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from units.naming import cjk_count, clean_text, to_halfwidth

ERROR_NOT_A_NUMBER = "不是有效的人数：“{text}”"
ERROR_NEGATIVE = "人数不能为负数：“{text}”"
ERROR_FRACTION = "人数必须是整数：“{text}”"

_ANNUAL = re.compile(r"[(（]\s*全\s*年\s*[)）]\s*$")
_NUMBER = re.compile(r"^([(（])?\s*(-?\d+(?:\.\d+)?)\s*([)）])?$")
_UNIT_WORDS = re.compile(r"(?:人次|人份|名|人|个)$")
# Endings of organisation names, used to tell "公司A 公司B" (a group) from "94987 部队" (one name).
ORG_SUFFIXES = (
    "公司",
    "集团",
    "银行",
    "行",
    "局",
    "委",
    "办",
    "部",
    "院",
    "校",
    "所",
    "中心",
    "站",
    "队",
    "厂",
    "镇",
    "乡",
    "街道",
    "村",
    "社",
    "会",
    "馆",
    "处",
    "室",
    "园区",
    "区",
    "店",
    "台",
    "场",
    "团",
    "署",
    "组",
)
_GROUP_SEPARATORS = re.compile(r"[、/／]")


@dataclass(frozen=True)
class Number:
    value: int
    advisory: bool = False  # printed in parentheses: guidance only, never summed
    annual: bool = False  # "600（全年）": an annual quota inside a monthly row


def parse_number(raw: object) -> Number | None:
    """A task number or headcount: 12, 12.0, "12 ", "１２", "12人", "(60)", "600（全年）"."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError(ERROR_NEGATIVE.format(text=raw))
        return Number(raw)
    if isinstance(raw, float):
        if raw != raw or not raw.is_integer():  # NaN or a fraction
            raise ValueError(ERROR_FRACTION.format(text=raw))
        if raw < 0:
            raise ValueError(ERROR_NEGATIVE.format(text=raw))
        return Number(int(raw))
    text = to_halfwidth(clean_text(raw))
    if not text:
        return None
    annual = bool(_ANNUAL.search(text))
    if annual:
        text = _ANNUAL.sub("", text).strip()
    text = _UNIT_WORDS.sub("", text.replace(",", "")).strip()
    match = _NUMBER.match(text)
    if not match or bool(match.group(1)) != bool(match.group(3)):
        raise ValueError(ERROR_NOT_A_NUMBER.format(text=clean_text(raw)))
    number = float(match.group(2))
    if not number.is_integer():
        raise ValueError(ERROR_FRACTION.format(text=clean_text(raw)))
    if number < 0:
        raise ValueError(ERROR_NEGATIVE.format(text=clean_text(raw)))
    return Number(int(number), advisory=bool(match.group(1)), annual=annual)


def parse_seq(raw: object) -> int | None:
    """序号: 1, "1 ", "１", 1.0; anything else (e.g. "一") is not a number and gives None."""
    try:
        number = parse_number(raw)
    except ValueError:
        return None
    return number.value if number else None


def split_annual(name: str) -> tuple[str, bool]:
    """ "卫健系统（全年）" -> ("卫健系统", True)."""
    if _ANNUAL.search(name):
        return _ANNUAL.sub("", name).strip(), True
    return name, False


_OPEN, _CLOSE = "(（[［【〔", ")）]］】〕"
_INCLUDING = ("含", "包括")


def _top_level_parts(name: str) -> list[str]:
    """`name` split at 、 and / outside brackets and before any 含/包括: "市教育局(含市一中、市实验
    小学)" and "教育局含一中、二中" are one unit with its list, not a group."""
    parts, current, depth, including = [], "", 0, False
    for char in name:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0 and not including and _GROUP_SEPARATORS.fullmatch(char):
            parts.append(current)
            current = ""
            continue
        current += char
        including = including or (depth == 0 and current.endswith(_INCLUDING))
    return [*parts, current]


def split_members(name: str) -> list[str] | None:
    """The unit names of a group sharing one number, or None for a single unit.

    "卫健委、人民医院、中医院" and "扬子文旅控股集团有限公司 扬子投资发展有限公司" are groups;
    "94987 部队" and "12345 公共服务中心" are one name with a space in it.
    """
    if _GROUP_SEPARATORS.search(name):
        parts = [p.strip() for p in _top_level_parts(name) if p.strip()]
        return parts if len(parts) > 1 else None
    parts = name.replace("\u3000", " ").split()
    if len(parts) > 1 and all(cjk_count(p) >= 2 and p.endswith(ORG_SUFFIXES) for p in parts):
        return parts
    return None


_COMPOUND_ITEM = re.compile(
    r"^(?P<name>.*?)\s*(?P<num>[(（]?\s*[0-9０-９]+\s*[)）]?)\s*(?:人次|人份|人|名)?\s*(?P<annual>[(（]\s*全\s*年\s*[)）])?$"
)
_COMPOUND_SPLIT = re.compile(r"[；;，,\n]+")


@dataclass(frozen=True)
class CompoundItem:
    name: str
    number: Number


def split_compound(text: str) -> list[CompoundItem]:
    """ "组织部7；宣传部5；卫健系统600（全年）；。" -> the units and their numbers.

    Raises ValueError naming the piece that has no number.
    """
    items = []
    for piece in _COMPOUND_SPLIT.split(text):
        piece = piece.strip().strip("。.").strip()
        if not piece:
            continue
        match = _COMPOUND_ITEM.match(piece)
        if not match or not match.group("name").strip():
            raise ValueError(ERROR_NOT_A_NUMBER.format(text=piece))
        raw_number = match.group("num") + (match.group("annual") or "")
        number = parse_number(raw_number)
        items.append(CompoundItem(name=match.group("name").strip(), number=number))
    return items

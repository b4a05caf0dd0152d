"""The period grammar of notice attachments: a cell's text to a start date and an end date.

Pure Python. Every form in DOMAIN.md "Period grammar" parses; the original text is kept by
the caller. `parse_period(text, year)` returns None for an empty cell (no period set: due by
the end of the plan year) and raises `PeriodError` for text it cannot read.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from units.naming import to_halfwidth

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUM = r"(?:\d{1,2}|[〇零一二两三四五六七八九十]{1,3})"
_SEP = r"(?:-|~|～|至|到|—|–|－)"

ERROR_UNREADABLE = "无法识别的时间：“{text}”"
ERROR_MONTH = "月份超出范围：“{text}”"
ERROR_DAY = "日期不存在：“{text}”"


class PeriodError(ValueError):
    """A period text that does not follow the grammar; the message is shown to staff."""


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date


def cn_to_int(token: str) -> int:
    """'3' → 3, '十一' → 11, '二十' → 20, '三十一' → 31, '〇' → 0."""
    if token.isdigit():
        return int(token)
    if "十" in token:
        tens, _, ones = token.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    value = 0
    for ch in token:
        value = value * 10 + _CN_DIGITS[ch]
    return value


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _month(token: str, text: str) -> int:
    month = cn_to_int(token)
    if not 1 <= month <= 12:
        raise PeriodError(ERROR_MONTH.format(text=text))
    return month


def _day(year: int, month: int, day_token: str, text: str) -> dt.date:
    try:
        return dt.date(year, month, cn_to_int(day_token))
    except ValueError as exc:
        raise PeriodError(ERROR_DAY.format(text=text)) from exc


_WHOLE_YEAR = re.compile(r"^(?:\d{4}年)?(?:全年|全年度|年内|年度内)$")
_HALF = re.compile(r"^(?:\d{4}年)?([上下])半年$")
_QUARTER = re.compile(rf"^(?:(\d{{4}})年)?第?({_NUM})季度?$")
_MONTH_RANGE = re.compile(rf"^(?:(\d{{4}})年)?({_NUM})月?(?:份)?{_SEP}({_NUM})月(?:份)?(?:底|末|前)?$")
_DEKAD = re.compile(rf"^(?:(\d{{4}})年)?({_NUM})月(?:份)?([上中下])旬$")
_MONTH = re.compile(rf"^(?:(\d{{4}})年)?({_NUM})月(?:份)?(?:底|末|前|内)?$")
# A day; a weekday or a time of day may follow ("(星期三)上午8:00-11:30"), kept in the text only.
_DAY_CN = re.compile(rf"^(?:(\d{{4}})年)?({_NUM})月({_NUM})[日号](.*)$")
_DAY_ISO = re.compile(r"^(?:(\d{4})[-./])?(\d{1,2})[-./](\d{1,2})(?:日)?(?:[(（].*)?$")


def _year_of(token: str | None, year: int) -> int:
    return int(token) if token else year


def parse_period(text: object, year: int) -> Period | None:
    """Read a period cell of a plan for `year`.

    Accepts a `datetime.date`/`datetime` (a cell typed as a date) as that day.
    """
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return Period(text.date(), text.date())
    if isinstance(text, dt.date):
        return Period(text, text)
    return _parse_text(str(text), year)


@lru_cache(maxsize=4096)
def _parse_text(raw: str, year: int) -> Period | None:
    """The grammar proper; cached, as a notice repeats the same few period texts."""
    compact = re.sub(r"\s+", "", to_halfwidth(raw))
    # "（全年）", "(3月份)": one pair of brackets around the whole text.
    while len(compact) > 1 and compact[0] in "(（" and compact[-1] in ")）":
        compact = compact[1:-1]
    compact = compact.rstrip("。.;；,，")
    if not compact:
        return None

    if _WHOLE_YEAR.match(compact):
        return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))
    if m := _HALF.match(compact):
        return (
            Period(dt.date(year, 1, 1), dt.date(year, 6, 30))
            if m.group(1) == "上"
            else Period(dt.date(year, 7, 1), dt.date(year, 12, 31))
        )
    if m := _QUARTER.match(compact):
        y = _year_of(m.group(1), year)
        quarter = cn_to_int(m.group(2))
        if not 1 <= quarter <= 4:
            raise PeriodError(ERROR_UNREADABLE.format(text=raw))
        return Period(dt.date(y, 3 * quarter - 2, 1), month_end(y, 3 * quarter))
    if m := _MONTH_RANGE.match(compact):
        y = _year_of(m.group(1), year)
        first, last = _month(m.group(2), raw), _month(m.group(3), raw)
        if first > last:
            raise PeriodError(ERROR_UNREADABLE.format(text=raw))
        return Period(dt.date(y, first, 1), month_end(y, last))
    if m := _DEKAD.match(compact):
        y = _year_of(m.group(1), year)
        month = _month(m.group(2), raw)
        part = m.group(3)
        if part == "上":
            return Period(dt.date(y, month, 1), dt.date(y, month, 10))
        if part == "中":
            return Period(dt.date(y, month, 11), dt.date(y, month, 20))
        return Period(dt.date(y, month, 21), month_end(y, month))
    if m := _MONTH.match(compact):
        y = _year_of(m.group(1), year)
        month = _month(m.group(2), raw)
        return Period(dt.date(y, month, 1), month_end(y, month))
    if m := _DAY_CN.match(compact):
        y = _year_of(m.group(1), year)
        day = _day(y, _month(m.group(2), raw), m.group(3), raw)
        return Period(day, day)
    if m := _DAY_ISO.match(compact):
        y = _year_of(m.group(1), year)
        day = _day(y, _month(m.group(2), raw), m.group(3), raw)
        return Period(day, day)
    raise PeriodError(ERROR_UNREADABLE.format(text=raw))

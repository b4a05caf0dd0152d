"""The periods a draft assigns units to: the twelve months, or the 36 dekads (旬) of a year.

Pure Python. Labels are printed as notices print them ("三月", "3月上旬") and read back by the
notice reader's period grammar to the same dates. Demand is entered by month; a dekad's share of
its month's demand is its share of the month's days (上旬 and 中旬 ten days, 下旬 the rest).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

MONTH, DEKAD = "month", "dekad"
KINDS = (MONTH, DEKAD)
ANNUAL_LABEL = "全年"

_CN_MONTHS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
_DEKADS = ["上旬", "中旬", "下旬"]


@dataclass(frozen=True)
class Period:
    index: int  # 0-based position in the year
    label: str  # as printed in the attachment
    start: dt.date
    end: dt.date
    month: int  # 1..12

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def month_label(month: int) -> str:
    return f"{_CN_MONTHS[month - 1]}月"


def periods(kind: str, year: int) -> list[Period]:
    """The periods of a year, in order."""
    if kind == MONTH:
        return [
            Period(m - 1, month_label(m), dt.date(year, m, 1), dt.date(year, m, calendar.monthrange(year, m)[1]), m)
            for m in range(1, 13)
        ]
    if kind == DEKAD:
        result = []
        for m in range(1, 13):
            last = calendar.monthrange(year, m)[1]
            for d, name in enumerate(_DEKADS):
                start = dt.date(year, m, 1 + 10 * d)
                end = dt.date(year, m, last if d == 2 else 10 * (d + 1))
                result.append(Period(len(result), f"{m}月{name}", start, end, m))
        return result
    raise ValueError(f"unknown period kind {kind!r}")


def demand_by_period(kind: str, year: int, monthly: list[int | float | Fraction]) -> list[Fraction]:
    """Monthly demand spread over the periods (a dekad gets its share of its month's days)."""
    if len(monthly) != 12:
        raise ValueError("demand is given for the twelve months")
    values = [Fraction(v) for v in monthly]
    if any(v < 0 for v in values):
        raise ValueError("demand cannot be negative")
    if kind == MONTH:
        return values
    result = []
    for period in periods(DEKAD, year):
        month_days = calendar.monthrange(year, period.month)[1]
        result.append(values[period.month - 1] * period.days / month_days)
    return result


def month_ends(kind: str) -> list[int]:
    """The indexes of the periods that end a month (every one for months; every third for dekads)."""
    return list(range(12)) if kind == MONTH else [3 * m + 2 for m in range(12)]

"""Donor rules (GB 18467-2011, 献血法): age on the day, and intervals against earlier donations.

Pure Python apart from reading the configured intervals. Age outside 18–60 is refused (55–60
only for repeat donors, with a warning); interval breaches are flags for staff review — neither
silently accepted nor silently refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .identity import age_on

WHOLE, PLATELETS = "whole", "platelets"

ERROR_UNDER_AGE = "献血者在献血日期 {date} 未满 18 周岁（{age} 岁），不能登记。"
ERROR_OVER_AGE = "献血者在献血日期 {date} 已超过 60 周岁（{age} 岁），不能登记。"
ERROR_FIRST_TIME_OVER_55 = "首次献血者须在 55 周岁以下（现 {age} 岁）；55–60 周岁仅限既往献血者。"
WARN_AGE_55 = "献血者 {age} 岁：55–60 周岁仅限既往献血且无不良反应者，请确认。"
FLAG_WHOLE_INTERVAL = "距上次全血献血（{last}）仅 {days} 天，少于 {limit} 天。"
FLAG_PLATELET_INTERVAL = "距上次单采血小板（{last}）仅 {days} 天，少于 {limit} 天。"
FLAG_PLATELETS_PER_YEAR = "{year} 年已单采血小板 {count} 次，超过每年 {limit} 次。"
FLAG_PLATELET_TO_WHOLE = "单采血小板（{last}）后 {days} 天献全血，少于 {limit} 天。"
FLAG_WHOLE_TO_PLATELET = "全血（{last}）后 {days} 天单采血小板，少于 {limit} 天。"


@dataclass
class RuleResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)  # {"code", "message"}: for staff review

    def flag(self, code: str, message: str) -> None:
        self.flags.append({"code": code, "message": message})


def check_donor(
    *, birth_date: dt.date, day: dt.date, kind: str, history: list[tuple[dt.date, str]], rules: dict
) -> RuleResult:
    """Check a donation on `day` against the donor's age and earlier donations (date, kind)."""
    result = RuleResult()
    age = age_on(birth_date, day)
    if age < rules["MIN_AGE"]:
        result.errors.append(ERROR_UNDER_AGE.format(date=day, age=age))
    elif age > rules["MAX_AGE"]:
        result.errors.append(ERROR_OVER_AGE.format(date=day, age=age))
    elif age >= rules["WARN_AGE"]:
        if history:
            result.warnings.append(WARN_AGE_55.format(age=age))
        else:
            result.errors.append(ERROR_FIRST_TIME_OVER_55.format(age=age))

    earlier = sorted((d, k) for d, k in history if d <= day and d != day)
    last_whole = max((d for d, k in earlier if k == WHOLE), default=None)
    last_platelets = max((d for d, k in earlier if k == PLATELETS), default=None)
    if kind == WHOLE:
        if last_whole and (gap := (day - last_whole).days) < rules["WHOLE_BLOOD_INTERVAL_DAYS"]:
            result.flag(
                "whole_interval",
                FLAG_WHOLE_INTERVAL.format(last=last_whole, days=gap, limit=rules["WHOLE_BLOOD_INTERVAL_DAYS"]),
            )
        if last_platelets and (gap := (day - last_platelets).days) < rules["PLATELET_TO_WHOLE_DAYS"]:
            result.flag(
                "platelet_to_whole",
                FLAG_PLATELET_TO_WHOLE.format(last=last_platelets, days=gap, limit=rules["PLATELET_TO_WHOLE_DAYS"]),
            )
    else:
        if last_platelets and (gap := (day - last_platelets).days) < rules["PLATELET_INTERVAL_DAYS"]:
            result.flag(
                "platelet_interval",
                FLAG_PLATELET_INTERVAL.format(last=last_platelets, days=gap, limit=rules["PLATELET_INTERVAL_DAYS"]),
            )
        if last_whole and (gap := (day - last_whole).days) < rules["WHOLE_TO_PLATELET_DAYS"]:
            result.flag(
                "whole_to_platelet",
                FLAG_WHOLE_TO_PLATELET.format(last=last_whole, days=gap, limit=rules["WHOLE_TO_PLATELET_DAYS"]),
            )
        count = 1 + sum(1 for d, k in history if k == PLATELETS and d.year == day.year and d != day)
        if count > rules["PLATELETS_PER_YEAR"]:
            result.flag(
                "platelets_per_year",
                FLAG_PLATELETS_PER_YEAR.format(year=day.year, count=count, limit=rules["PLATELETS_PER_YEAR"]),
            )
    return result

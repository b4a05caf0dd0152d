"""Donor rules (GB 18467-2011, 献血法): age on the day, and intervals between a person's donations.

Pure Python apart from reading the configured intervals. Age outside 18–60 is refused (55–60
only for repeat donors, with a warning); interval breaches are flags for staff review — neither
silently accepted nor silently refused.

One home for the interval rule: a donation's flags are a function of the person's counted
donations (not rejected), before it and after it, whatever order they were entered in.
`interval_flags` gives one donation's flags; `person_flags` every donation's of one person.
A breaching pair is flagged on both donations, each naming the other one's date, so a
backdated entry also flags the later donation it now breaches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from .identity import age_on

WHOLE, PLATELETS = "whole", "platelets"

ERROR_UNDER_AGE = "献血者在献血日期 {date} 未满 18 周岁（{age} 岁），不能登记。"
ERROR_OVER_AGE = "献血者在献血日期 {date} 已超过 60 周岁（{age} 岁），不能登记。"
ERROR_FIRST_TIME_OVER_55 = (
    "首次献血者须在 55 周岁以下（现 {age} 岁）；55–60 周岁仅限既往献血者"
    "（在本系统外献过血的，请勾选“曾献血（本系统外）”）。"
)
WARN_AGE_55 = "献血者 {age} 岁：55–60 周岁仅限既往献血且无不良反应者，请确认。"
WARN_AGE_55_DECLARED = "献血者 {age} 岁，已声明曾在本系统外献血：55–60 周岁仅限既往献血且无不良反应者，请确认。"
# The other donation is earlier than this one.
FLAG_WHOLE_INTERVAL = "距上次全血献血（{other}）仅 {days} 天，少于 {limit} 天。"
FLAG_PLATELET_INTERVAL = "距上次单采血小板（{other}）仅 {days} 天，少于 {limit} 天。"
FLAG_PLATELET_TO_WHOLE = "单采血小板（{other}）后 {days} 天献全血，少于 {limit} 天。"
FLAG_WHOLE_TO_PLATELET = "全血（{other}）后 {days} 天单采血小板，少于 {limit} 天。"
# The other donation is later than this one (entered after the fact, or this one was backdated).
FLAG_WHOLE_INTERVAL_NEXT = "距下次全血献血（{other}）仅 {days} 天，少于 {limit} 天。"
FLAG_PLATELET_INTERVAL_NEXT = "距下次单采血小板（{other}）仅 {days} 天，少于 {limit} 天。"
FLAG_PLATELET_TO_WHOLE_NEXT = "本次单采血小板后 {days} 天（{other}）又献全血，少于 {limit} 天。"
FLAG_WHOLE_TO_PLATELET_NEXT = "本次全血后 {days} 天（{other}）又单采血小板，少于 {limit} 天。"
FLAG_PLATELETS_PER_YEAR = "{year} 年已单采血小板 {count} 次，超过每年 {limit} 次。"

INTERVAL_CODES = ("whole_interval", "platelet_interval", "platelet_to_whole", "whole_to_platelet")
_PAIRS = {  # (earlier kind, later kind) -> code, limit setting, message on the earlier, on the later
    (WHOLE, WHOLE): ("whole_interval", "WHOLE_BLOOD_INTERVAL_DAYS", FLAG_WHOLE_INTERVAL_NEXT, FLAG_WHOLE_INTERVAL),
    (PLATELETS, PLATELETS): (
        "platelet_interval",
        "PLATELET_INTERVAL_DAYS",
        FLAG_PLATELET_INTERVAL_NEXT,
        FLAG_PLATELET_INTERVAL,
    ),
    (PLATELETS, WHOLE): (
        "platelet_to_whole",
        "PLATELET_TO_WHOLE_DAYS",
        FLAG_PLATELET_TO_WHOLE_NEXT,
        FLAG_PLATELET_TO_WHOLE,
    ),
    (WHOLE, PLATELETS): (
        "whole_to_platelet",
        "WHOLE_TO_PLATELET_DAYS",
        FLAG_WHOLE_TO_PLATELET_NEXT,
        FLAG_WHOLE_TO_PLATELET,
    ),
}


@dataclass
class RuleResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)  # {"code", "message", "other"}: for staff review


def pair_breach(earlier: tuple[dt.date, str], later: tuple[dt.date, str], rules: dict) -> tuple[str, int] | None:
    """(code, limit) when two donations of one person, in date order, are closer than allowed."""
    code, setting, _, _ = _PAIRS[(earlier[1], later[1])]
    limit = rules[setting]
    return (code, limit) if (later[0] - earlier[0]).days < limit else None


def interval_flags(day: dt.date, kind: str, others: Iterable[tuple[dt.date, str]], rules: dict) -> list[dict]:
    """The flags of a donation on `day` against the person's other counted donations (date, kind),
    before and after it: one flag per breaching donation, naming its date, in date order; and the
    yearly platelet count, for the 25th and later platelet donation of a calendar year."""
    flags = []
    rank = 1
    for other_day, other_kind in sorted(others):
        if other_day == day:
            continue  # the same day is one donation: refused as a duplicate, never a flag
        if kind == PLATELETS and other_kind == PLATELETS and other_day.year == day.year and other_day < day:
            rank += 1
        if other_day < day:
            earlier, later, message = (other_day, other_kind), (day, kind), 3
        else:
            earlier, later, message = (day, kind), (other_day, other_kind), 2
        if breach := pair_breach(earlier, later, rules):
            code, limit = breach
            text = _PAIRS[(earlier[1], later[1])][message].format(
                other=other_day, days=(later[0] - earlier[0]).days, limit=limit
            )
            flags.append({"code": code, "message": text, "other": other_day.isoformat()})
    if kind == PLATELETS and rank > rules["PLATELETS_PER_YEAR"]:
        flags.append(
            {
                "code": "platelets_per_year",
                "message": FLAG_PLATELETS_PER_YEAR.format(year=day.year, count=rank, limit=rules["PLATELETS_PER_YEAR"]),
            }
        )
    return flags


def person_flags(donations: dict[Hashable, tuple[dt.date, str]], rules: dict) -> dict[Hashable, list[dict]]:
    """Every counted donation of one person (key → (date, kind)) with the flags it should carry."""
    return {
        key: interval_flags(day, kind, (v for k, v in donations.items() if k != key), rules)
        for key, (day, kind) in donations.items()
    }


def check_donor(
    *,
    birth_date: dt.date,
    day: dt.date,
    kind: str,
    history: list[tuple[dt.date, str]],
    rules: dict,
    declared_history: bool = False,
) -> RuleResult:
    """Check a donation on `day` against the donor's age and other counted donations (date, kind),
    earlier or later. `declared_history`: the liaison declared donations outside the portal."""
    result = RuleResult()
    age = age_on(birth_date, day)
    if age < rules["MIN_AGE"]:
        result.errors.append(ERROR_UNDER_AGE.format(date=day, age=age))
    elif age > rules["MAX_AGE"]:
        result.errors.append(ERROR_OVER_AGE.format(date=day, age=age))
    elif age >= rules["WARN_AGE"]:
        if any(d < day for d, _ in history):
            result.warnings.append(WARN_AGE_55.format(age=age))
        elif declared_history:
            result.warnings.append(WARN_AGE_55_DECLARED.format(age=age))
        else:
            result.errors.append(ERROR_FIRST_TIME_OVER_55.format(age=age))
    result.flags = interval_flags(day, kind, history, rules)
    return result

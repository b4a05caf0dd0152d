"""The period grammar of DOMAIN.md: every form parses to the right dates; nonsense is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quotas.notice.periods import PeriodError, cn_to_int, parse_period

D = dt.date
CN = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("三月份", D(2024, 3, 1), D(2024, 3, 31)),
        ("3月份", D(2024, 3, 1), D(2024, 3, 31)),
        ("3月", D(2024, 3, 1), D(2024, 3, 31)),
        ("三 月", D(2024, 3, 1), D(2024, 3, 31)),
        ("十一月", D(2024, 11, 1), D(2024, 11, 30)),
        ("12月", D(2024, 12, 1), D(2024, 12, 31)),
        ("二月", D(2024, 2, 1), D(2024, 2, 29)),
        ("3月上旬", D(2024, 3, 1), D(2024, 3, 10)),
        ("3月中旬", D(2024, 3, 11), D(2024, 3, 20)),
        ("2月下旬", D(2024, 2, 21), D(2024, 2, 29)),
        ("1-3月", D(2024, 1, 1), D(2024, 3, 31)),
        ("2-3月", D(2024, 2, 1), D(2024, 3, 31)),
        ("10-12月", D(2024, 10, 1), D(2024, 12, 31)),
        ("1～3月", D(2024, 1, 1), D(2024, 3, 31)),
        ("1至3月", D(2024, 1, 1), D(2024, 3, 31)),
        ("第一季度", D(2024, 1, 1), D(2024, 3, 31)),
        ("一季度", D(2024, 1, 1), D(2024, 3, 31)),
        ("第四季度", D(2024, 10, 1), D(2024, 12, 31)),
        ("上半年", D(2024, 1, 1), D(2024, 6, 30)),
        ("下半年", D(2024, 7, 1), D(2024, 12, 31)),
        ("全年", D(2024, 1, 1), D(2024, 12, 31)),
        ("（全年）", D(2024, 1, 1), D(2024, 12, 31)),
        ("2024年3月15日", D(2024, 3, 15), D(2024, 3, 15)),
        ("3月15日", D(2024, 3, 15), D(2024, 3, 15)),
        ("3.15", D(2024, 3, 15), D(2024, 3, 15)),
        ("2021年10月13日(星期三)上午8:00-11:30", D(2021, 10, 13), D(2021, 10, 13)),
        ("１２月", D(2024, 12, 1), D(2024, 12, 31)),
        (dt.datetime(2024, 5, 6, 0, 0), D(2024, 5, 6), D(2024, 5, 6)),
    ],
)
def test_period_forms(text, start, end):
    period = parse_period(text, 2024)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", [None, "", "   ", "（）"])
def test_empty_period_means_none(text):
    assert parse_period(text, 2024) is None


@pytest.mark.parametrize("text", ["十三月", "0月", "2月30日", "3-1月", "第五季度", "尽快", "月底前后"])
def test_nonsense_is_refused_with_the_text_in_the_message(text):
    with pytest.raises(PeriodError) as info:
        parse_period(text, 2024)
    assert text in str(info.value)


def test_chinese_numerals():
    assert [cn_to_int(t) for t in ["一", "十", "十一", "二十", "三十一", "〇"]] == [1, 10, 11, 20, 31, 0]


month = st.integers(min_value=1, max_value=12)
year = st.integers(min_value=2000, max_value=2099)


@given(year=year, m=month, numerals=st.booleans(), suffix=st.sampled_from(["月", "月份"]), space=st.booleans())
def test_month_round_trip(year, m, numerals, suffix, space):
    token = CN[m - 1] if numerals else str(m)
    text = (" ".join(token) if space else token) + suffix
    period = parse_period(text, year)
    assert period.start == D(year, m, 1)
    assert (period.end + dt.timedelta(days=1)).day == 1 and period.end.month == m


@given(year=year, a=month, b=month, sep=st.sampled_from(["-", "～", "至", "~"]))
def test_month_range_round_trip(year, a, b, sep):
    first, last = min(a, b), max(a, b)
    period = parse_period(f"{first}{sep}{last}月", year)
    assert period.start == D(year, first, 1)
    assert period.end.month == last and (period.end + dt.timedelta(days=1)).day == 1


@given(day=st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)), form=st.integers(0, 2))
def test_single_day_round_trip(day, form):
    text = [f"{day.year}年{day.month}月{day.day}日", f"{day.month}月{day.day}日", f"{day.month}.{day.day}"][form]
    period = parse_period(text, day.year)
    assert period.start == period.end == day


@given(year=year, m=month, part=st.sampled_from("上中下"))
def test_dekad_round_trip(year, m, part):
    period = parse_period(f"{m}月{part}旬", year)
    assert period.start.day == {"上": 1, "中": 11, "下": 21}[part]
    assert period.end.day == {"上": 10, "中": 20}.get(part, (D(year + m // 12, m % 12 + 1, 1) - dt.timedelta(1)).day)


PERIOD_ALPHABET = st.sampled_from(list("0123456789一二三四五六七八九十年月日旬上中下季度全-～至~、，.() 份第半"))


@given(text=st.text(PERIOD_ALPHABET, max_size=20) | st.text(max_size=30), year=year)
def test_any_text_parses_inside_the_year_or_is_refused(text, year):
    """Whatever a cell holds: a period inside the plan's year (or of the next, for a
    "12月-次年1月" kind of span), nothing, or PeriodError — never another exception."""
    try:
        period = parse_period(text, year)
    except PeriodError as exc:
        assert str(exc)  # the message staff see
        return
    if period is not None:
        assert period.start <= period.end
        assert year - 1 <= period.start.year and period.end.year <= year + 1

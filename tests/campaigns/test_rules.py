"""Donor rules: ID checksum with the wrong character named, age limits, intervals as flags."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.donors.identity import IdNumberError, check_character, check_id_number, mask_id_number
from campaigns.donors.rules import check_donor

D = dt.date
RULES = {
    "MIN_AGE": 18,
    "MAX_AGE": 60,
    "WARN_AGE": 55,
    "WHOLE_BLOOD_INTERVAL_DAYS": 182,
    "PLATELET_INTERVAL_DAYS": 14,
    "PLATELETS_PER_YEAR": 24,
    "PLATELET_TO_WHOLE_DAYS": 28,
    "WHOLE_TO_PLATELET_DAYS": 91,
}


def test_domain_examples():
    identity = check_id_number("360426199101010071")
    assert (identity.birth_date, identity.sex) == (D(1991, 1, 1), "M")
    with pytest.raises(IdNumberError, match="第 18 位.*应为“1”"):
        check_id_number("360426199101010072")
    assert mask_id_number("360426199101010071") == "3604**********0071"


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("36042619910101007", "18 位"),
        ("36042619910A010071", "第 12 位“A”"),
        ("360426199102300071", "出生日期"),
    ],
)
def test_bad_numbers_say_what_is_wrong(number, fragment):
    with pytest.raises(IdNumberError, match=fragment):
        check_id_number(number)


@given(
    birth=st.dates(min_value=D(1930, 1, 1), max_value=D(2010, 12, 31)),
    seq=st.integers(0, 999),
    region=st.sampled_from(["360426", "321081", "110101"]),
)
def test_generated_numbers_check_and_any_other_last_character_fails(birth, seq, region):
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    good = first17 + check_character(first17)
    identity = check_id_number(good)
    assert identity.birth_date == birth and identity.sex == ("M" if seq % 2 else "F")
    for wrong in "0123456789X":
        if wrong != good[-1]:
            with pytest.raises(IdNumberError):
                check_id_number(first17 + wrong)


JUNE = D(2026, 6, 1)


def check(age_years: float, history=(), kind="whole", day=JUNE):
    birth = D(day.year - int(age_years), day.month, day.day)
    return check_donor(birth_date=birth, day=day, kind=kind, history=list(history), rules=RULES)


def test_age_limits():
    assert check(17).errors and check(61).errors
    assert not check(18).errors and not check(54).errors
    assert check(57).errors  # first-time donor over 55
    repeat = check(57, history=[(D(2025, 1, 1), "whole")])
    assert not repeat.errors and repeat.warnings


def test_whole_blood_interval_is_a_flag_not_a_refusal():
    result = check(30, history=[(D(2026, 3, 1), "whole")])
    assert not result.errors and [f["code"] for f in result.flags] == ["whole_interval"]
    assert not check(30, history=[(D(2025, 11, 1), "whole")]).flags


def test_platelet_rules():
    assert [f["code"] for f in check(30, [(D(2026, 5, 25), "platelets")], kind="platelets").flags] == [
        "platelet_interval"
    ]
    assert [f["code"] for f in check(30, [(D(2026, 5, 20), "platelets")], kind="whole").flags] == ["platelet_to_whole"]
    assert [f["code"] for f in check(30, [(D(2026, 4, 1), "whole")], kind="platelets").flags] == ["whole_to_platelet"]
    many = [(D(2026, 1, 1) + dt.timedelta(days=5 * i), "platelets") for i in range(24)]
    assert "platelets_per_year" in [f["code"] for f in check(30, many, kind="platelets", day=D(2026, 12, 1)).flags]


@given(st.text(alphabet=st.sampled_from(list("0123456789Xx* -")), max_size=22) | st.text(max_size=25))
def test_any_text_is_a_valid_number_or_refused_with_a_message(raw):
    try:
        identity = check_id_number(raw)
    except IdNumberError as exc:
        assert str(exc)
        return
    number = identity.number
    assert len(number) == 18 and number[17] == check_character(number[:17])


@given(
    birth=st.dates(min_value=D(1930, 1, 1), max_value=D(2010, 12, 31)),
    seq=st.integers(0, 999),
    position=st.integers(0, 17),
    replacement=st.sampled_from(list("0123456789X")),
)
def test_one_changed_character_is_caught(birth, seq, position, replacement):
    """GB 11643's check character catches every single-character change."""
    number = f"360426{birth:%Y%m%d}{seq:03d}"
    number += check_character(number)
    changed = number[:position] + replacement + number[position + 1 :]
    if changed == number:
        return
    with pytest.raises(IdNumberError):
        check_id_number(changed)

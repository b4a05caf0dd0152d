"""Resident ID numbers (GB 11643-1999): checksum, birth date, sex, masking.

Pure Python. `check_id_number` raises `IdNumberError` with a message that says which
character is wrong.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass

from units.naming import to_halfwidth

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

ERROR_LENGTH = "身份证号应为 18 位，现为 {length} 位。"
ERROR_CHARACTER = "身份证号第 {position} 位“{char}”不是数字。"
ERROR_BIRTH_DATE = "身份证号第 7–14 位“{digits}”不是有效的出生日期。"
ERROR_CHECKSUM = "身份证号第 18 位（校验位）应为“{expected}”，现为“{actual}”：请核对号码。"


class IdNumberError(ValueError):
    """An ID number that fails GB 11643; the message is shown to the liaison."""


@dataclass(frozen=True)
class Identity:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def check_character(first17: str) -> str:
    """The 18th character GB 11643 requires for these 17 digits."""
    return CHECK_CHARS[sum(map(operator.mul, map(int, first17), WEIGHTS)) % 11]


def normalize_id_number(raw: str) -> str:
    """Strip spaces and fold a lower-case or full-width x and digits."""
    return to_halfwidth("".join(str(raw or "").split())).upper()


def check_id_number(raw: str) -> Identity:
    """Validate an 18-character resident ID number and read its birth date and sex."""
    number = normalize_id_number(raw)
    if len(number) != 18:
        raise IdNumberError(ERROR_LENGTH.format(length=len(number)))
    head = number[:17]
    if not (head.isascii() and head.isdigit()):  # the slow look only to name the wrong character
        for position, char in enumerate(head, start=1):
            if not char.isdigit() or not char.isascii():
                raise IdNumberError(ERROR_CHARACTER.format(position=position, char=char))
    last = number[17]
    if not (last.isdigit() and last.isascii()) and last != "X":
        raise IdNumberError(ERROR_CHARACTER.format(position=18, char=last))
    digits = number[6:14]
    try:
        birth = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise IdNumberError(ERROR_BIRTH_DATE.format(digits=digits)) from exc
    if birth.year < 1900:
        raise IdNumberError(ERROR_BIRTH_DATE.format(digits=digits))
    expected = check_character(number[:17])
    if last != expected:
        raise IdNumberError(ERROR_CHECKSUM.format(expected=expected, actual=last))
    return Identity(number=number, birth_date=birth, sex="M" if int(number[16]) % 2 else "F")


def mask_id_number(number: str) -> str:
    """ "360426199101010071" -> "3604**********0071"."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years of age on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))

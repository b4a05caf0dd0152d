"""Decode a notice's plain text whatever encoding the office saved it in."""

from __future__ import annotations

from .grid import GridError
from .tables import decode_text


def decode_notice_text(data: bytes) -> str:
    try:
        return decode_text(data)
    except GridError:
        return ""

"""A station export built in memory: the header in the station's words, rows as its system writes them."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from tests.factories import id_number

HEADER = ["献血码", "姓名", "性别", "证件号码", "献血日期", "献血类型", "献血量(ml)", "采血点", "工作单位"]
TODAY = dt.date(2026, 12, 1)


def station_row(seq, day, workplace, *, kind="全血", amount=400, code=None, name=None):
    number = id_number(seq=seq)
    code = f"XM{seq:05d}{day:%m%d}" if code is None else code
    return [code, name or f"献血者{seq}", "男", number, day, kind, amount, "献血屋", workplace]


def station_xlsx(rows, *, title=True) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append(["仪征市中心血站 采血记录导出"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def today():
    return TODAY

"""Every page and download a liaison meets speaks English when English is chosen: no Chinese
character anywhere but in user data, which these tests make ASCII (names, unit, jurisdiction).

The messages the rules, the ID check and the roster reader write (and the flags stored in
Chinese) are shown through `campaigns.messages.translate`; each one the liaison can meet is
provoked here: a refused log, a rule warning, interval flags both ways, roster rows with every
kind of error.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.donors.identity import check_character
from campaigns.messages import translate
from campaigns.models import Donation
from campaigns.services import donation_log
from tests.factories import (
    JurisdictionFactory,
    PlanFactory,
    QuotaFactory,
    UnitFactory,
    UserFactory,
    id_number,
    make_liaison,
)

pytestmark = pytest.mark.django_db
D = dt.date
# CJK ideographs, their punctuation and full-width forms.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
LANGUAGE_NAMES = ("简体中文", "中文")  # the switch names each language in itself


def chinese_in(text: str) -> list[str]:
    for name in LANGUAGE_NAMES:
        text = text.replace(name, "")
    return sorted({text[max(0, m.start() - 30) : m.end() + 30] for m in CJK.finditer(text)})


@pytest.fixture
def english(client):
    jurisdiction = JurisdictionFactory(name="Yizheng")
    unit = UnitFactory(name="Unit A", jurisdiction=jurisdiction)
    plan = PlanFactory(jurisdiction=jurisdiction, year=2026)
    QuotaFactory(plan=plan, label="Unit A", units=[unit], target=5, period_text="")
    user = UserFactory(username="liaison-en", role="联络员")
    make_liaison(user, unit)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client, unit


def log(unit, day, seq, **fields):
    return donation_log(unit=unit, donor_name="Wang Wu", id_number=id_number(seq=seq), donated_on=day, **fields)[0]


def roster_file(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["No.", "Name", "ID number", "Donation date", "Amount", "Kind", "Unit", "Donated before"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_liaison_pages_and_messages_are_english(english):
    client, unit = english
    log(unit, D(2026, 11, 30), 71)
    earlier = log(unit, D(2026, 11, 20), 71)  # flags both, stored in Chinese
    assert Donation.objects.exclude(flags=[]).count() == 2
    pages = {
        "home": client.get("/liaison/"),
        "log": client.get("/liaison/log/"),
        "list": client.get("/liaison/donations/"),
        "edit": client.get(f"/liaison/donations/{earlier.pk}/edit/"),
        "withdraw": client.get(f"/liaison/donations/{earlier.pk}/withdraw/"),
        "roster upload": client.get("/liaison/roster/"),
    }
    form = {"unit": unit.pk, "donor_name": "Li Si", "phone": "", "amount": "whole:400"}
    # refused: a wrong check character; a first-time donor over 55
    bad = id_number(seq=72)[:17] + ("0" if id_number(seq=72)[17] != "0" else "1")
    pages["log, wrong ID"] = client.post("/liaison/log/", {**form, "id_number": bad, "donated_on": "2026-11-01"})
    old = id_number(birth=D(1969, 1, 1), seq=73)
    pages["log, over 55"] = client.post("/liaison/log/", {**form, "id_number": old, "donated_on": "2026-11-01"})
    pages["log, future"] = client.post(
        "/liaison/log/", {**form, "id_number": id_number(seq=75), "donated_on": "2099-01-01"}
    )
    # saved with a warning (declared history at 57) and with a flag (the 11-30 donor again)
    saved = client.post(
        "/liaison/log/",
        {**form, "id_number": old, "donated_on": "2026-11-01", "declared_history": "on"},
        follow=True,
    )
    flagged = client.post(
        "/liaison/log/", {**form, "id_number": id_number(seq=71), "donated_on": "2026-11-10"}, follow=True
    )
    pages["log, warned"], pages["log, flagged"] = saved, flagged
    assert "55–60 is only for repeat donors" in saved.content.decode()
    assert "days before the next whole-blood donation (2026-11-20)" in flagged.content.decode()
    pages["list, flags"] = client.get("/liaison/donations/")
    assert "Only 10 days since the previous whole-blood donation (2026-11-20)" in pages["list, flags"].content.decode()

    first17 = "36042619910101077"
    wrong = first17 + ("0" if check_character(first17) != "0" else "1")
    rows = [
        [1, "Zhao Liu", id_number(seq=81), D(2026, 11, 2), 400, "Whole blood", "", ""],
        [2, "Zhao Liu", id_number(seq=81), D(2026, 11, 2), 400, "", "", ""],  # duplicate in the file
        [3, "Qian Qi", id_number(seq=71), D(2026, 11, 25), 1, "Platelets", "", ""],  # flags against stored
        [4, "Sun Ba", wrong, D(2026, 11, 2), 400, "", "", ""],
        [5, "Zhou Jiu", 360426199101010871, D(2026, 11, 2), 400, "", "", ""],  # Excel made it a number
        [6, "Wu Shi", id_number(seq=83), "sometime", 400, "", "", ""],
        [7, "Zheng Yi", id_number(seq=85), D(2026, 11, 2), 999, "", "", ""],
        [8, "Feng Er", id_number(seq=87), D(2026, 11, 2), 400, "", "Other Unit", ""],
        [9, "", id_number(seq=89), D(2026, 11, 2), 400, "", "", "perhaps"],
        [10, "Old Donor", id_number(birth=D(1969, 1, 1), seq=91), D(2026, 11, 2), 400, "", "", ""],
        [11, "Young", id_number(birth=D(2010, 1, 1), seq=93), D(2026, 11, 2), 400, "", "", ""],
    ]
    preview = client.post(
        "/liaison/roster/", {"unit": unit.pk, "file": SimpleUploadedFile("roster.xlsx", roster_file(rows))}
    )
    pages["roster preview"] = preview
    checks = preview.context["preview"].rows
    assert sum(1 for c in checks if c.errors) == 9  # every row but 1 and 3
    assert "Excel converted the ID number to a number" in preview.content.decode()
    empty = client.post(
        "/liaison/roster/", {"unit": unit.pk, "file": SimpleUploadedFile("empty.csv", b"a,b\r\n1,2\r\n")}
    )
    pages["roster without a header"] = empty
    found = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        text = response.content.decode()
        if name == "roster without a header":  # names the Chinese columns a roster may have
            text = text.replace("“姓名”", "").replace("“身份证号”", "").replace("“献血日期”", "")
        if chinese_in(text):
            found[name] = chinese_in(text)
    assert found == {}


def cells(workbook) -> list[str]:
    return [
        f"{sheet.title}!{cell.coordinate}: {cell.value}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None and CJK.search(f"{sheet.title} {cell.value}")
    ]


def test_roster_template_is_english_and_imports_nothing_unchanged(english):
    client, unit = english
    response = client.get("/liaison/roster/template.xlsx")
    data = b"".join(response.streaming_content) if response.streaming else response.content
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert cells(workbook) == []
    assert workbook.sheetnames == ["Donor roster", "Notes and example"]
    preview = client.post(
        "/liaison/roster/", {"unit": unit.pk, "file": SimpleUploadedFile("template.xlsx", data)}
    )
    assert preview.context["preview"].rows == []  # the English template is read, and is empty
    # filled in, in English, it is read like the Chinese one
    sheet = workbook["Donor roster"]
    sheet.append([1, "Li Si", "Male", id_number(seq=95), "2026-11-02", 1, "Platelets", "", "", "yes"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    preview = client.post(
        "/liaison/roster/", {"unit": unit.pk, "file": SimpleUploadedFile("filled.xlsx", buffer.getvalue())}
    )
    [row] = preview.context["preview"].rows
    assert (row.errors, row.row.kind, row.row.amount, row.row.declared_history) == ([], "platelets", 1, True)


def test_roster_export_is_english(english):
    from campaigns.rosters.services import roster_export

    client, unit = english
    log(unit, D(2026, 11, 2), 97)
    log(unit, D(2026, 10, 2), 99, kind="platelets", amount=2)
    from django.utils import translation

    staff = UserFactory(username="office-en", role="献血办")
    with translation.override("en"):
        workbook = roster_export(donations=Donation.objects.select_related("unit").order_by("pk"), user=staff)
    assert cells(workbook) == []


def test_a_message_matching_no_constant_is_left_as_it_is():
    from django.utils import translation

    with translation.override("en"):
        assert translate("王五") == "王五"
        assert translate("缺少姓名。") == "Name is missing."
        assert translate("献血日期 2026-03-01 不在本单位计划年度（2024、2025 年）内。") == (
            "The donation date 2026-03-01 is outside the unit's plan years (2024, 2025)."
        )
    with translation.override("zh-hans"):
        assert translate("缺少姓名。") == "缺少姓名。"

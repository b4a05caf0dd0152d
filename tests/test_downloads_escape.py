"""Every workbook the portal offers for download, filled with text that a spreadsheet would run
as a formula (= + - @), holds no formula: every such text comes back with the apostrophe that
marks it as text (core.xlsx.escape_formula), the title cells and the bulletin title included."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client

from campaigns.models import Bulletin, Donation
from core.xlsx import FORMULA_PREFIXES
from tests.factories import (
    JurisdictionFactory,
    PlanFactory,
    QuotaFactory,
    UnitFactory,
    UserFactory,
    make_donation,
    make_liaison,
)
from units.models import StaffProfile

pytestmark = pytest.mark.django_db
HOSTILE = ['=HYPERLINK("http://evil.example","仪征")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)"]


@pytest.fixture
def hostile():
    """A jurisdiction, units, a plan, quotas and donors whose every text starts with = + - @."""
    place = JurisdictionFactory(name=HOSTILE[0])
    units = [UnitFactory(name=name, jurisdiction=place) for name in HOSTILE]
    plan = PlanFactory(jurisdiction=place, year=2026, title=HOSTILE[1])
    for i, unit in enumerate(units):
        QuotaFactory(
            plan=plan, label=unit.name, units=[unit], target=5, location=HOSTILE[i - 1], period_text=HOSTILE[i - 2]
        )
        make_donation(unit, donated_on=dt.date(2026, 3, 10), seq=2 * i + 1, donor_name=HOSTILE[i])
    staff = UserFactory(username="office-hostile", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=place)
    liaison = UserFactory(username="liaison-hostile", role="联络员")
    make_liaison(liaison, units[0])
    return {"place": place, "staff": staff, "liaison": liaison}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _texts_that_would_run(content: bytes) -> list[str]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))  # not data_only: formulas stay formulas
    found = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES)):
                    found.append(f"{sheet.title}!{cell.coordinate}: {cell.value!r}")
    return found


def _escaped_texts(content: bytes) -> set[str]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return {
        cell.value
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith("'")
    }


def test_the_dashboard_export_holds_no_formula(hostile):
    response = _client(hostile["staff"]).get(f"/dashboard/export.xlsx?year=2026&j={hostile['place'].pk}")
    assert response.status_code == 200
    assert _texts_that_would_run(response.content) == []
    title = openpyxl.load_workbook(io.BytesIO(response.content)).active["A1"].value
    assert title.startswith("'=HYPERLINK")  # the title names the jurisdiction first


def test_the_bulletin_export_holds_no_formula(hostile):
    client = _client(hostile["staff"])
    client.post("/dashboard/bulletins/new/", {"year": 2026, "j": hostile["place"].pk, "title": HOSTILE[0]})
    bulletin = Bulletin.objects.get()
    response = client.get(f"/dashboard/bulletins/{bulletin.pk}/export.xlsx")
    assert response.status_code == 200
    assert _texts_that_would_run(response.content) == []
    assert "'" + HOSTILE[0] in _escaped_texts(response.content)  # the bulletin title, kept as text


def test_the_roster_template_holds_no_formula(hostile):
    response = _client(hostile["liaison"]).get("/liaison/roster/template.xlsx")
    assert response.status_code == 200
    assert _texts_that_would_run(response.content) == []
    assert "'" + HOSTILE[0] in _escaped_texts(response.content)  # the liaison's unit name


def test_the_roster_export_holds_no_formula(hostile):
    donations = list(Donation.objects.values_list("pk", flat=True))
    response = _client(hostile["staff"]).post(
        "/admin/campaigns/donation/", {"action": "export_roster", "_selected_action": donations}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    assert _texts_that_would_run(response.content) == []
    assert {"'" + text for text in HOSTILE} <= _escaped_texts(response.content)


def test_the_quota_export_holds_no_formula(hostile):
    fields = ["id", "plan", "unit", "target", "period_text", "start", "end", "location", "headcount", "advisory", "seq"]
    response = _client(hostile["staff"]).post(
        "/admin/quotas/quota/export/",
        {"format": "2", "resource": "", **{f"quotaresource_{name}": "on" for name in fields}},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    assert _texts_that_would_run(response.content) == []
    assert {"'" + text for text in HOSTILE} <= _escaped_texts(response.content)


def test_the_draft_attachment_holds_no_formula(hostile):
    from quotas.drafting.allocation import LAST_TASK
    from quotas.drafting.services import draft_create, draft_update

    draft = draft_create(jurisdiction=hostile["place"], year=2027, today=dt.date(2026, 11, 1))
    rules = {category: {"kind": LAST_TASK, "value": 1, "scalable": True} for category in draft.rules}
    draft_update(draft=draft, rules=rules, title=HOSTILE[2], attachment_label=HOSTILE[3])
    response = _client(hostile["staff"]).get(f"/admin/quotas/plandraft/{draft.pk}/attachment.xlsx")
    assert response.status_code == 200
    assert _texts_that_would_run(response.content) == []
    assert {"'" + text for text in HOSTILE[1:]} <= _escaped_texts(response.content)  # units, title, label

"""The staff pages: upload → preview → confirm once, the reconciliation, scope, Excel, access log."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.models import AccessEvent
from core.models import StagedUpload
from stations.models import CollectionRecord, StationExport
from tests.factories import JurisdictionFactory, UnitFactory, UserFactory, make_donation
from units.models import StaffProfile

from .conftest import station_row, station_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(staff_user, jurisdiction):
    StaffProfile.objects.update_or_create(user=staff_user, defaults={"jurisdiction": jurisdiction})
    return staff_user


def _upload(client, data, name="station.xlsx", **extra):
    return client.post(reverse("stations:upload"), {"file": SimpleUploadedFile(name, data), **extra})


def test_upload_preview_confirm_once(staff_client, office, unit_a, unit_b):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    data = station_xlsx(
        [station_row(11, dt.date(2026, 3, 3), "仪化公司"), station_row(21, dt.date(2026, 3, 5), "教育局")]
    )
    response = _upload(staff_client, data, first_day="2026-03-01", last_day="2026-03-31")
    assert response.status_code == 200
    page = response.content.decode()
    assert "确认导入 2 条新记录" in page
    assert CollectionRecord.objects.count() == 0
    token = response.context["token"]
    assert StagedUpload.objects.get(token=token).kind == "station"
    response = staff_client.post(reverse("stations:upload"), {"token": token})
    assert response.status_code == 302
    export = StationExport.objects.get()
    assert (export.first_day, export.last_day, export.uploaded_by) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 31),
        office,
    )
    assert CollectionRecord.objects.count() == 2
    again = staff_client.post(reverse("stations:upload"), {"token": token}, follow=True)
    assert "已导入，没有重复导入" in again.content.decode()
    assert StationExport.objects.count() == 1 and CollectionRecord.objects.count() == 2


def test_a_file_with_errors_is_not_staged(staff_client, office):
    data = station_xlsx([["X1", "李四", "男", "360426199101010072", "2026-03-05", "全血", 400, "", "教育局"]])
    response = _upload(staff_client, data)
    assert response.context["token"] is None
    assert "Sheet!B3" in response.content.decode()
    assert StagedUpload.objects.count() == 0


def test_overview_lists_units_and_pins_queries(staff_client, office, unit_a, unit_b, django_assert_num_queries):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    make_donation(unit_a, donated_on=dt.date(2026, 3, 9), seq=13)
    token = _upload(staff_client, station_xlsx([station_row(11, dt.date(2026, 3, 3), "仪化公司")])).context["token"]
    staff_client.post(reverse("stations:upload"), {"token": token})
    # session and user, role, staff profile, exports (coverage), donations by unit, station-only
    # by unit, unattributed, units, exports listed
    with django_assert_num_queries(9):
        response = staff_client.get(reverse("stations:overview"), {"year": 2026})
    line = response.context["result"].lines[0]
    assert (line.unit, line.reported, line.verified, line.unseen) == (unit_a, 2, 1, 0)  # 3-9 not covered


def test_staff_without_jurisdiction_sees_nothing(staff_client, staff_user, unit_a):
    StaffProfile.objects.filter(user=staff_user).delete()
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    response = staff_client.get(reverse("stations:overview"), {"year": 2026})
    assert response.context["result"] is None
    assert staff_client.get(reverse("stations:export")).status_code == 404
    assert staff_client.get(reverse("stations:unit", args=[unit_a.pk])).status_code == 404
    assert _upload(staff_client, b"x").context["form"] is None


def test_another_office_sees_nothing(client, office, staff_client, unit_a):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    token = _upload(staff_client, station_xlsx([station_row(11, dt.date(2026, 3, 3), "仪化公司")])).context["token"]
    staff_client.post(reverse("stations:upload"), {"token": token})
    other = UserFactory(username="other-office", role="献血办")
    StaffProfile.objects.create(user=other, jurisdiction=JurisdictionFactory(name="邗江区"))
    client.force_login(other)
    response = client.get(reverse("stations:overview"), {"year": 2026})
    assert response.context["result"].lines == []
    assert client.get(reverse("stations:unit", args=[unit_a.pk]), {"year": 2026}).status_code == 404
    # nor can they use the first office's staged upload
    token = _upload(staff_client, station_xlsx([station_row(21, dt.date(2026, 3, 5), "x")])).context["token"]
    assert client.post(reverse("stations:upload"), {"token": token}).status_code == 302
    assert StagedUpload.objects.get(token=token).claimed_at is None


def test_unit_page_masks_ids_and_is_recorded(staff_client, office, unit_a):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    token = _upload(staff_client, station_xlsx([station_row(11, dt.date(2026, 3, 3), "仪化公司")])).context["token"]
    staff_client.post(reverse("stations:upload"), {"token": token})
    response = staff_client.get(reverse("stations:unit", args=[unit_a.pk]), {"year": 2026})
    page = response.content.decode()
    record = CollectionRecord.objects.get()
    assert record.id_number_masked in page and station_row(11, dt.date(2026, 3, 3), "")[3] not in page
    event = AccessEvent.objects.get()
    assert (event.user, event.action) == (office, "station_view") and unit_a.name in event.detail


def test_export_escapes_formulas(staff_client, office, jurisdiction):
    unit = UnitFactory(name='=HYPERLINK("x")', jurisdiction=jurisdiction)
    row = station_row(21, dt.date(2026, 3, 5), unit.name)
    csv = '献血码,姓名,证件号码,献血日期,献血类型,献血量,工作单位\n{},{},{},2026-03-05,全血,400,"{}"\n'.format(
        row[0], row[1], row[3], unit.name.replace('"', '""')
    )
    token = _upload(staff_client, csv.encode("gbk"), name="s.csv").context["token"]
    staff_client.post(reverse("stations:upload"), {"token": token})
    response = staff_client.get(reverse("stations:export"), {"year": 2026})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A3"].value == '\'=HYPERLINK("x")' and sheet["H3"].value == 1
    assert sheet["E2"].value == "核实率" and sheet["E3"].value is None  # nothing reported: no share


def test_liaison_and_leader_are_refused(liaison_client, leader_client):
    assert liaison_client.get(reverse("stations:overview")).status_code == 403
    assert leader_client.get(reverse("stations:upload")).status_code == 403

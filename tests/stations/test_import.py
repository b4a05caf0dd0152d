"""Importing a station export: matching, volume differences, attribution, idempotence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Donation
from stations.models import CollectionRecord, StationExport
from stations.preview import station_preview
from stations.services import station_apply
from tests.factories import UnitFactory, make_donation
from units.models import UnitAlias

from .conftest import TODAY, station_row, station_xlsx

pytestmark = pytest.mark.django_db

MARCH_3 = dt.date(2026, 3, 3)


def _import(jurisdiction, user, data, name="station.xlsx", **kwargs):
    preview = station_preview(data=data, filename=name, jurisdiction=jurisdiction, today=TODAY)
    assert preview.ok, (preview.errors, [(c.row.ref, c.errors) for c in preview.error_rows])
    return preview, station_apply(
        preview=preview, jurisdiction=jurisdiction, user=user, filename=name, sha256="0" * 64, **kwargs
    )


@pytest.fixture
def world(jurisdiction, unit_a, unit_b, staff_user):
    UnitAlias.objects.create(
        unit=unit_b, jurisdiction=jurisdiction, name="仪征市教育局", normalized_name="仪征市教育局"
    )
    reported = make_donation(unit_a, donated_on=MARCH_3, seq=11)
    differs = make_donation(unit_a, donated_on=MARCH_3, seq=13, amount=200)
    unseen = make_donation(unit_a, donated_on=dt.date(2026, 3, 20), seq=15)
    later = make_donation(unit_a, donated_on=dt.date(2026, 5, 2), seq=17)  # after the export's range
    rows = [
        station_row(11, MARCH_3, "仪化"),  # reported by 仪化公司: matched whatever the workplace says
        station_row(13, MARCH_3, "仪化公司"),  # reported 200 ml, collected 400 ml
        station_row(21, dt.date(2026, 3, 5), "教育局"),  # station-only, exact name
        station_row(23, dt.date(2026, 3, 6), "仪征市教育局"),  # station-only, alias
        station_row(25, dt.date(2026, 3, 7), "某某个体户"),  # matches no unit
        station_row(27, dt.date(2026, 3, 8), "教育局", kind="机采血小板", amount="1治疗量"),
    ]
    return {"reported": reported, "differs": differs, "unseen": unseen, "later": later, "data": station_xlsx(rows)}


def test_preview_counts_each_outcome(world, jurisdiction):
    preview = station_preview(data=world["data"], filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.ok
    assert preview.counts == {
        "already": 0,
        "matched": 1,
        "volume": 1,
        "name": 2,
        "alias": 1,
        "suggested": 0,
        "unattributed": 1,
        "error": 0,
    }
    assert (preview.first_day, preview.last_day) == (MARCH_3, dt.date(2026, 3, 8))
    assert CollectionRecord.objects.count() == 0  # a preview writes nothing


def test_apply_matches_attributes_and_keeps_no_personal_data_of_unattributed(
    world, jurisdiction, unit_a, unit_b, staff_user
):
    _preview, export = _import(jurisdiction, staff_user, world["data"])
    assert (export.new_records, export.matched, export.volume_differs, export.station_only, export.unattributed) == (
        6,
        1,
        1,
        4,
        1,
    )
    matched = CollectionRecord.objects.get(donation=world["reported"])
    assert (matched.outcome, matched.unit, matched.attribution) == ("matched", unit_a, "donation")
    assert matched.id_number_masked == world["reported"].id_number_masked
    assert matched.id_number_hash == world["reported"].id_number_hash
    assert CollectionRecord.objects.get(donation=world["differs"]).outcome == "volume"
    by_name = CollectionRecord.objects.filter(unit=unit_b, attribution="name")
    assert sorted(r.kind for r in by_name) == ["platelets", "whole"]
    assert CollectionRecord.objects.get(unit=unit_b, attribution="alias").workplace == "仪征市教育局"
    nobody = CollectionRecord.objects.get(attribution="none")
    assert (nobody.unit, nobody.donor_name, nobody.id_number_encrypted, nobody.id_number_masked) == (None, "", "", "")
    assert nobody.workplace == "某某个体户"
    # campaigns' donations are untouched: no flag, no status written by the station import
    assert set(Donation.objects.values_list("status", flat=True)) == {"logged"}
    assert all(d.flags == [] for d in Donation.objects.all())


def test_reupload_adds_nothing(world, jurisdiction, staff_user):
    _import(jurisdiction, staff_user, world["data"])
    before = list(CollectionRecord.objects.order_by("pk").values_list("pk", "station_key", "donation_id"))
    preview, export = _import(jurisdiction, staff_user, world["data"])
    assert preview.counts["already"] == 6 and preview.new_count == 0
    assert export.new_records == 0 and export.already_imported == 6
    assert list(CollectionRecord.objects.order_by("pk").values_list("pk", "station_key", "donation_id")) == before
    assert StationExport.objects.count() == 2


def test_overlapping_export_adds_only_the_new_rows(world, jurisdiction, staff_user):
    _import(jurisdiction, staff_user, world["data"])
    overlapping = station_xlsx(
        [
            station_row(21, dt.date(2026, 3, 5), "教育局"),  # in the first export
            station_row(15, dt.date(2026, 3, 20), "仪化公司"),  # new: the donation reported on the 20th
            station_row(31, dt.date(2026, 4, 2), "教育局", code=""),  # no 献血码: keyed by person, day, kind
        ]
    )
    preview, export = _import(jurisdiction, staff_user, overlapping)
    assert preview.counts["already"] == 1 and preview.counts["matched"] == 1 and preview.counts["name"] == 1
    assert CollectionRecord.objects.count() == 8
    assert CollectionRecord.objects.get(donation=world["unseen"]).outcome == "matched"
    assert CollectionRecord.objects.filter(station_key__startswith="k:").count() == 1
    again, _ = _import(jurisdiction, staff_user, overlapping)
    assert again.counts["already"] == 3


def test_same_person_day_and_kind_twice_in_a_file_is_one_record(jurisdiction, unit_b, staff_user):
    day = dt.date(2026, 3, 5)
    data = station_xlsx([station_row(21, day, "教育局", code="A1"), station_row(21, day, "教育局", code="A2")])
    preview, _ = _import(jurisdiction, staff_user, data)
    assert preview.counts["name"] == 1 and preview.counts["already"] == 1
    assert "A3" in preview.rows[1].errors[0] or "重复" in preview.rows[1].errors[0]
    assert CollectionRecord.objects.count() == 1


def test_rows_with_errors_block_the_import_with_cell_references(jurisdiction, staff_user):
    data = station_xlsx(
        [
            station_row(21, dt.date(2026, 3, 5), "教育局"),
            ["X2", "李四", "男", "360426199101010072", "2026-03-05", "全血", 400, "", "教育局"],
            ["X3", "王五", "男", "", "三月某天", "全血", "很多", "", "教育局"],
        ]
    )
    preview = station_preview(data=data, filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert not preview.ok
    bad = {c.row.ref: c.errors for c in preview.error_rows}
    assert set(bad) == {"Sheet!B4", "Sheet!B5"}
    assert "校验位" in bad["Sheet!B4"][0]
    assert len(bad["Sheet!B5"]) == 3  # no ID number, no date, no amount
    with pytest.raises(ValidationError):
        station_apply(preview=preview, jurisdiction=jurisdiction, user=staff_user, filename="s", sha256="0" * 64)
    assert CollectionRecord.objects.count() == 0


def test_no_header_is_a_file_error(jurisdiction):
    data = "姓名,性别\n张三,男\n".encode("gbk")
    preview = station_preview(data=data, filename="s.csv", jurisdiction=jurisdiction, today=TODAY)
    assert preview.errors and not preview.ok


def test_gbk_csv_in_another_column_order(jurisdiction, unit_b, staff_user):
    text = "工作单位,采血日期,身份证号,姓名,血液成分,采血量,条码\n教育局,2026/3/5,{},赵六,全血,300,T1\n".format(
        station_row(41, dt.date(2026, 3, 5), "")[3]
    )
    preview, export = _import(jurisdiction, staff_user, text.encode("gbk"), name="s.csv")
    assert preview.counts["name"] == 1
    record = CollectionRecord.objects.get()
    assert (record.unit, record.volume_ml, record.station_key) == (unit_b, 300, "c:T1")


def test_a_unit_of_another_jurisdiction_is_not_attributed(jurisdiction, staff_user):
    UnitFactory(name="外地公司")  # in another jurisdiction
    data = station_xlsx([station_row(21, dt.date(2026, 3, 5), "外地公司")])
    preview, _ = _import(jurisdiction, staff_user, data)
    assert preview.counts["unattributed"] == 1


def test_range_must_cover_the_file(world, jurisdiction, staff_user):
    preview = station_preview(data=world["data"], filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    with pytest.raises(ValidationError):
        station_apply(
            preview=preview,
            jurisdiction=jurisdiction,
            user=staff_user,
            filename="s",
            sha256="0" * 64,
            first_day=dt.date(2026, 3, 4),
            last_day=dt.date(2026, 3, 31),
        )
    export = station_apply(
        preview=preview,
        jurisdiction=jurisdiction,
        user=staff_user,
        filename="s",
        sha256="0" * 64,
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
    )
    assert (export.first_day, export.last_day) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_preview_queries_do_not_grow_with_rows(jurisdiction, unit_a, unit_b, django_assert_max_num_queries):
    few = station_xlsx([station_row(100 + i, dt.date(2026, 3, 5), "教育局") for i in range(3)])
    many = station_xlsx([station_row(100 + i, dt.date(2026, 3, 5), "教育局") for i in range(300)])
    for i in range(0, 300, 7):
        make_donation(unit_a, donated_on=dt.date(2026, 3, 5), seq=100 + i)
    # per batch: records already linked by their code (before any check), then units, aliases,
    # and per batch: records kept, donations that may match
    with django_assert_max_num_queries(5):
        station_preview(data=few, filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    with django_assert_max_num_queries(5):
        preview = station_preview(data=many, filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.counts["matched"] == 43 and preview.counts["name"] == 257


def test_text_with_tabs_backslashes_and_line_breaks_is_kept_as_read(jurisdiction, unit_b, staff_user):
    """Records are written with COPY on PostgreSQL: its text format's special characters survive."""
    row = station_row(21, dt.date(2026, 3, 5), "教育局")
    row[7] = "献血屋\t二号\\车\n东门"  # 采血点
    unattributed = station_row(23, dt.date(2026, 3, 6), "某某\\N个体户\r")
    _import(jurisdiction, staff_user, station_xlsx([row, unattributed]))
    places = dict(CollectionRecord.objects.values_list("attribution", "place"))
    assert places["name"] == "献血屋\t二号\\车\n东门"
    assert CollectionRecord.objects.get(attribution="none").workplace == "某某\\N个体户"


def test_each_row_keeps_the_error_of_a_date_or_amount_repeated_in_the_file(jurisdiction):
    """The reader parses each distinct date and amount once; every row still gets its own error."""
    rows = [station_row(21 + 2 * i, dt.date(2026, 3, 5), "教育局") for i in range(3)]
    for row in rows:
        row[4], row[6] = "三月某天", "很多"
    rows.append(station_row(41, dt.date(2026, 3, 5), "教育局"))
    preview = station_preview(data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    bad = {c.row.ref: c.errors for c in preview.error_rows}
    assert set(bad) == {"Sheet!B3", "Sheet!B4", "Sheet!B5"}
    assert all(len(errors) == 2 for errors in bad.values())  # the date and the amount, on each row
    assert preview.rows[3].row.collected_on == dt.date(2026, 3, 5) and not preview.rows[3].errors

"""Re-importing an export: rows whose records are linked to a donation are skipped; a record
kept before without a donation is matched or attributed when the export comes again after a
donation was reported or an alias added; nothing is ever added twice; a preview made stale by
another import is refused, not doubled."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns.models import Donation
from stations.models import CollectionRecord, StationExport
from stations.preview import station_preview
from stations.services import ERROR_CONFLICT, station_apply
from tests.factories import make_donation
from units.models import UnitAlias

from .conftest import TODAY, station_row, station_xlsx
from .test_pages import _upload, office  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
MARCH_5 = dt.date(2026, 3, 5)


def _preview(jurisdiction, rows, **kwargs):
    preview = station_preview(
        data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY, **kwargs
    )
    assert preview.ok, [(c.row.ref, c.errors) for c in preview.error_rows]
    return preview


def _import(jurisdiction, user, rows):
    preview = _preview(jurisdiction, rows, suggest=False)
    return preview, station_apply(
        preview=preview, jurisdiction=jurisdiction, user=user, filename="s.xlsx", sha256="0" * 64
    )


def _state():
    """What the database holds: records (key, unit, attribution, outcome, linked), donations."""
    records = sorted(
        CollectionRecord.objects.values_list("station_key", "unit__name", "attribution", "outcome", "donation_id")
    )
    return records, Donation.objects.count()


ROWS = [
    station_row(21, MARCH_5, "仪征市教育局"),  # no unit of that name yet: unattributed, anonymous
    station_row(23, MARCH_5, "个体"),  # matches nothing, then a liaison reports the donation
    station_row(25, MARCH_5, "教育局"),  # attributed by name: a donation of 教育局 (final)
]


def test_after_a_new_alias_a_reupload_attributes_the_record(jurisdiction, unit_a, unit_b, staff_user):
    _import(jurisdiction, staff_user, ROWS)
    nobody = CollectionRecord.objects.get(workplace="仪征市教育局")
    assert (nobody.attribution, nobody.unit, nobody.donor_name, nobody.id_number_hash) == ("none", None, "", "")
    assert Donation.objects.filter(source="station").count() == 1
    UnitAlias.objects.create(
        unit=unit_b, jurisdiction=jurisdiction, name="仪征市教育局", normalized_name="仪征市教育局"
    )

    preview, export = _import(jurisdiction, staff_user, ROWS)

    assert (preview.new_count, len(preview.updates), preview.counts["already"]) == (0, 1, 2)
    assert (export.new_records, export.updated_records, export.already_imported) == (0, 1, 2)
    nobody.refresh_from_db()
    assert (nobody.attribution, nobody.unit, nobody.outcome) == ("alias", unit_b, "created")
    assert nobody.donor_name == "献血者21" and nobody.id_number_masked and nobody.id_number_encrypted
    created = nobody.donation
    assert (created.unit, created.source, created.station_verified, created.donated_on) == (
        unit_b,
        "station",
        True,
        MARCH_5,
    )
    assert CollectionRecord.objects.count() == 3 and Donation.objects.filter(source="station").count() == 2
    # Once more: nothing changes, nothing is added.
    before = _state()
    preview, export = _import(jurisdiction, staff_user, ROWS)
    assert (export.new_records, export.updated_records, export.already_imported) == (0, 0, 3)
    assert _state() == before


def test_after_a_liaison_reports_the_donation_a_reupload_verifies_it(jurisdiction, unit_a, staff_user):
    _import(jurisdiction, staff_user, ROWS)
    record = CollectionRecord.objects.get(workplace="个体")
    assert (record.attribution, record.id_number_hash) == ("none", "")  # rematch cannot find it: no hash kept
    reported = make_donation(unit_a, donated_on=MARCH_5, seq=23)
    assert not reported.station_verified

    _preview_, export = _import(jurisdiction, staff_user, ROWS)

    assert (export.updated_records, export.matched, export.new_records) == (1, 1, 0)
    record.refresh_from_db()
    reported.refresh_from_db()
    assert (record.donation, record.unit, record.attribution, record.outcome) == (
        reported,
        unit_a,
        "donation",
        "matched",
    )
    assert record.id_number_hash == reported.id_number_hash and record.donor_name == "献血者23"
    assert reported.station_verified
    assert list(Donation.objects.all()) == [reported]  # nothing created for the record
    before = _state()
    _import(jurisdiction, staff_user, ROWS)
    assert _state() == before


def test_an_overlapping_export_keyed_otherwise_updates_the_same_record(jurisdiction, unit_a, unit_b, staff_user):
    _import(jurisdiction, staff_user, ROWS)
    UnitAlias.objects.create(
        unit=unit_b, jurisdiction=jurisdiction, name="仪征市教育局", normalized_name="仪征市教育局"
    )
    # The same collections exported without 献血码: keyed by person, day and kind.
    uncoded = [[""] + row[1:] for row in ROWS]
    _preview_, export = _import(jurisdiction, staff_user, uncoded)
    assert (export.new_records, export.updated_records, export.already_imported) == (0, 1, 2)
    assert CollectionRecord.objects.count() == 3 and Donation.objects.filter(source="station").count() == 2


def test_a_kept_unattributed_row_is_offered_as_a_suggestion_again(jurisdiction, unit_a, unit_b, staff_user):
    rows = [station_row(27, MARCH_5, "教育局分部")]  # resembles 教育局: a suggestion, unattributed on apply
    _import(jurisdiction, staff_user, rows)
    preview = _preview(jurisdiction, rows)
    assert preview.counts["suggested"] == 1 and preview.new_count == 0 and preview.updates == []
    assert [line["workplace"] for line in preview.suggestions] == ["教育局分部"]
    export = station_apply(preview=preview, jurisdiction=jurisdiction, user=staff_user, filename="s", sha256="0")
    assert (export.new_records, export.updated_records, export.already_imported) == (0, 0, 1)
    assert CollectionRecord.objects.get().attribution == "none"


def test_a_linked_record_is_final_even_if_its_row_changed(jurisdiction, unit_a, unit_b, staff_user):
    _import(jurisdiction, staff_user, ROWS)
    before = _state()
    changed = [list(row) for row in ROWS]
    changed[2][3] = "32108119900101001X"  # 教育局's record (linked): now an invalid ID number
    preview, export = _import(jurisdiction, staff_user, changed)
    assert preview.counts["already"] == 3 and export.updated_records == 0
    assert _state() == before


def test_a_stale_preview_is_refused_not_doubled(jurisdiction, unit_a, unit_b, staff_user):
    coded = _preview(jurisdiction, [station_row(25, MARCH_5, "教育局")], suggest=False)
    uncoded = _preview(jurisdiction, [station_row(25, MARCH_5, "教育局", code="")], suggest=False)
    station_apply(preview=coded, jurisdiction=jurisdiction, user=staff_user, filename="a", sha256="0")
    with pytest.raises(ValidationError) as refused:
        station_apply(preview=uncoded, jurisdiction=jurisdiction, user=staff_user, filename="b", sha256="0")
    assert refused.value.messages == [ERROR_CONFLICT]
    assert CollectionRecord.objects.count() == 1 and Donation.objects.count() == 1
    assert StationExport.objects.count() == 1


def test_a_stale_preview_of_a_record_another_import_updated_is_refused(jurisdiction, unit_a, unit_b, staff_user):
    _import(jurisdiction, staff_user, ROWS)
    UnitAlias.objects.create(
        unit=unit_b, jurisdiction=jurisdiction, name="仪征市教育局", normalized_name="仪征市教育局"
    )
    first, second = _preview(jurisdiction, ROWS, suggest=False), _preview(jurisdiction, ROWS, suggest=False)
    station_apply(preview=first, jurisdiction=jurisdiction, user=staff_user, filename="a", sha256="0")
    with pytest.raises(ValidationError) as refused:
        station_apply(preview=second, jurisdiction=jurisdiction, user=staff_user, filename="b", sha256="0")
    assert refused.value.messages == [ERROR_CONFLICT]
    assert Donation.objects.filter(source="station").count() == 2


def test_the_pages_say_what_a_reupload_updates(
    staff_client,
    office,  # noqa: F811
    jurisdiction,
    unit_a,
    unit_b,
    staff_user,
):
    _import(jurisdiction, staff_user, ROWS)
    UnitAlias.objects.create(
        unit=unit_b, jurisdiction=jurisdiction, name="仪征市教育局", normalized_name="仪征市教育局"
    )
    response = _upload(staff_client, station_xlsx(ROWS))
    assert '<td id="station-updates">1</td>' in response.content.decode()
    done = staff_client.post(reverse("stations:upload"), {"token": response.context["token"]}, follow=True)
    assert "1 条此前未匹配或未归属的记录已更新" in done.content.decode()
    assert CollectionRecord.objects.get(workplace="仪征市教育局").unit == unit_b

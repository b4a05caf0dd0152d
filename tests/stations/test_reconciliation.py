"""The reconciliation per unit: verified, reported-but-unseen only on covered days, station-only."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns.models import Donation
from stations import services
from stations.models import CollectionRecord
from stations.preview import station_preview
from stations.selectors import reconciliation, reported_unseen, verified_counts
from stations.services import rematch, station_apply
from tests.factories import JurisdictionFactory, UnitFactory, make_donation
from units.services import jurisdiction_save

from .conftest import TODAY, station_row, station_xlsx

pytestmark = pytest.mark.django_db


def _import(jurisdiction, user, rows, **kwargs):
    preview = station_preview(data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.ok
    return station_apply(preview=preview, jurisdiction=jurisdiction, user=user, filename="s", sha256="0" * 64, **kwargs)


def test_unseen_only_within_covered_ranges(jurisdiction, unit_a, unit_b, staff_user):
    seen = make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    unseen_march = make_donation(unit_a, donated_on=dt.date(2026, 3, 20), seq=13)
    unseen_may = make_donation(unit_a, donated_on=dt.date(2026, 5, 10), seq=15)
    not_covered = make_donation(unit_a, donated_on=dt.date(2026, 4, 15), seq=17)
    rejected = make_donation(unit_a, donated_on=dt.date(2026, 3, 21), seq=19, status="rejected")
    _import(
        jurisdiction,
        staff_user,
        [station_row(11, dt.date(2026, 3, 3), "仪化公司"), station_row(21, dt.date(2026, 3, 9), "教育局")],
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
    )
    # a second export overlapping the first (9-31 March), a third for 1-12 May
    _import(
        jurisdiction,
        staff_user,
        [station_row(21, dt.date(2026, 3, 9), "教育局"), station_row(25, dt.date(2026, 3, 28), "无名单位")],
        first_day=dt.date(2026, 3, 9),
        last_day=dt.date(2026, 3, 31),
    )
    _import(
        jurisdiction,
        staff_user,
        [station_row(23, dt.date(2026, 5, 1), "无名单位")],
        first_day=dt.date(2026, 5, 1),
        last_day=dt.date(2026, 5, 12),
    )
    assert set(reported_unseen(jurisdiction, 2026)) == {unseen_march, unseen_may}
    assert seen not in reported_unseen(jurisdiction, 2026)
    assert not_covered not in reported_unseen(jurisdiction, 2026) and rejected not in reported_unseen(
        jurisdiction, 2026
    )

    result = reconciliation(jurisdiction, 2026)
    lines = {line.unit: line for line in result.lines}
    a, b = lines[unit_a], lines[unit_b]
    assert (a.reported, a.verified, a.unseen, a.station_only) == (4, 1, 2, 0)
    assert (b.reported, b.verified, b.unseen, b.station_only) == (0, 0, 0, 1)
    assert result.unattributed == 2
    assert result.totals["station_only"] == 1  # the unattributed record is counted apart, not in a unit
    # unit_b's station-only record became its donation (source 血站记录): counted, and verified
    assert verified_counts([unit_a.pk, unit_b.pk], 2026) == {unit_a.pk: 1, unit_b.pk: 1}
    assert verified_counts([unit_a.pk], 2025) == {}


def test_an_export_of_the_city_covers_its_districts(db, staff_user):
    city = JurisdictionFactory(name="扬州市", level=2)
    district = JurisdictionFactory(name="仪征市", parent=city)
    unit = UnitFactory(name="仪化公司", jurisdiction=district)
    reported = make_donation(unit, donated_on=dt.date(2026, 3, 20), seq=13)
    _import(city, staff_user, [station_row(21, dt.date(2026, 3, 9), "仪化公司")])
    assert list(reported_unseen(district, 2026)) == []  # 3-20 is outside 3-9..3-9
    _import(city, staff_user, [station_row(23, dt.date(2026, 3, 25), "外地")])
    assert list(reported_unseen(district, 2026)) == []  # ranges 3-9 and 3-25: 3-20 still uncovered
    _import(city, staff_user, [station_row(25, dt.date(2026, 3, 26), "外地")], first_day=dt.date(2026, 3, 10))
    assert list(reported_unseen(district, 2026)) == [reported]
    assert reconciliation(district, 2026).lines[0].station_only == 1


def test_a_donation_reported_after_the_import_is_matched_by_rematch(jurisdiction, unit_a, unit_b, staff_user):
    # The person already had a platelet donation that day (one counted donation a day): the
    # whole-blood record attributed to 教育局 cannot become a donation and stays station-only.
    platelets = make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11, kind="platelets", amount=1)
    _import(jurisdiction, staff_user, [station_row(11, dt.date(2026, 3, 3), "教育局")])
    record = CollectionRecord.objects.get()
    assert (record.outcome, record.unit, record.donation) == ("station", unit_b, None)
    assert reconciliation(jurisdiction, 2026).lines[-1].station_only == 1
    # The liaison corrects the kind to whole blood (300 ml): rematch links the record.
    Donation.objects.filter(pk=platelets.pk).update(kind="whole", doses=None, volume_ml=300, blood_units=1.5)
    assert rematch(jurisdiction=jurisdiction) == 1
    platelets.refresh_from_db()
    assert platelets.collection_record.outcome == "volume" and platelets.collection_record.unit == unit_a
    assert platelets.station_verified
    lines = {line.unit: line for line in reconciliation(jurisdiction, 2026).lines}
    assert (lines[unit_a].verified, lines[unit_a].volume_differs) == (1, 1)
    assert unit_b not in lines
    assert rematch(jurisdiction=jurisdiction) == 0


def test_a_donation_withdrawn_while_rematch_waits_for_the_people_is_left_out(
    jurisdiction, unit_a, unit_b, staff_user, monkeypatch
):
    # As test above: a station-only record, then the donation corrected so rematch finds it.
    platelets = make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11, kind="platelets", amount=1)
    _import(jurisdiction, staff_user, [station_row(11, dt.date(2026, 3, 3), "教育局")])
    Donation.objects.filter(pk=platelets.pk).update(kind="whole", doses=None, volume_ml=300, blood_units=1.5)
    real_lock = services.lock_people

    def withdrawn_first(people):  # the liaison's withdrawal held the person's lock and committed
        Donation.objects.filter(pk=platelets.pk).delete()
        return real_lock(people)

    monkeypatch.setattr(services, "lock_people", withdrawn_first)
    assert rematch(jurisdiction=jurisdiction) == 0  # no error at commit: nothing linked
    assert CollectionRecord.objects.get().donation is None


def test_another_jurisdiction_sees_none_of_it(jurisdiction, unit_a, staff_user):
    other = jurisdiction_save(jurisdiction=type(jurisdiction)(name="邗江区"))
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3), seq=11)
    _import(jurisdiction, staff_user, [station_row(11, dt.date(2026, 3, 3), "仪化公司")])
    result = reconciliation(other, 2026)
    assert result.lines == [] and result.unattributed == 0 and result.exports == []
    assert list(reported_unseen(other, 2026)) == []


def test_the_verified_share_is_of_what_was_reported():
    from stations.selectors import UnitLine

    assert UnitLine(unit=None, reported=4, verified=3).verified_share == 0.75
    assert UnitLine(unit=None, verified=2).verified_share is None  # nothing reported: no share, not 0 %

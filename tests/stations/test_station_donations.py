"""Station-only records become donations of their unit; suggestions confirmed in the preview;
the kept station-verified count; what the liaison sees on their donations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from campaigns import tally
from campaigns.models import Donation, DonationTally, VerifiedTally
from stations.models import CollectionRecord
from stations.preview import station_preview
from stations.services import station_apply
from tests.factories import JurisdictionFactory, make_donation
from units.models import UnitAlias

from .conftest import TODAY, station_row, station_xlsx
from .test_pages import _upload

pytestmark = pytest.mark.django_db
MARCH_3 = dt.date(2026, 3, 3)


def _import(jurisdiction, user, rows, **kwargs):
    preview = station_preview(data=station_xlsx(rows), filename="s.xlsx", jurisdiction=jurisdiction, today=TODAY)
    assert preview.ok
    return preview, station_apply(
        preview=preview, jurisdiction=jurisdiction, user=user, filename="s.xlsx", sha256="0" * 64, **kwargs
    )


def _verified(jurisdiction, year=2026) -> int:
    row = VerifiedTally.objects.filter(jurisdiction=jurisdiction, year=year).first()
    return row.persons if row else 0


def test_a_station_only_record_of_a_unit_becomes_its_donation(jurisdiction, unit_a, unit_b, staff_user):
    reported = make_donation(unit_a, donated_on=MARCH_3, seq=11)
    preview, _export = _import(
        jurisdiction,
        staff_user,
        [station_row(11, MARCH_3, "仪化公司"), station_row(21, dt.date(2026, 3, 5), "教育局", name="李四")],
    )
    assert preview.creates == 1
    created = Donation.objects.get(unit=unit_b)
    assert (created.source, created.station_verified, created.donor_name, created.volume_ml) == (
        "station",
        True,
        "李四",
        400,
    )
    assert CollectionRecord.objects.get(donation=created).outcome == "created"
    assert DonationTally.objects.get(unit=unit_b, day=dt.date(2026, 3, 5)).persons == 1  # counted like any other
    assert created.history.get().history_change_reason.startswith("血站采血记录新增")
    reported.refresh_from_db()
    assert reported.station_verified and reported.source == "reported"
    assert _verified(jurisdiction) == 2


def test_a_person_with_a_donation_that_day_gets_no_second_one(jurisdiction, unit_a, unit_b, staff_user):
    make_donation(unit_a, donated_on=MARCH_3, seq=11, kind="platelets", amount=1)
    preview, _ = _import(jurisdiction, staff_user, [station_row(11, MARCH_3, "教育局")])
    assert preview.creates == 0
    assert Donation.objects.count() == 1 and CollectionRecord.objects.get().outcome == "station"


def test_the_verified_count_follows_rejection_and_a_unit_moving(jurisdiction, unit_a, unit_b, staff_user):
    make_donation(unit_a, donated_on=MARCH_3, seq=11)
    make_donation(unit_a, donated_on=dt.date(2027, 1, 4), seq=13)
    _import(jurisdiction, staff_user, [station_row(11, MARCH_3, "x"), station_row(13, dt.date(2027, 1, 4), "x")])
    assert (_verified(jurisdiction), _verified(jurisdiction, 2027)) == (1, 1)
    donation = Donation.objects.get(donated_on=MARCH_3)
    Donation.objects.filter(pk=donation.pk).update(status="rejected")
    assert _verified(jurisdiction) == 0
    Donation.objects.filter(pk=donation.pk).update(status="verified")
    assert _verified(jurisdiction) == 1
    elsewhere = JurisdictionFactory(name="邗江区", parent=jurisdiction)
    unit_a.jurisdiction = elsewhere
    unit_a.save()
    assert (_verified(jurisdiction), _verified(elsewhere), _verified(elsewhere, 2027)) == (0, 1, 1)
    kept = sorted(VerifiedTally.objects.filter(persons__gt=0).values_list("jurisdiction_id", "year", "persons"))
    if connection.vendor in ("sqlite", "postgresql"):
        tally.recount()
        assert sorted(VerifiedTally.objects.values_list("jurisdiction_id", "year", "persons")) == kept


def test_staff_confirm_a_suggestion_and_the_alias_is_saved(staff_client, jurisdiction, unit_a, unit_b):
    data = station_xlsx(
        [
            station_row(21, dt.date(2026, 3, 5), "仪征市教育局机关"),
            station_row(23, dt.date(2026, 3, 6), "仪征市教育局机关"),
            station_row(25, dt.date(2026, 3, 7), "仪化公司机关"),
        ]
    )
    response = _upload(staff_client, data)
    page = response.content.decode()
    assert 'id="station-suggestions"' in page and "仪征市教育局机关" in page
    lines = response.context["preview"].suggestions
    assert [line["workplace"] for line in lines] == ["仪征市教育局机关", "仪化公司机关"]
    assert lines[0]["rows"] == 2 and lines[0]["units"][0][0] == unit_b.pk
    # one control per workplace: 教育局 confirmed, the other left unattributed
    staff_client.post(
        reverse("stations:upload"),
        {
            "token": response.context["token"],
            "workplace": ["仪征市教育局机关", "仪化公司机关"],
            "unit": [str(unit_b.pk), ""],
        },
    )
    assert UnitAlias.objects.filter(unit=unit_b, name="仪征市教育局机关").exists()
    assert not UnitAlias.objects.filter(unit=unit_a).exists()
    assert Donation.objects.filter(unit=unit_b, source="station").count() == 2
    anonymous = CollectionRecord.objects.get(workplace="仪化公司机关")
    assert (anonymous.unit, anonymous.donor_name, anonymous.id_number_encrypted) == (None, "", "")


def test_a_suggestion_for_a_unit_elsewhere_is_refused(staff_client, jurisdiction, unit_b):
    outside = JurisdictionFactory(name="高邮市")
    from tests.factories import UnitFactory

    stranger = UnitFactory(name="高邮教育局", jurisdiction=outside)
    response = _upload(staff_client, station_xlsx([station_row(21, dt.date(2026, 3, 5), "仪征市教育局机关")]))
    staff_client.post(
        reverse("stations:upload"),
        {"token": response.context["token"], "workplace": ["仪征市教育局机关"], "unit": [str(stranger.pk)]},
    )
    assert not UnitAlias.objects.exists() and not Donation.objects.exists()


def test_the_liaison_sees_verified_and_unseen_on_their_donations(liaison_client, jurisdiction, unit_a, staff_user):
    verified = make_donation(unit_a, donated_on=MARCH_3, seq=11)
    unseen = make_donation(unit_a, donated_on=dt.date(2026, 3, 20), seq=13)
    later = make_donation(unit_a, donated_on=dt.date(2026, 5, 2), seq=15)  # no export covers it
    _import(
        jurisdiction,
        staff_user,
        [station_row(11, MARCH_3, "仪化公司")],
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
    )
    page = liaison_client.get(reverse("campaigns:donor_list")).content.decode()
    rows = {d.pk: d for d in liaison_client.get(reverse("campaigns:donor_list")).context["donations"]}
    assert [m.kind for m in rows[verified.pk].marks] == ["verified"]
    assert [m.kind for m in rows[unseen.pk].marks] == ["unseen"]
    assert rows[later.pk].marks == []
    assert "血站核实" in page and "未见采血记录" in page
    assert "血站 2026-03-01 至 2026-03-31 的采血记录中没有此人在这一天的献血记录" in page
    # a station-verified donation is locked for the liaison, as a staff-verified one
    assert reverse("campaigns:withdraw_donation", args=[verified.pk]) not in page
    assert reverse("campaigns:withdraw_donation", args=[unseen.pk]) in page
    liaison_client.post(reverse("campaigns:withdraw_donation", args=[verified.pk]))
    assert Donation.objects.filter(pk=verified.pk).exists()
    home = liaison_client.get(reverse("campaigns:liaison_home")).content.decode()
    assert "未见采血记录" in home


def test_a_created_donation_is_what_donation_build_gives(jurisdiction, unit_a, unit_b, staff_user):
    """The apply writes station-only donations in bulk (COPY on PostgreSQL): every field and the
    history row must be those of `donation_build` with source 血站记录, and the flags those the
    rules give (a whole-blood donation 30 days after another breaches the interval)."""
    from campaigns.services import donation_build
    from core import crypto
    from tests.factories import id_number

    make_donation(unit_a, donated_on=MARCH_3, seq=31)
    later = MARCH_3 + dt.timedelta(days=30)
    _import(
        jurisdiction,
        staff_user,
        [
            station_row(21, MARCH_3, "教育局", name=" 李四 "),
            station_row(31, later, "教育局", name="王五"),
            station_row(41, MARCH_3, "教育局", kind="单采血小板", amount=2, name="赵六"),
        ],
    )
    created = {d.donor_name: d for d in Donation.objects.filter(source="station")}
    assert sorted(created) == ["李四", "王五", "赵六"]
    skip = {"id", "logged_at", "id_number_encrypted", "station_verified", "flags"}
    for seq, name, day, kind, amount in [
        (21, "李四", MARCH_3, "whole", 400),
        (31, "王五", later, "whole", 400),
        (41, "赵六", MARCH_3, "platelets", 2),
    ]:
        donation = created[name]
        built = donation_build(
            unit=unit_b,
            donor_name=name,
            id_number=id_number(seq=seq),
            donated_on=day,
            kind=kind,
            amount=amount,
            logged_by=staff_user,
        )
        built.source = Donation.Source.STATION
        for field in Donation._meta.concrete_fields:
            if field.attname not in skip:
                assert getattr(donation, field.attname) == getattr(built, field.attname), field.attname
        assert crypto.decrypt(donation.id_number_encrypted) == id_number(seq=seq)
        assert donation.station_verified and donation.logged_at is not None
        first = donation.history.order_by("history_id").first()
        assert (first.history_type, first.history_user, first.station_verified) == ("+", staff_user, False)
        assert first.history_change_reason == "血站采血记录新增：s.xlsx"
        for field in Donation.history.model.tracked_fields:
            if field.attname not in {"station_verified", "flags", "logged_at"}:
                assert getattr(first, field.attname) == getattr(donation, field.attname), field.attname
        assert first.logged_at == donation.logged_at and first.flags == []
    assert created["李四"].flags == [] and created["赵六"].flags == []
    assert created["王五"].flags  # the interval breached: flagged by the reflag under the lock
    assert created["王五"].history.count() == 2  # created, then flagged
    assert DonationTally.objects.get(unit=unit_b, day=MARCH_3).persons == 2
    assert str(DonationTally.objects.get(unit=unit_b, day=MARCH_3).blood_units) == str(
        created["李四"].blood_units + created["赵六"].blood_units
    )

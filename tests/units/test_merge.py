"""Merging duplicate units (issue 17): everything moves to the kept unit in one transaction,
the old names become its aliases, the history says so, the dashboard's kept figures stay right,
a merge that would put two quotas of one plan on one unit and period is refused naming them,
and nobody merges another office's units."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from campaigns import tally
from campaigns.dashboard.figures import dashboard_figures
from campaigns.models import Donation, DonationDrive
from quotas.models import DraftLine, PlanDraft, Quota
from stations.models import CollectionRecord, StationExport
from tests.campaigns.test_dashboard import JULY, Tree, _fresh
from tests.factories import (
    JurisdictionFactory,
    PlanFactory,
    QuotaFactory,
    UnitFactory,
    UserFactory,
    make_donation,
    make_liaison,
)
from units.merge import DERIVED, MergeRefused, unit_relations, units_merge
from units.models import StaffProfile, Unit, UnitAlias
from units.scope import Scope

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:units_unit_changelist"


def test_every_relation_to_a_unit_is_moved_or_declared_derived():
    """A new foreign key to Unit is moved by the merge unless declared derived: this list says
    which exist, so adding one makes someone look at the merge."""
    found = {(r.related_model._meta.label_lower, r.field.name) for r in unit_relations()}
    assert found == {
        ("units.unitalias", "unit"),
        ("units.unit", "parent"),
        ("units.liaison", "units"),
        ("quotas.quota", "units"),
        ("quotas.draftline", "units"),
        ("campaigns.donationdrive", "units"),
        ("campaigns.donation", "unit"),
        ("campaigns.donationtally", "unit"),
        ("stations.collectionrecord", "unit"),
    }
    assert set(DERIVED) <= found


@pytest.fixture
def world(jurisdiction):
    """仪征市 with 人武部 on record twice (人武部 and 县人武部) and a unit that counts toward the duplicate."""
    kept = UnitFactory(name="人武部", jurisdiction=jurisdiction)
    dup = UnitFactory(name="县人武部", jurisdiction=jurisdiction)
    sub = UnitFactory(name="民兵训练基地", jurisdiction=jurisdiction, parent=dup)
    UnitAlias.objects.create(unit=dup, jurisdiction=jurisdiction, name="武装部", normalized_name="武装部")
    plan = PlanFactory(jurisdiction=jurisdiction, year=2026)
    march = QuotaFactory(plan=plan, label="县人武部", units=[dup], target=12)
    group = QuotaFactory(
        plan=plan,
        label="人武部、县人武部",
        units=[kept, dup],
        target=4,
        period_text="5月份",
        period_start=dt.date(2026, 5, 1),
        period_end=dt.date(2026, 5, 31),
    )
    donations = [make_donation(dup, donated_on=dt.date(2026, 3, 3), seq=s) for s in (11, 13, 15)]
    make_donation(kept, donated_on=dt.date(2026, 3, 3), seq=17)
    liaison = make_liaison(UserFactory(username="wu", role="联络员"), dup, kept)
    drive = DonationDrive.objects.create(plan=plan, start_date=dt.date(2026, 3, 3), end_date=dt.date(2026, 3, 3))
    drive.units.add(dup)
    export = StationExport.objects.create(
        jurisdiction=jurisdiction,
        filename="x.csv",
        sha256="0" * 64,
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
    )
    record = CollectionRecord.objects.create(
        station_key="K1",
        match_key="m",
        export=export,
        jurisdiction=jurisdiction,
        collected_on=dt.date(2026, 3, 4),
        kind="whole",
        volume_ml=400,
        unit=dup,
        attribution="name",
        outcome="station",
        workplace="县人武部",
    )
    draft = PlanDraft.objects.create(jurisdiction=jurisdiction, year=2027)
    line = DraftLine.objects.create(draft=draft, label="县人武部", category="military")
    line.units.add(dup)
    return locals()


def test_a_merge_moves_everything_and_keeps_the_old_names_as_aliases(world, staff_user):
    kept, dup = world["kept"], world["dup"]
    report = units_merge(target=kept, sources=[dup], user=staff_user)
    assert not Unit.objects.filter(pk=dup.pk).exists()
    assert set(UnitAlias.objects.filter(unit=kept).values_list("name", flat=True)) == {"武装部", "县人武部"}
    assert list(world["march"].units.all()) == [kept]
    assert list(world["group"].units.all()) == [kept]  # a group of both: one link, not two
    assert Unit.objects.get(pk=world["sub"].pk).parent == kept
    assert Donation.objects.filter(unit=kept).count() == 4
    assert list(world["liaison"].units.all()) == [kept]
    assert list(world["drive"].units.all()) == [kept]
    assert CollectionRecord.objects.get(pk=world["record"].pk).unit == kept
    assert list(world["line"].units.all()) == [kept]
    assert tally.mismatches() == []  # the tally followed the donations
    assert report.aliases_added == ["县人武部"]
    # History: the kept unit, the deleted one and every moved donation name the merge.
    reason = "合并单位：县人武部 并入 人武部"
    assert kept.history.latest().history_change_reason == reason
    deleted = Unit.history.filter(id=dup.pk, history_type="-").get()
    assert (deleted.history_change_reason, deleted.history_user) == (reason, staff_user)
    for donation in world["donations"]:
        entry = donation.history.latest()
        assert (entry.unit_id, entry.history_change_reason, entry.history_user) == (kept.pk, reason, staff_user)


def test_a_unit_merged_into_its_own_subordinate_passes_its_place_on(world):
    """The kept unit was filed under the duplicate: it takes the duplicate's parent."""
    top = UnitFactory(name="市人武部", jurisdiction=world["jurisdiction"])
    dup, kept = world["dup"], world["kept"]
    Unit.objects.filter(pk=dup.pk).update(parent=top)
    Unit.objects.filter(pk=kept.pk).update(parent=dup)
    kept.refresh_from_db()
    units_merge(target=kept, sources=[Unit.objects.get(pk=dup.pk)])
    kept.refresh_from_db()
    assert kept.parent == top and Unit.objects.get(pk=world["sub"].pk).parent == kept


def test_a_merges_queries_do_not_grow_with_its_donations(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for name, n in (("仪征人武部", 3), ("县武装部", 30)):
        dup = UnitFactory(name=name, jurisdiction=world["jurisdiction"])
        for i in range(n):
            make_donation(dup, donated_on=dt.date(2026, 4, 1 + i % 28), seq=301 + 2 * i + (0 if n == 3 else 100))
        with CaptureQueriesContext(connection) as queries:
            units_merge(target=world["kept"], sources=[dup])
        counts.append(len(queries))
    assert counts[0] == counts[1]  # the donations' history in one bulk insert, not one per donation


def test_two_quotas_of_one_plan_on_one_unit_and_period_are_refused_with_their_names(world):
    kept, dup, plan = world["kept"], world["dup"], world["plan"]
    QuotaFactory(plan=plan, label="人武部", units=[kept], target=3)  # 3月份, as 县人武部's
    with pytest.raises(MergeRefused) as refused:
        units_merge(target=kept, sources=[dup])
    (message,) = refused.value.messages
    assert str(plan) in message and "3月份" in message and "县人武部" in message and "人武部" in message
    assert Unit.objects.filter(pk=dup.pk).exists() and Donation.objects.filter(unit=dup).count() == 3
    assert Quota.objects.get(pk=world["march"].pk).units.get() == dup


def test_a_merge_outside_the_scope_is_refused(world):
    elsewhere = UnitFactory(name="人武部", jurisdiction=JurisdictionFactory(name="如皋市"))
    with pytest.raises(PermissionDenied):
        units_merge(target=world["kept"], sources=[elsewhere], scope=Scope(root=world["jurisdiction"]))
    assert Unit.objects.filter(pk=elsewhere.pk).exists()


def test_the_dashboard_after_a_merge_equals_a_fresh_computation():
    tree = Tree()
    dup = UnitFactory(name="市教育局（旧）", jurisdiction=tree.city)
    for seq in (801, 803):
        make_donation(dup, donated_on=dt.date(2026, 3, 12), seq=seq)
    before = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)  # kept from now on
    dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY)
    assert {r["label"]: r for r in before["units"]}["市教育局"]["completed"] == 8
    units_merge(target=tree.a, sources=[dup])
    kept_city = dashboard_figures(jurisdiction=tree.city, year=2026, today=JULY)
    assert kept_city == _fresh(tree.city, JULY)
    assert {r["label"]: r for r in kept_city["units"]}["市教育局"]["completed"] == 10  # 8 + the duplicate's 2
    assert kept_city["headline"]["completed"] == before["headline"]["completed"]  # moved, not counted twice
    assert dashboard_figures(jurisdiction=tree.county1, year=2026, today=JULY) == _fresh(tree.county1, JULY)


# The admin action ------------------------------------------------------------------------


def _merge(client, units, target=None):
    data = {"action": "merge_units", "_selected_action": [u.pk for u in units]}
    if target is not None:
        data |= {"post": "yes", "target": target.pk}
    return client.post(reverse(CHANGELIST), data, follow=target is not None)


def test_staff_pick_the_unit_to_keep_confirm_and_the_admin_log_records_it(world, staff_client):
    kept, dup = world["kept"], world["dup"]
    page = _merge(staff_client, [kept, dup])
    text = page.content.decode()
    assert page.status_code == 200 and "合并单位" in text and "县人武部" in text and 'name="target"' in text
    done = _merge(staff_client, [kept, dup], target=kept)
    assert "已将 县人武部 并入 人武部" in done.content.decode()
    assert not Unit.objects.filter(pk=dup.pk).exists()
    assert LogEntry.objects.filter(object_id=str(dup.pk), action_flag=DELETION).exists()
    assert "合并单位" in LogEntry.objects.get(object_id=str(kept.pk)).change_message


def test_a_refused_merge_says_why_on_the_list_and_logs_nothing(world, staff_client):
    QuotaFactory(plan=world["plan"], label="人武部", units=[world["kept"]], target=3)
    done = _merge(staff_client, [world["kept"], world["dup"]], target=world["kept"])
    assert "未合并" in done.content.decode() and "3月份" in done.content.decode()
    assert Unit.objects.filter(pk=world["dup"].pk).exists() and not LogEntry.objects.exists()


@pytest.fixture
def other_office():
    county = JurisdictionFactory(name="如皋市")
    staff = UserFactory(username="rugao-office", role="献血办")
    StaffProfile.objects.create(user=staff, jurisdiction=county)
    return county, staff


def test_another_offices_staff_can_neither_merge_nor_merge_into_these_units(world, other_office, client):
    county, staff = other_office
    theirs = UnitFactory(name="人武部", jurisdiction=county)
    client.force_login(staff)
    # Both ours: not in their list, so the action receives nothing.
    _merge(client, [world["kept"], world["dup"]], target=world["kept"])
    # Theirs into ours, and ours into theirs: ours is never among what they selected.
    _merge(client, [theirs, world["dup"]], target=world["dup"])
    _merge(client, [theirs, world["dup"]], target=theirs)
    assert Unit.objects.filter(pk__in=[world["kept"].pk, world["dup"].pk, theirs.pk]).count() == 3
    assert Donation.objects.filter(unit=world["dup"]).count() == 3


def test_a_leader_cannot_merge(world, leader_client):
    _merge(leader_client, [world["kept"], world["dup"]], target=world["kept"])
    assert Unit.objects.filter(pk=world["dup"].pk).exists()

"""The data migration that cleans names stored with the print's layout (units 0003): cleaned by
`clean_name`, the old spelling kept as an alias, and a cleaned name that collides with another
unit's or jurisdiction's is left alone and reported, never merged silently."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from tests.factories import JurisdictionFactory, UnitFactory
from units.models import Jurisdiction, Unit, UnitAlias
from units.selectors import UnitMatcher

pytestmark = pytest.mark.django_db
migration = importlib.import_module("units.migrations.0003_clean_stored_names")


def test_layout_spaces_and_line_breaks_go_and_the_old_spelling_stays_an_alias(jurisdiction):
    spaced = UnitFactory(name="人  武  部", jurisdiction=jurisdiction)
    broken = UnitFactory(name="镇机关\n(含便民中心)", jurisdiction=jurisdiction)
    plain = UnitFactory(name="94987 部队", jurisdiction=jurisdiction)
    alias = UnitAlias.objects.create(unit=plain, jurisdiction=jurisdiction, name="邮 政", normalized_name="邮政")
    report = migration.clean_stored_names(apps)
    spaced.refresh_from_db()
    broken.refresh_from_db()
    plain.refresh_from_db()
    assert (spaced.name, broken.name, plain.name) == ("人武部", "镇机关（含便民中心）", "94987 部队")
    assert UnitAlias.objects.get(unit=spaced).name == "人  武  部"
    assert UnitAlias.objects.get(unit=broken).name == "镇机关\n(含便民中心)"
    alias.refresh_from_db()
    assert alias.name == "邮政"
    assert spaced.history.latest().history_change_reason == migration.REASON
    assert report["collisions"] == [] and len(report["units"]) == 2
    matcher = UnitMatcher(jurisdiction)  # what a name matches does not change
    assert matcher.match("人 武 部").unit_id == spaced.pk and matcher.match("人武部").unit_id == spaced.pk
    assert migration.clean_stored_names(apps) == {"units": [], "aliases": [], "jurisdictions": [], "collisions": []}


def test_a_cleaned_name_that_is_another_units_keeps_both_and_says_so(jurisdiction, capsys, caplog):
    clean = UnitFactory(name="邮政", jurisdiction=jurisdiction)
    # stored before normalisation dropped spaces: another normalised name, the same unit in print
    legacy = Unit.objects.create(name="邮 政", normalized_name="邮 政", jurisdiction=jurisdiction)
    report = migration.clean_stored_names(apps)
    legacy.refresh_from_db()
    clean.refresh_from_db()
    assert (legacy.name, clean.name) == ("邮 政", "邮政") and Unit.objects.count() == 2
    assert report["collisions"] == [(legacy.pk, clean.pk)]
    assert "两者都保留" in capsys.readouterr().out and "两者都保留" in caplog.text
    assert not UnitAlias.objects.exists()


def test_jurisdictions_are_cleaned_unless_a_sibling_has_the_name(jurisdiction, capsys):
    # Names as they were stored before: today's services clean them and refuse the twin.
    spaced = JurisdictionFactory(name="真州镇", parent=jurisdiction, level=Jurisdiction.Level.TOWN)
    twin = JurisdictionFactory(name="城南街", parent=jurisdiction, level=Jurisdiction.Level.TOWN)
    JurisdictionFactory(name="城南", parent=jurisdiction, level=Jurisdiction.Level.TOWN)
    Jurisdiction.objects.filter(pk=spaced.pk).update(name="真 州 镇")
    Jurisdiction.objects.filter(pk=twin.pk).update(name="城 南")
    report = migration.clean_stored_names(apps)
    spaced.refresh_from_db()
    twin.refresh_from_db()
    assert (spaced.name, twin.name) == ("真州镇", "城 南")
    assert report["collisions"] == [("jurisdiction", twin.pk, Jurisdiction.objects.get(name="城南").pk)]

"""Backups: export everything, load it into an empty database, get the same portal back."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection

from campaigns import tally
from campaigns.models import (
    Donation,
    DonationTally,
    JurisdictionProgress,
    JurisdictionProgressDirty,
    PlanProgress,
    PlanProgressDirty,
    VerifiedTally,
)
from campaigns.services import donations_review
from core import crypto
from ops import backup
from tests.factories import make_donation

pytestmark = pytest.mark.django_db


def _throughs(models):
    return [
        f.remote_field.through
        for m in models
        for f in m._meta.many_to_many
        if f.remote_field.through._meta.auto_created
    ]


def snapshot() -> dict:
    """Every exported row and many-to-many link, as plain values."""
    rows = {}
    for model in backup._models():
        if model is Group:
            rows["auth.group"] = sorted(
                (g.name, sorted(g.permissions.values_list("codename", flat=True))) for g in Group.objects.all()
            )
            continue
        rows[model._meta.label_lower] = list(model._default_manager.order_by("pk").values())
    for through in _throughs(m for m in backup._models() if m is not Group):
        columns = [f.attname for f in through._meta.concrete_fields if f.many_to_one]
        rows[through._meta.db_table] = sorted(through.objects.values_list(*columns))
    return rows


def wipe(media: Path) -> None:
    """What a freshly migrated database holds: the roles' groups and permissions, nothing else."""
    derived = [
        DonationTally,
        PlanProgress,
        PlanProgressDirty,
        JurisdictionProgress,
        JurisdictionProgressDirty,
        VerifiedTally,
    ]  # ProgressVersion's row comes with migrate
    transient = list(apps.get_app_config("core").get_models())  # staged uploads: never exported
    models = [m for m in backup._models() if m is not Group] + derived + transient
    tables = [m._meta.db_table for m in models] + [t._meta.db_table for t in _throughs(models)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # TRUNCATE refuses while deferred FK checks are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables, reset_sequences=True))
    for path in media.rglob("*"):
        if path.is_file():
            path.unlink()


@pytest.fixture
def demo(settings, staff_user):
    call_command("load_demo", "--today", "2026-07-15", stdout=io.StringIO())
    # some audit trail and a recorded access, so the history travels too
    donations_review(donations=Donation.objects.all()[:3], status=Donation.Status.VERIFIED, reviewer=staff_user)
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def small_portal(settings, staff_user, jurisdiction):
    """A notice imported with its file, units, a liaison, donations of two years, a review, a
    recorded access and a bulletin: every kind of row the backup carries, in seconds."""
    from campaigns.models import AccessEvent, Bulletin
    from quotas.services import plan_import
    from tests.factories import UserFactory, make_liaison
    from units.models import Unit

    notice = Path(__file__).resolve().parents[1] / "fixtures" / "notices" / "rugao-2023.xlsx"
    report = plan_import(data=notice.read_bytes(), filename=notice.name, jurisdiction=jurisdiction, year=2023)
    assert not report.errors
    units = list(Unit.objects.filter(jurisdiction=jurisdiction).order_by("pk")[:4])
    make_liaison(UserFactory(username="liaison-backup", role="联络员"), units[0])
    for i in range(40):
        make_donation(units[i % 4], donated_on=dt.date(2023 + i % 2, 3, 1 + i % 20), seq=2 * i + 1)
    donations_review(donations=Donation.objects.all()[:3], status=Donation.Status.VERIFIED, reviewer=staff_user)
    AccessEvent.objects.create(user=staff_user, action=AccessEvent.Action.SHOW_ID, donation=Donation.objects.first())
    Bulletin.objects.create(jurisdiction=jurisdiction, year=2023, title="第一期", as_of=dt.date(2023, 6, 1), figures={})
    return Path(settings.MEDIA_ROOT)


def _round_trip(media: Path, archive: Path) -> dict:
    """Export, wipe, import: everything comes back as it was. Returns the snapshot."""
    before = snapshot()
    files = {p.relative_to(media): p.read_bytes() for p in media.rglob("*") if p.is_file()}
    assert files, "the notice file should travel too"
    call_command("export_portal", archive, stdout=io.StringIO())
    wipe(media)
    assert Donation.objects.count() == 0 and not any(p.is_file() for p in media.rglob("*"))

    out = io.StringIO()
    call_command("import_portal", archive, stdout=out)
    assert "counts and tally checked" in out.getvalue()
    after = snapshot()
    assert after.keys() == before.keys()
    for label in before:
        assert after[label] == before[label], label
    assert {p.relative_to(media): p.read_bytes() for p in media.rglob("*") if p.is_file()} == files
    assert tally.mismatches() == []
    donation = Donation.objects.order_by("pk").first()
    assert crypto.decrypt(donation.id_number_encrypted)[-4:] == donation.id_number_masked[-4:]
    # the sequences moved past the loaded ids: new rows still get fresh keys
    make_donation(Donation.objects.first().unit, donated_on=dt.date(2026, 3, 3), seq=901)
    return before


def test_a_small_portal_round_trips(small_portal, tmp_path):
    before = _round_trip(small_portal, tmp_path / "backup.zip")
    assert len(before["campaigns.donation"]) == 40 and len(before["campaigns.historicaldonation"]) == 40 + 3
    assert before["campaigns.accessevent"] and before["campaigns.bulletin"] and before["quotas.plansource"]


@pytest.mark.slow
def test_the_demo_data_round_trips(demo, tmp_path):
    before = _round_trip(demo, tmp_path / "backup.zip")
    assert len(before["campaigns.donation"]) > 20_000 and len(before["campaigns.historicaldonation"]) == 3


@pytest.fixture
def small_archive(tmp_path, unit_a):
    make_donation(unit_a, donated_on=dt.date(2026, 3, 3))
    archive = tmp_path / "backup.zip"
    call_command("export_portal", archive, stdout=io.StringIO())
    return archive


def test_import_refuses_a_database_that_is_not_empty(small_archive):
    with pytest.raises(CommandError, match="not empty"):
        call_command("import_portal", small_archive, stdout=io.StringIO())


def test_import_refuses_other_keys_and_writes_nothing(small_archive, settings, tmp_path):
    wipe(tmp_path / "media")
    settings.DONOR_ID_HMAC_KEY = "another-office-hmac-key"
    with pytest.raises(CommandError, match="DONOR_ID_HMAC_KEY"):
        call_command("import_portal", small_archive)
    settings.DONOR_ID_HMAC_KEY = "demo-and-tests-only-hmac-key"
    settings.DONOR_ID_KEY = Fernet.generate_key().decode()
    with pytest.raises(CommandError, match="DONOR_ID_KEY"):
        call_command("import_portal", small_archive)
    assert Donation.objects.count() == 0


def test_a_tampered_archive_is_rolled_back(small_archive, tmp_path):
    with zipfile.ZipFile(small_archive) as source:
        manifest = json.loads(source.read("manifest.json"))
        manifest["counts"]["campaigns.donation"] += 1
        tampered = tmp_path / "tampered.zip"
        with zipfile.ZipFile(tampered, "w") as target:
            for item in source.infolist():
                content = source.read(item.filename)
                target.writestr(item, json.dumps(manifest) if item.filename == "manifest.json" else content)
    wipe(tmp_path / "media")
    with pytest.raises(CommandError, match="counts"):
        call_command("import_portal", tampered)
    assert Donation.objects.count() == 0 and get_user_model().objects.count() == 0


def test_not_a_backup(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="Not a portal backup"):
        call_command("import_portal", junk)


def test_export_stops_when_a_notice_file_is_missing_unless_told_to_skip(tmp_path, jurisdiction, settings):
    from quotas.models import PlanSource
    from quotas.services import plan_import
    from tests.quotas.workbooks import xlsx

    plan_import(
        data=xlsx([["单位", "目标数"], ["甲局", 5]]), filename="kept.xlsx", jurisdiction=jurisdiction, year=2026
    )
    plan_import(
        data=xlsx([["单位", "目标数"], ["甲局", 6]]), filename="lost.xlsx", jurisdiction=jurisdiction, year=2026
    )
    lost = PlanSource.objects.get(original_name="lost.xlsx").file.name
    (Path(settings.MEDIA_ROOT) / lost).unlink()
    archive = tmp_path / "backup.zip"
    with pytest.raises(CommandError, match=f"1 notice file.*missing.*{lost}"):
        call_command("export_portal", archive, stdout=io.StringIO())
    assert not archive.exists()
    err = io.StringIO()
    call_command("export_portal", archive, "--skip-missing-files", stdout=io.StringIO(), stderr=err)
    assert f"missing, left out: {lost}" in err.getvalue()
    with zipfile.ZipFile(archive) as packed:
        media = json.loads(packed.read("manifest.json"))["media"]
    assert list(media) == [PlanSource.objects.get(original_name="kept.xlsx").file.name]

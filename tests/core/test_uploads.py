"""Upload staging (core.uploads): encrypted at rest, claimed once, purged after expiry."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from core import uploads
from core.models import StagedUpload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROSTER = "姓名,身份证号\r\n张三,360426199101010071\r\n".encode()


@pytest.fixture
def owner():
    return UserFactory(username="clerk")


def _stage(owner, data=ROSTER, **meta):
    return uploads.stage(kind=StagedUpload.Kind.ROSTER, owner=owner, filename="名单.csv", data=data, meta=meta)


def claim_roster(token, owner):
    return uploads.claim(kind=StagedUpload.Kind.ROSTER, token=str(token), owner=owner)


def test_a_staged_file_is_encrypted_and_readable_by_the_portal_only(owner):
    staged = _stage(owner, unit=7)
    path = uploads.staging_dir() / f"{staged.token}.bin"
    content = path.read_bytes()
    assert b"360426199101010071" not in content and "张三".encode() not in content
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with claim_roster(staged.token, owner) as claim:
        assert claim.data == ROSTER and claim.upload.meta == {"unit": 7}


def test_a_claimed_upload_cannot_be_claimed_again_and_its_file_is_gone(owner, django_capture_on_commit_callbacks):
    staged = _stage(owner)
    with django_capture_on_commit_callbacks(execute=True), claim_roster(staged.token, owner) as claim:
        claim.result = {"saved": 1}
    assert not (uploads.staging_dir() / f"{staged.token}.bin").exists()
    with pytest.raises(uploads.AlreadyApplied) as caught, claim_roster(staged.token, owner):
        pytest.fail("applied twice")
    assert caught.value.upload.result == {"saved": 1}


def test_a_failed_apply_releases_the_claim(owner):
    staged = _stage(owner)
    with pytest.raises(RuntimeError), claim_roster(staged.token, owner):
        raise RuntimeError("the apply failed")
    with claim_roster(staged.token, owner) as claim:
        assert claim.data == ROSTER


@pytest.mark.parametrize("token", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_token_is_not_staged(owner, token):
    with pytest.raises(uploads.NotStaged), uploads.claim(kind=StagedUpload.Kind.ROSTER, token=token, owner=owner):
        pytest.fail("claimed")


def test_another_users_or_another_kinds_token_is_not_staged(owner):
    staged = _stage(owner)
    for kind, user in ((StagedUpload.Kind.ROSTER, UserFactory(username="other")), (StagedUpload.Kind.NOTICE, owner)):
        with pytest.raises(uploads.NotStaged), uploads.claim(kind=kind, token=str(staged.token), owner=user):
            pytest.fail("claimed")


def test_an_expired_upload_is_not_applied_and_the_purge_deletes_it(owner, settings):
    old, fresh = _stage(owner), _stage(owner)
    StagedUpload.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(uploads.NotStaged), claim_roster(old.token, owner):
        pytest.fail("claimed")
    orphan = uploads.staging_dir() / "0f0f0f0f-0000-0000-0000-000000000000.bin"
    orphan.write_bytes(b"left by a killed worker")
    two_hours_ago = (timezone.now() - dt.timedelta(hours=2)).timestamp()
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    legacy = Path(settings.MEDIA_ROOT) / "roster-staging"
    legacy.mkdir()
    (legacy / "0f0f0f0f-0000-0000-0000-000000000001.bin").write_bytes(ROSTER)  # before core.uploads: plaintext
    call_command("purge_uploads")
    assert not legacy.exists()
    assert list(StagedUpload.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert sorted(p.name for p in uploads.staging_dir().iterdir()) == [f"{fresh.token}.bin"]


def test_the_purge_deletes_notice_files_no_plan_refers_to(settings):
    folder = Path(settings.MEDIA_ROOT) / "notices" / "2026" / "1"
    folder.mkdir(parents=True)
    (folder / "killed-mid-import.xlsx").write_bytes(b"x")
    (folder / "just-written.xlsx").write_bytes(b"y")  # an import still running: too young
    now = timezone.now().timestamp()  # the test clock's (make test-clock), not the file system's
    two_hours_ago = (timezone.now() - dt.timedelta(hours=2)).timestamp()
    os.utime(folder / "just-written.xlsx", (now, now))
    os.utime(folder / "killed-mid-import.xlsx", (two_hours_ago, two_hours_ago))
    call_command("purge_uploads")
    assert [p.name for p in folder.iterdir()] == ["just-written.xlsx"]

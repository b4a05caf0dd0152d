"""Upload staging: a checked file waits, encrypted, between its preview and its confirmation.

Both two-step uploads (the notice import, the liaison's roster) go through here:

- `stage()` after a preview without errors: the file is encrypted with the donor-ID Fernet key
  (`DONOR_ID_KEY`: a roster holds ID numbers) and written, mode 0600, as
  `MEDIA_ROOT/upload-staging/<token>.bin`; a `StagedUpload` row names its owner, kind, file
  name, checksum, what the apply needs (`meta`) and when it expires (`UPLOAD_STAGING_HOURS`).
- `claim()` on confirmation, a context manager that opens the apply's transaction: one
  `UPDATE … SET claimed_at = now WHERE token = … AND claimed_at IS NULL` takes the row. On
  PostgreSQL a second confirmation of the same token waits on the row lock and then finds it
  claimed; on SQLite the first UPDATE holds the database's write lock the same way. Either way
  exactly one apply runs; the other raises `AlreadyApplied`. If the apply fails, its transaction
  rolls back, the claim with it, and the file can be confirmed again. When it commits, the file
  is deleted; the row stays, file-less, until it expires, so a late second confirmation can still
  say "already applied".
- `purge_expired()` deletes expired rows and their files, and files no row names (a worker
  killed between writing a file and its row); `manage.py purge_uploads` runs it (cron, hourly)
  and so does every start of the web application (`config/wsgi.py`).

Why a row and not an atomic rename of the file: the claim must be part of the apply's database
transaction, so a failed apply releases it and a committed one cannot be repeated; a rename is
not undone by a rollback, and a worker killed between the rename and the commit would lose the
file while nothing was applied.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import crypto

from .models import StagedUpload

logger = logging.getLogger(__name__)

STAGING_DIR = "upload-staging"
# Where versions before core.uploads kept previews, unencrypted: purged whole.
LEGACY_STAGING_DIRS = ("import-staging", "roster-staging")


class NotStaged(Exception):
    """No such upload for this user: never staged, expired, purged, or another user's."""


class AlreadyApplied(Exception):
    """The upload was applied by an earlier confirmation."""

    def __init__(self, upload: StagedUpload):
        super().__init__(str(upload.token))
        self.upload = upload


@dataclass
class Claim:
    """A claimed upload and its decrypted bytes; set `result` to what the apply did."""

    upload: StagedUpload
    data: bytes
    result: dict


def staging_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / STAGING_DIR


def _path(token) -> Path:
    return staging_dir() / f"{uuid.UUID(str(token))}.bin"


def _write_private(path: Path, content: bytes) -> None:
    """Write a file readable by the portal's user only, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    partial.replace(path)


def stage(*, kind: str, owner, filename: str, data: bytes, meta: dict) -> StagedUpload:
    """Keep a previewed file for its confirmation; returns the row (its `token` goes in the form)."""
    token = uuid.uuid4()
    _write_private(_path(token), crypto.encrypt_bytes(data))
    try:
        return StagedUpload.objects.create(
            token=token,
            kind=kind,
            owner=owner,
            filename=filename[:255],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            meta=meta,
            expires_at=timezone.now() + timedelta(hours=settings.UPLOAD_STAGING_HOURS),
        )
    except BaseException:
        _path(token).unlink(missing_ok=True)
        raise


def _parse_token(token: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(token))
    except ValueError:
        raise NotStaged(token) from None


@contextmanager
def claim(*, kind: str, token: str, owner) -> Iterator[Claim]:
    """Claim a staged upload inside a transaction that the caller's apply runs in.

    Raises NotStaged or AlreadyApplied before yielding. An exception from the block rolls the
    apply and the claim back; a normal exit commits both and deletes the file after the commit.
    """
    token = _parse_token(token)
    with transaction.atomic():
        now = timezone.now()
        mine = StagedUpload.objects.filter(token=token, kind=kind, owner=owner)
        taken = mine.filter(claimed_at__isnull=True, expires_at__gt=now).update(claimed_at=now)
        upload = mine.first()
        if not taken:
            if upload is not None and upload.claimed_at is not None:
                raise AlreadyApplied(upload)
            raise NotStaged(str(token))
        try:
            data = crypto.decrypt_bytes(_path(token).read_bytes())
        except (OSError, ValueError) as exc:  # purged meanwhile, or the key changed
            logger.warning("staged upload %s unreadable: %s", token, exc)
            raise NotStaged(str(token)) from exc
        claimed = Claim(upload=upload, data=data, result={})
        yield claimed
        upload.result = claimed.result
        upload.save(update_fields=["result"])
        transaction.on_commit(lambda: _unlink_all(token))


def _unlink_all(token) -> None:
    for path in staging_dir().glob(f"{uuid.UUID(str(token))}.*"):
        path.unlink(missing_ok=True)


def peek(*, kind: str, token: str, owner) -> Claim:
    """A staged upload and its decrypted bytes, not claimed: for a preview shown again (the
    notice's corrections re-checked) before the confirmation. NotStaged, or AlreadyApplied, as
    `claim` says them; nothing is written."""
    token = _parse_token(token)
    upload = StagedUpload.objects.filter(token=token, kind=kind, owner=owner).first()
    if upload is not None and upload.claimed_at is not None:
        raise AlreadyApplied(upload)
    if upload is None or upload.expires_at <= timezone.now():
        raise NotStaged(str(token))
    try:
        data = crypto.decrypt_bytes(_path(token).read_bytes())
    except (OSError, ValueError) as exc:
        logger.warning("staged upload %s unreadable: %s", token, exc)
        raise NotStaged(str(token)) from exc
    return Claim(upload=upload, data=data, result={})


def update_meta(upload: StagedUpload, meta: dict) -> None:
    """Replace what the apply will need (`meta`) of an upload not yet claimed; NotStaged when it
    was claimed or expired meanwhile."""
    changed = StagedUpload.objects.filter(pk=upload.pk, claimed_at__isnull=True, expires_at__gt=timezone.now()).update(
        meta=meta
    )
    if not changed:
        raise NotStaged(str(upload.token))
    upload.meta = meta


def _derived_path(token, name: str) -> Path:
    return staging_dir() / f"{uuid.UUID(str(token))}.{name}.bin"


def save_derived(upload: StagedUpload, name: str, content: bytes) -> None:
    """Keep something computed from a staged upload beside it, encrypted like it (a scan's
    document as OCR read it, `quotas.tasks`): purged with it, deleted when it is applied."""
    _write_private(_derived_path(upload.token, name), crypto.encrypt_bytes(content))


def load_derived(upload: StagedUpload, name: str) -> bytes | None:
    """What `save_derived` kept, or None (never saved, purged, or the key changed)."""
    try:
        return crypto.decrypt_bytes(_derived_path(upload.token, name).read_bytes())
    except (OSError, ValueError, InvalidToken):
        return None


def set_progress(upload: StagedUpload, progress: dict) -> None:
    """Record how far the reading of a staged upload is (one UPDATE; the row's other fields
    untouched)."""
    StagedUpload.objects.filter(pk=upload.pk).update(progress=progress)
    upload.progress = progress


def discard(upload: StagedUpload) -> None:
    """Forget a staged upload that will not be confirmed (its reading failed): row and files."""
    _unlink_all(upload.token)
    StagedUpload.objects.filter(pk=upload.pk, claimed_at__isnull=True).delete()


def purge_expired(*, now=None, orphans_older_than: timedelta = timedelta(hours=1)) -> tuple[int, int]:
    """Delete expired staged uploads and their files, staged files no row names, and the
    plaintext previews older versions left in MEDIA_ROOT/import-staging and roster-staging.

    Returns (rows deleted, files deleted). Cheap: one indexed DELETE and one directory listing.
    """
    now = now or timezone.now()
    files = 0
    for legacy in LEGACY_STAGING_DIRS:
        folder = Path(settings.MEDIA_ROOT) / legacy
        if folder.is_dir():
            for path in folder.iterdir():
                path.unlink(missing_ok=True)
                files += 1
            folder.rmdir()
    expired = list(StagedUpload.objects.filter(expires_at__lte=now).values_list("token", flat=True))
    rows = StagedUpload.objects.filter(token__in=expired).delete()[0] if expired else 0
    folder = staging_dir()
    if not folder.is_dir():
        return rows, files
    known = None
    for path in folder.iterdir():
        stem = path.name.split(".", 1)[0]
        gone = False
        try:
            token = uuid.UUID(stem)
        except ValueError:
            token = None
        if token in expired:
            gone = True
        else:
            try:
                old = now.timestamp() - path.stat().st_mtime > orphans_older_than.total_seconds()
            except FileNotFoundError:
                continue
            if old:
                if known is None:
                    known = {
                        str(t)
                        for t in StagedUpload.objects.filter(claimed_at__isnull=True).values_list("token", flat=True)
                    }
                gone = str(token) not in known or path.suffix == ".part"
        if gone:
            path.unlink(missing_ok=True)
            files += 1
    return rows, files

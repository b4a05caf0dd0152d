"""Export everything the portal holds into one archive, and load it into an empty database.

The archive is a zip file:

- `manifest.json`: format and version, when, the schema (applied migrations of the portal's
  apps), the number of rows of every model, the files, and a check of the donor keys;
- `data/NN-app.model.json`: every row (Django's serialisation; groups, permissions and content types
  by natural key), ID numbers and phones still encrypted, the audit trail included;
- `media/…`: the notice attachments the plans were imported from.

The donation tally is not exported: the database triggers rebuild it while the donations load,
and the import checks it against them. Sessions, login throttling records and caches are left
behind. For national-scale databases use pg_dump (docs/deploy.md); this archive is for moving an
office's portal between machines and for a readable copy of everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from campaigns import tally
from core import crypto

FORMAT = "blood-quota-portal-backup"
VERSION = 1
PORTAL_APPS = ("units", "quotas", "campaigns", "stations")
# What the archive holds, in load order (loaddata resolves forward references within one file).
LABELS = ["auth.group", "auth.user", "admin.logentry", *PORTAL_APPS]
# Derived data, rebuilt by triggers as the donations load (and checked), or recomputed on demand.
EXCLUDED = [
    "campaigns.donationtally",
    "campaigns.planprogress",
    "campaigns.planprogressdirty",
    "campaigns.jurisdictionprogress",
    "campaigns.jurisdictionprogressdirty",
    "campaigns.progressversion",
    "campaigns.verifiedtally",
]
KEY_CHECK = "portal-backup-key-check"

ERROR_NOT_AN_ARCHIVE = "Not a portal backup: {reason}."
ERROR_SCHEMA = (
    "The backup was made with a different schema (migrations differ: {diff}). Migrate to the same version first."
)
ERROR_HMAC_KEY = (
    "DONOR_ID_HMAC_KEY differs from the one the backup was made with: duplicate and interval checks would fail."
)
ERROR_FERNET_KEY = "DONOR_ID_KEY cannot decrypt the backup's ID numbers: configure the key it was made with."
ERROR_NOT_EMPTY = "The database is not empty ({what}); the import only loads into a freshly migrated database."
ERROR_COUNTS = "Row counts after loading differ from the manifest: {diff}."
ERROR_TALLY = "The donation tally does not match the loaded donations."
ERROR_MEDIA = "File {name} in the archive does not match its checksum."
ERROR_MISSING_FILES = (
    "{count} notice file(s) that plans refer to are missing from {root}: {names}. Restore them, or run "
    "export_portal --skip-missing-files to write the archive without them."
)


class BackupError(Exception):
    pass


@dataclass
class Summary:
    counts: dict[str, int]
    files: int
    missing: list[str] = field(default_factory=list)  # notice files left out (--skip-missing-files)


def _models():
    excluded = set(EXCLUDED)
    for label in LABELS:
        if "." in label:
            yield apps.get_model(label)
            continue
        for model in apps.get_app_config(label).get_models():
            if model._meta.label_lower not in excluded:
                yield model


def _schema() -> list[str]:
    applied = MigrationRecorder(connection).applied_migrations()
    return sorted(f"{app}.{name}" for app, name in applied if app in PORTAL_APPS)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_files() -> tuple[list[str], list[str]]:
    """The notice files the plans refer to: (present, missing)."""
    from quotas.models import PlanSource

    root = Path(settings.MEDIA_ROOT)
    names = sorted(set(PlanSource.objects.exclude(file="").values_list("file", flat=True)))
    present = [name for name in names if (root / name).is_file()]
    return present, [name for name in names if name not in set(present)]


# Natural keys only where primary keys differ between databases: groups, permissions and content
# types are created by migrations. Users keep their ids (the database is empty), so every portal
# row refers to them by id; the portal's own rows keep theirs.
NATURAL = {"auth.group": (True, True), "auth.user": (True, False), "admin.logentry": (True, False)}


class _ExactEncoder(DjangoJSONEncoder):
    """Django's encoder cuts datetimes to milliseconds; a backup keeps the microseconds."""

    def default(self, o):
        if isinstance(o, (dt.datetime, dt.time)):
            return o.isoformat()
        return super().default(o)


def _dump(model, path: Path) -> int:
    """Serialise one model's rows in primary-key order; returns how many."""
    natural_foreign, natural_primary = NATURAL.get(model._meta.label_lower, (False, False))
    rows = model._default_manager.order_by("pk")
    if natural_foreign:
        rows = rows.prefetch_related(*(f.name for f in model._meta.many_to_many))
        rows = rows.select_related(*(f.name for f in model._meta.concrete_fields if f.many_to_one))
    counter = _Counter(rows.iterator(chunk_size=2000))
    with path.open("w", encoding="utf-8") as handle:
        serializers.serialize(
            "json",
            counter,
            stream=handle,
            use_natural_foreign_keys=natural_foreign,
            use_natural_primary_keys=natural_primary,
            cls=_ExactEncoder,
        )
    return counter.count


class _Counter:
    """Counts what passes through, so the manifest's counts are the rows actually written."""

    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def export_everything(target: Path, *, skip_missing_files: bool = False) -> Summary:
    """Write the archive to `target` from one consistent snapshot of the database.

    A notice file that a plan refers to but that is missing from the media folder stops the
    export (BackupError naming it) unless `skip_missing_files`; then it is left out and listed
    in the summary.
    """
    fresh = not connection.in_atomic_block
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
        if connection.vendor == "postgresql" and fresh:
            # One snapshot for all the queries below, whatever is being logged meanwhile (inside
            # a caller's transaction, the caller chose the isolation).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        counts = {}
        dumps = []
        for number, model in enumerate(_models()):
            path = Path(tmp) / f"{number:02d}-{model._meta.label_lower}.json"
            counts[model._meta.label_lower] = _dump(model, path)
            if counts[model._meta.label_lower]:
                dumps.append(path)
        files, missing = _media_files()
        root = Path(settings.MEDIA_ROOT)
        if missing and not skip_missing_files:
            raise BackupError(ERROR_MISSING_FILES.format(count=len(missing), root=root, names=", ".join(missing[:10])))
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": timezone.now().isoformat(),
            "schema": _schema(),
            "counts": counts,
            "media": {name: _sha256(root / name) for name in files},
            "key_check": {"hmac": crypto.lookup_hash(KEY_CHECK), "token": crypto.encrypt(KEY_CHECK)},
        }
        partial = target.with_name(target.name + ".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
            for path in dumps:
                archive.write(path, f"data/{path.name}")
            for name in files:
                archive.write(root / name, f"media/{name}")
        partial.replace(target)  # a half-written archive never carries the final name
    return Summary(counts=counts, files=len(files), missing=missing)


def _read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError:
        raise BackupError(ERROR_NOT_AN_ARCHIVE.format(reason="no manifest.json")) from None
    except ValueError as exc:
        raise BackupError(ERROR_NOT_AN_ARCHIVE.format(reason=f"manifest.json unreadable ({exc})")) from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(
            ERROR_NOT_AN_ARCHIVE.format(reason=f"format {manifest.get('format')!r} {manifest.get('version')!r}")
        )
    return manifest


def _check_keys(manifest: dict) -> None:
    check = manifest["key_check"]
    if crypto.lookup_hash(KEY_CHECK) != check["hmac"]:
        raise BackupError(ERROR_HMAC_KEY)
    try:
        ok = crypto.decrypt(check["token"]) == KEY_CHECK
    except Exception:  # noqa: BLE001 - InvalidToken or a malformed key: the same answer
        ok = False
    if not ok:
        raise BackupError(ERROR_FERNET_KEY)


def _check_empty() -> None:
    from campaigns.models import Donation
    from quotas.models import AnnualPlan
    from units.models import Jurisdiction, Unit

    for model in (get_user_model(), Jurisdiction, Unit, AnnualPlan, Donation):
        if model._default_manager.exists():
            raise BackupError(ERROR_NOT_EMPTY.format(what=model._meta.label_lower))


def import_everything(source: Path) -> Summary:
    """Load an archive into an empty database, all or nothing, and check what was loaded."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(ERROR_NOT_AN_ARCHIVE.format(reason=exc)) from None
    written: list[Path] = []
    with archive, tempfile.TemporaryDirectory() as tmp:
        manifest = _read_manifest(archive)
        if manifest["schema"] != _schema():
            diff = sorted(set(manifest["schema"]) ^ set(_schema()))
            raise BackupError(ERROR_SCHEMA.format(diff=", ".join(diff[:5])))
        _check_keys(manifest)
        dumps = []
        for name in sorted(n for n in archive.namelist() if n.startswith("data/") and n.endswith(".json")):
            dumps.append(Path(tmp) / Path(name).name)
            with archive.open(name) as packed, dumps[-1].open("wb") as unpacked:
                shutil.copyfileobj(packed, unpacked)
        root = Path(settings.MEDIA_ROOT)
        try:
            with transaction.atomic():
                _check_empty()
                if dumps:
                    call_command("loaddata", *map(str, dumps), verbosity=0)
                counts = {model._meta.label_lower: model._default_manager.count() for model in _models()}
                expected = manifest["counts"]
                if counts != expected:
                    diff = {k: (expected.get(k), counts.get(k)) for k in set(counts) | set(expected)}
                    diff = {k: v for k, v in diff.items() if v[0] != v[1]}
                    raise BackupError(ERROR_COUNTS.format(diff=diff))
                if tally.mismatches(limit=1):
                    raise BackupError(ERROR_TALLY)
                for name, digest in manifest["media"].items():
                    path = (root / name).resolve()
                    if root.resolve() not in path.parents:
                        raise BackupError(ERROR_NOT_AN_ARCHIVE.format(reason=f"file outside the media folder: {name}"))
                    content = archive.read(f"media/{name}")
                    if hashlib.sha256(content).hexdigest() != digest:
                        raise BackupError(ERROR_MEDIA.format(name=name))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if not path.exists():
                        path.write_bytes(content)
                        written.append(path)
        except Exception:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    return Summary(counts=counts, files=len(manifest["media"]))

"""Writes: apply a checked station export, re-match records against donations logged later,
save the aliases staff confirm.

`station_apply` writes the export and its new records in one transaction (the staged upload's
claim, `core.uploads`), or nothing; the preview it applies is `stations.preview`'s, the bulk
writes `stations.bulk`'s.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef

from campaigns.models import Donation
from campaigns.services import lock_people, reflag
from core import crypto
from units.models import Jurisdiction, Unit
from units.naming import normalize_name
from units.services import alias_create

from .bulk import create_donations, insert_records, mark_verified, record_values
from .models import CollectionRecord, StationExport
from .preview import (
    ALREADY,
    BATCH,
    BY_ALIAS,
    BY_NAME,
    ERROR,
    MATCHED,
    SUGGESTED,
    UNATTRIBUTED,
    VOLUME,
    StationPreview,
)

ERROR_HAS_ERRORS = "文件中有错误的行，未导入任何记录。"
ERROR_CONFLICT = "有记录刚被另一次导入写入，未导入任何记录，请重新上传预览。"
ERROR_RANGE = "覆盖日期范围不对：起始日应不晚于截止日，且包含文件中的全部献血日期（{first} 至 {last}）。"
CHANGE_REASON_CREATED = "血站采血记录新增：{filename}"
CAUSE_CREATED = "血站采血记录新增 {day}"


def confirm_suggestions(*, jurisdiction: Jurisdiction, choices: dict[str, int]) -> int:
    """Save each workplace text staff confirmed as an alias of the chosen unit; how many.

    A unit outside the jurisdiction's subtree is ignored (a forged form), as is an empty text.
    """
    units = {u.pk: u for u in Unit.objects.in_subtree(jurisdiction).filter(pk__in=set(choices.values()))}
    saved = 0
    for workplace, unit_id in choices.items():
        unit = units.get(unit_id)
        if unit is not None and normalize_name(workplace) and alias_create(unit=unit, name=workplace):
            saved += 1
    return saved


# Advisory-lock key (PostgreSQL, two-integer form, beside campaigns' LOCK_PERSON/LOCK_EVERYONE):
# station imports of one top-level jurisdiction, so a city and its districts share it.
LOCK_STATION_IMPORT = 0x535449


def lock_station_imports(jurisdiction: Jurisdiction) -> None:
    """Serialise station imports of the jurisdiction's whole tree until the transaction ends.

    Two staff may confirm the same export, or overlapping ones, at the same moment: each preview
    was read before the other's records existed. The confirm takes this lock before it reads the
    file again, so the second one sees the first's records as already imported; `station_apply`
    and `rematch` take it too (it is re-entrant). The unique station and match keys, and the
    state check of the records an apply updates, refuse what a stale preview would double.
    SQLite has one writer at a time: no lock.
    """
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("lock_station_imports outside a transaction would release the lock at once")
    top = (jurisdiction.path.strip("/").split("/") or [""])[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_STATION_IMPORT, int(top) if top else jurisdiction.pk]
        )


@transaction.atomic
def station_apply(
    *,
    preview: StationPreview,
    jurisdiction: Jurisdiction,
    user,
    filename: str,
    sha256: str,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> StationExport:
    """Keep the export and every new record of a checked preview, or nothing.

    Rows already imported (same station key, or same person, day and kind) add nothing; the
    export is still recorded with its covered range, which is what "未见采血记录" is judged on.
    A matched donation becomes station-verified; a record attributed to a unit by its name or
    an alias, with no reported donation, becomes a donation of that unit (source 血站记录,
    station-verified, counted like any other; the person's rule flags recomputed). Records
    attributed to no unit — suggestions staff did not confirm among them — keep no personal data.
    A record kept before and linked to no donation is updated the same way when the row now
    matches a donation or names a unit (`StationPreview.updates`): re-uploading an export after
    adding an alias attributes what it could not before; nothing is added twice.
    """
    if not preview.ok:
        raise ValidationError(ERROR_HAS_ERRORS)
    first_day = first_day or preview.first_day
    last_day = last_day or preview.last_day
    if first_day > last_day or first_day > preview.first_day or last_day < preview.last_day:
        raise ValidationError(ERROR_RANGE.format(first=preview.first_day, last=preview.last_day))
    lock_station_imports(jurisdiction)
    new = [c for c in preview.rows if c.status not in (ERROR, ALREADY) and c.record_id is None]
    updates = preview.updates
    export = _new_export(preview, new, updates, jurisdiction=jurisdiction, user=user, filename=filename, sha256=sha256)
    export.first_day, export.last_day = first_day, last_day
    export.full_clean()
    export.save()
    for check in new + updates:
        if check.status not in (UNATTRIBUTED, SUGGESTED):  # kept with personal data
            check.encrypted = crypto.encrypt(check.id_number)  # once, for the record and its donation
    try:
        with transaction.atomic():
            _write(new, updates, export=export, jurisdiction=jurisdiction, user=user)
    except IntegrityError as exc:
        raise ValidationError(ERROR_CONFLICT) from exc
    return export


def _new_export(preview: StationPreview, new: list, updates: list, *, jurisdiction, user, filename, sha256):
    """The export's row (not saved): who, which file, and what its rows came to."""
    counts = Counter(c.status for c in new + updates)
    return StationExport(
        jurisdiction=jurisdiction,
        uploaded_by=user,
        filename=filename[:255],
        sha256=sha256,
        rows=len(preview.rows),
        new_records=len(new),
        updated_records=len(updates),
        already_imported=len(preview.rows) - len(new) - len(updates),
        matched=counts[MATCHED],
        volume_differs=counts[VOLUME],
        station_only=counts[BY_NAME] + counts[BY_ALIAS] + counts[SUGGESTED] + counts[UNATTRIBUTED],
        unattributed=counts[SUGGESTED] + counts[UNATTRIBUTED],
    )


def _write(new: list, updates: list, *, export: StationExport, jurisdiction: Jurisdiction, user) -> None:
    """The records, the verified marks and the station-only donations of one apply."""
    reason = CHANGE_REASON_CREATED.format(filename=export.filename[:200])
    creating = [c for c in new if c.creates_donation and c.status in (BY_NAME, BY_ALIAS)]
    plain = [c for c in new if not (c.creates_donation and c.status in (BY_NAME, BY_ALIAS))]
    # First the records that create no donation: they take no lock a liaison's logging waits for
    # (a matched donation is only referenced: the foreign key is checked at the end, below).
    for start in range(0, len(plain), BATCH):
        batch = plain[start : start + BATCH]
        insert_records([record_values(c, export.pk, jurisdiction.pk) for c in batch])
    # Then, last, what liaisons' writes meet, from here to the commit only (not across the whole
    # apply): the people's lock first — every person whose donations this writes, matched ones
    # included — as every writer of donations takes it before any donation row (`lock_people`;
    # exclusive above `MANY_PEOPLE` people, so liaisons' logging waits for this part). Marking a
    # matched donation verified without it let a liaison withdrawing another donation of that
    # person (person lock held, waiting for a row this apply had locked) and the apply wait for
    # each other: a deadlock. Then the matched donations marked verified (one statement a batch:
    # the kept count, campaigns' trigger once per statement), the donations of station-only
    # records, their records, marks and rule flags, and the records updated.
    people = {c.id_hash for c in new + updates if c.donation_id or c.creates_donation}
    lock_people(people)
    _check_kept(updates)
    mark_verified([c.donation_id for c in new + updates if c.donation_id])
    for start in range(0, len(creating), BATCH):
        batch = creating[start : start + BATCH]
        create_donations(batch, user, reason)
        insert_records([record_values(c, export.pk, jurisdiction.pk) for c in batch])
    updating = [c for c in updates if c.creates_donation]
    for start in range(0, len(updating), BATCH):
        create_donations(updating[start : start + BATCH], user, reason)
    _update_records(updates, jurisdiction.pk)
    created = creating + updating
    mark_verified([c.donation_id for c in created])
    for start in range(0, len(created), BATCH):  # a created donation may breach an interval
        reflag(
            list({c.id_hash for c in created[start : start + BATCH]}),
            cause=CAUSE_CREATED.format(day=f"{export.first_day}–{export.last_day}"),
            user=user,
        )
    if connection.vendor == "postgresql":
        # The deferred foreign keys now, not at commit: a matched donation withdrawn between the
        # preview and the people's lock is refused here as a conflict.
        connection.check_constraints()


def _check_kept(updates: list) -> None:
    """The records an apply updates are as its preview saw them, else a conflict: still linked
    to no donation, with the same attribution (another import may have changed them since).
    Locked until the commit (after the people's lock; liaisons' writes never lock records that
    are linked to no donation)."""
    for start in range(0, len(updates), BATCH):
        batch = updates[start : start + BATCH]
        found = set(
            CollectionRecord.objects.filter(pk__in=[c.record_id for c in batch], donation__isnull=True)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        if len(found) != len(batch):
            raise ValidationError(ERROR_CONFLICT)


def _update_records(updates: list, jurisdiction_id: int) -> None:
    """Write what the rows now say into the records kept before (personal data, unit, link)."""
    names = [
        "donor_name",
        "sex",
        "id_number_encrypted",
        "id_number_hash",
        "id_number_masked",
        "workplace",
        "unit_id",
        "attribution",
        "donation_id",
        "outcome",
    ]
    records = []
    for check in updates:
        values = record_values(check, 0, jurisdiction_id)
        records.append(CollectionRecord(pk=check.record_id, **{name: values[name] for name in names}))
    CollectionRecord.objects.bulk_update(records, [n.removesuffix("_id") for n in names], batch_size=BATCH)


@transaction.atomic
def rematch(*, jurisdiction: Jurisdiction) -> int:
    """Link station-only records to donations reported since they were imported; how many.

    A liaison may report a donation after the station's export arrived: the record then becomes
    matched (or volume differs) and counts for the donation's unit. Batched like the preview.
    """
    lock_station_imports(jurisdiction)
    linked = 0
    pending = list(
        CollectionRecord.objects.filter(jurisdiction__path__startswith=jurisdiction.path, donation__isnull=True)
        .exclude(id_number_hash="")
        .select_for_update()
        .values_list("pk", "id_number_hash", "collected_on", "kind", "volume_ml", "doses")
    )
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        days = [b[2] for b in batch]
        donations = {
            (h, d, k): (pk, unit_id, v if k == Donation.Kind.WHOLE_BLOOD else n)
            for pk, unit_id, h, d, k, v, n in Donation.objects.filter(
                id_number_hash__in={b[1] for b in batch},
                donated_on__range=(min(days), max(days)),
                unit__jurisdiction__path__startswith=jurisdiction.path,
            )
            .exclude(Exists(CollectionRecord.objects.filter(donation_id=OuterRef("pk"))))
            .exclude(status=Donation.Status.REJECTED)
            .values_list("pk", "unit_id", "id_number_hash", "donated_on", "kind", "volume_ml", "doses")
        }
        updates = []
        for pk, id_hash, day, kind, volume, doses in batch:
            found = donations.pop((id_hash, day, kind), None)
            if found is None:
                continue
            amount = volume if kind == CollectionRecord.Kind.WHOLE_BLOOD else doses
            updates.append(
                CollectionRecord(
                    pk=pk,
                    donation_id=found[0],
                    unit_id=found[1],
                    attribution=CollectionRecord.Attribution.DONATION,
                    outcome=CollectionRecord.Outcome.MATCHED
                    if amount == found[2]
                    else CollectionRecord.Outcome.VOLUME_DIFFERS,
                )
            )
        # The people first, as every writer of donations (see station_apply), then the rows. A
        # donation withdrawn or rejected between the look-up above and the lock is left out: under
        # the lock no writer of these people can change it again.
        updated = {u.pk for u in updates}
        lock_people({id_hash for pk, id_hash, *_rest in batch if pk in updated})
        alive = set(
            Donation.objects.filter(pk__in=[u.donation_id for u in updates])
            .exclude(status=Donation.Status.REJECTED)
            .values_list("pk", flat=True)
        )
        updates = [u for u in updates if u.donation_id in alive]
        CollectionRecord.objects.bulk_update(updates, ["donation", "unit", "attribution", "outcome"])
        Donation.objects.filter(pk__in=[u.donation_id for u in updates]).update(station_verified=True)
        linked += len(updates)
    return linked

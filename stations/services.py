"""Writes: preview and apply a station export, re-match records against donations logged later.

`station_preview` reads the file in the bounded child process, then checks every row against
the database in batches of `BATCH` rows — two queries a batch (the records already kept, the
donations they may match), never one a row — plus one query each for the units and aliases of
the jurisdiction's subtree. `station_apply` writes the export and its new records in one
transaction (the staged upload's claim, `core.uploads`), or nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from campaigns.donors.identity import Identity, IdNumberError, check_id_number, mask_id_number
from campaigns.models import Donation
from campaigns.services import lock_people, reflag
from core import crypto
from core.sandbox import SandboxError, run_bounded
from units.models import Jurisdiction, Unit, UnitAlias
from units.naming import normalize_name
from units.selectors import UnitMatcher
from units.services import alias_create

from .models import CollectionRecord, StationExport
from .reader import StationReading, StationRow, read_station_export

BATCH = 2000

ERROR_DUPLICATE_IN_FILE = "与 {ref} 是同一条采血记录，重复。"
ERROR_HAS_ERRORS = "文件中有错误的行，未导入任何记录。"
ERROR_CONFLICT = "有记录刚被另一次导入写入，未导入任何记录，请重新上传预览。"
ERROR_RANGE = "覆盖日期范围不对：起始日应不晚于截止日，且包含文件中的全部献血日期（{first} 至 {last}）。"
ERROR_AMOUNT = "献血量不合规：全血应为 200、300 或 400 毫升，血小板应为 1 或 2 个治疗量。"

# Row statuses, in the order the preview counts them. SUGGESTED: the workplace resembles a unit
# (not its name nor an alias); staff confirm the unit in the preview (saving the alias) or the
# row is kept as unattributed, without personal data.
ERROR, ALREADY, MATCHED, VOLUME, BY_NAME, BY_ALIAS, SUGGESTED, UNATTRIBUTED = (
    "error",
    "already",
    "matched",
    "volume",
    "name",
    "alias",
    "suggested",
    "unattributed",
)
STATUSES = (ALREADY, MATCHED, VOLUME, BY_NAME, BY_ALIAS, SUGGESTED, UNATTRIBUTED, ERROR)
CHANGE_REASON_CREATED = "血站采血记录新增：{filename}"
CAUSE_CREATED = "血站采血记录新增 {day}"
_VALID_AMOUNTS = {"whole": {200, 300, 400}, "platelets": {1, 2}}


@dataclass(slots=True)
class RowCheck:
    """One row of the export and what it would become."""

    row: StationRow
    status: str = ERROR
    errors: list[str] = field(default_factory=list)
    id_number: str = ""
    id_hash: str = ""
    match_key: str = ""
    station_key: str = ""
    unit_id: int | None = None
    donation_id: int | None = None
    identity: Identity | None = None
    # Attributed to a unit with no reported donation: becomes a donation of that unit (source
    # 血站记录) unless the person already has a counted donation that day (one a day).
    creates_donation: bool = False
    suggestions: list = field(default_factory=list)  # [(unit id, unit name)], best first
    encrypted: str = ""  # the ID number's ciphertext, made once on apply for record and donation


@dataclass
class StationPreview:
    rows: list[RowCheck]
    errors: list[str]
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(r.status for r in self.rows)
        return {status: counted.get(status, 0) for status in STATUSES}

    @property
    def new_count(self) -> int:
        return sum(1 for r in self.rows if r.status not in (ERROR, ALREADY))

    @property
    def error_rows(self) -> list[RowCheck]:
        return [r for r in self.rows if r.status == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows) and not self.error_rows

    @property
    def creates(self) -> int:
        return sum(1 for r in self.rows if r.creates_donation)

    @property
    def suggestions(self) -> list[dict]:
        """One line per workplace text that resembles a unit: what staff confirm, with its rows."""
        found: dict[str, dict] = {}
        for check in self.rows:
            if check.status == SUGGESTED:
                line = found.setdefault(
                    check.row.workplace, {"workplace": check.row.workplace, "units": check.suggestions, "rows": 0}
                )
                line["rows"] += 1
        return sorted(found.values(), key=lambda line: (-line["rows"], line["workplace"]))


def match_key_for(id_hash: str, day: dt.date, kind: str) -> str:
    """The key a collection is known by without a donation code: one person, one day, one kind."""
    return hashlib.sha256(f"{id_hash}|{day.isoformat()}|{kind}".encode()).hexdigest()


def _unit_names(jurisdiction: Jurisdiction) -> tuple[dict[str, int | None], dict[str, int]]:
    """Normalised unit names and aliases of the subtree; a name two units share maps to None."""
    names: dict[str, int | None] = {}
    for key, pk in Unit.objects.in_subtree(jurisdiction).active().values_list("normalized_name", "pk"):
        names[key] = None if key in names else pk
    aliases = dict(
        UnitAlias.objects.filter(jurisdiction__path__startswith=jurisdiction.path).values_list(
            "normalized_name", "unit_id"
        )
    )
    return names, aliases


def _check_row(check: RowCheck, lookup_hash=crypto.lookup_hash) -> None:
    row = check.row
    check.errors = list(row.errors)
    try:
        check.identity = check_id_number(row.id_number)
        check.id_number = check.identity.number
    except IdNumberError as exc:
        if row.id_number:
            check.errors.append(str(exc))
    if row.amount is not None and row.amount not in _VALID_AMOUNTS[row.kind]:
        check.errors.append(ERROR_AMOUNT)
    if check.errors:
        return
    check.id_hash = lookup_hash(check.id_number)
    check.match_key = match_key_for(check.id_hash, row.collected_on, row.kind)
    check.station_key = f"c:{row.code}" if row.code else f"k:{check.match_key}"


def _classify_batch(
    batch: list[RowCheck], jurisdiction, names, aliases, seen: dict[str, str], taken: set, matcher
) -> None:
    """Two queries for the whole batch: records already kept, donations these rows may match.

    The second also reads the people's donations already linked or of another kind: a person has
    one counted donation a day, so a station-only row whose person has one that day creates none.
    """
    station_keys = [c.station_key for c in batch]
    match_keys = [c.match_key for c in batch]
    kept = set()
    for skey, mkey in CollectionRecord.objects.filter(
        Q(station_key__in=station_keys) | Q(match_key__in=match_keys)
    ).values_list("station_key", "match_key"):
        kept.update((skey, mkey))
    # Only rows not already kept can match or create a donation: a file applied before (every
    # row kept) costs this one query a batch.
    fresh = [c for c in batch if c.station_key not in kept and c.match_key not in kept]
    days = [c.row.collected_on for c in fresh]
    donations = {}
    occupied = taken.setdefault("days", set())  # (hash, day): a counted donation exists or will
    found_donations = (
        (
            Donation.objects.filter(
                id_number_hash__in={c.id_hash for c in fresh},
                donated_on__range=(min(days), max(days)),
            )
            .exclude(status=Donation.Status.REJECTED)
            .annotate(linked=Exists(CollectionRecord.objects.filter(donation_id=OuterRef("pk"))))
            .values_list(
                "pk",
                "unit_id",
                "id_number_hash",
                "donated_on",
                "kind",
                "volume_ml",
                "doses",
                "linked",
                "unit__jurisdiction__path",
            )
        )
        if fresh
        else []
    )
    for pk, unit_id, id_hash, day, kind, volume, doses, linked, unit_path in found_donations:
        occupied.add((id_hash, day))
        if not linked and unit_path.startswith(jurisdiction.path):
            donations[(id_hash, day, kind)] = (pk, volume if kind == Donation.Kind.WHOLE_BLOOD else doses, unit_id)
    donation_ids = taken.setdefault("donations", set())
    for check in batch:
        row = check.row
        first = seen.get(check.station_key) or seen.get(check.match_key)
        if first:
            check.status = ALREADY
            check.errors = [ERROR_DUPLICATE_IN_FILE.format(ref=first)]
            continue
        seen[check.station_key] = seen[check.match_key] = row.ref
        if check.station_key in kept or check.match_key in kept:
            check.status = ALREADY
            continue
        found = donations.get((check.id_hash, row.collected_on, row.kind))
        if found and found[0] not in donation_ids:
            donation_ids.add(found[0])
            check.donation_id = found[0]
            check.unit_id = found[2]
            check.status = MATCHED if found[1] == row.amount else VOLUME
            continue
        key = normalize_name(row.workplace)
        if key and names.get(key):
            check.status, check.unit_id = BY_NAME, names[key]
        elif key and key in aliases:
            check.status, check.unit_id = BY_ALIAS, aliases[key]
        else:
            found_units = matcher().suggest(key) if key and matcher is not None else []
            if found_units:
                check.status = SUGGESTED
                check.suggestions = [(s.unit_id, s.name) for s in found_units]
            else:
                check.status = UNATTRIBUTED
            continue
        day_key = (check.id_hash, row.collected_on)
        check.creates_donation = day_key not in occupied
        occupied.add(day_key)


def station_preview(
    *, data: bytes, filename: str, jurisdiction: Jurisdiction, today: dt.date, suggest: bool = True
) -> StationPreview:
    """Check every row of a station export for a jurisdiction; nothing is written.

    `suggest`: offer units whose names resemble an unknown workplace (the preview page); the
    apply re-reads the file without them — only exact names and aliases (including those staff
    just confirmed) attribute a record.
    """
    try:
        reading = run_bounded(read_station_export, data, filename, today=today)
    except SandboxError as exc:
        reading = StationReading(errors=[str(exc)])
    preview = StationPreview(rows=[RowCheck(row=r) for r in reading.rows], errors=list(reading.errors))
    lookup_hash = crypto.lookup_hasher()
    for check in preview.rows:
        _check_row(check, lookup_hash)
    ready = [c for c in preview.rows if not c.errors]
    if ready:
        names, aliases = _unit_names(jurisdiction)
        # Loaded (three queries) only when a workplace is neither a unit's name nor an alias.
        matcher = functools.cache(lambda: UnitMatcher(jurisdiction)) if suggest else None
        seen: dict[str, str] = {}
        taken: dict[str, set] = {}
        for start in range(0, len(ready), BATCH):
            _classify_batch(ready[start : start + BATCH], jurisdiction, names, aliases, seen, taken, matcher)
    for check in ready:  # only a donation to create needs the birth date and sex
        if not check.creates_donation:
            check.identity = None
    days = [c.row.collected_on for c in preview.rows if c.row.collected_on]
    if days:
        preview.first_day, preview.last_day = min(days), max(days)
    return preview


def _record_values(check: RowCheck, export_id: int, jurisdiction_id: int) -> dict:
    """The record a row becomes, as {attname: value} (written by COPY or `bulk_create`)."""
    row = check.row
    platelets = row.kind == CollectionRecord.Kind.PLATELETS
    anonymous = check.status in (UNATTRIBUTED, SUGGESTED)  # no unit of ours: no personal data kept
    if check.status in (MATCHED, VOLUME):
        outcome = check.status if check.status == VOLUME else "matched"
    else:
        outcome = "created" if check.donation_id else "station"
    attribution = {MATCHED: "donation", VOLUME: "donation", BY_NAME: "name", BY_ALIAS: "alias"}.get(
        check.status, "none"
    )
    return {
        "station_key": check.station_key,
        "match_key": check.match_key,
        "export_id": export_id,
        "jurisdiction_id": jurisdiction_id,
        "donor_name": "" if anonymous else row.name[:50],
        "sex": "" if anonymous else {"男": "M", "女": "F"}.get(row.sex, ""),
        "id_number_encrypted": "" if anonymous else check.encrypted or crypto.encrypt(check.id_number),
        "id_number_hash": "" if anonymous else check.id_hash,
        "id_number_masked": "" if anonymous else mask_id_number(check.id_number),
        "collected_on": row.collected_on,
        "kind": row.kind,
        "volume_ml": None if platelets else row.amount,
        "doses": row.amount if platelets else None,
        "place": row.place,
        "workplace": row.workplace,
        "unit_id": None if anonymous else check.unit_id,
        "attribution": attribution,
        "donation_id": check.donation_id,
        "outcome": outcome,
    }


def _copy_text(value) -> str:
    """A value in COPY's text format: NULL as \\N, backslash and line/field breaks escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _copy(model, names: list[str], rows) -> None:
    """COPY rows (each a list of values in the order of the attribute names `names`) into the
    model's table, in COPY's text format; database errors are raised as Django's."""
    meta = model._meta
    buffer = io.StringIO()
    for values in rows:
        buffer.write("\t".join([_copy_text(value) for value in values]))
        buffer.write("\n")
    buffer.seek(0)
    columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in names)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, buffer)


def _insert_records(values: list[dict]) -> None:
    """Insert one batch of records: PostgreSQL's COPY, else `bulk_create`.

    COPY because the ORM's per-field preparation of 100,000 model instances was most of the
    apply's time (`bench_station`, docs/performance.md); the database checks the same
    constraints (unique keys, foreign keys, checks) and raises the same IntegrityError.
    """
    if not values:
        return
    if connection.vendor != "postgresql":
        CollectionRecord.objects.bulk_create([CollectionRecord(**v) for v in values])
        return
    names = [f.attname for f in CollectionRecord._meta.concrete_fields if not f.primary_key]
    _copy(CollectionRecord, names, ([v[name] for name in names] for v in values))


def _station_donation_values(check: RowCheck) -> dict:
    """What a station-only record of a unit gives its donation, by attribute name; the rest is
    the donation's defaults with source 血站记录 (`_station_donation`, `_create_donations`)."""
    row = check.row
    platelets = row.kind == Donation.Kind.PLATELETS
    amount = row.amount if row.amount is not None else (1 if platelets else 400)
    return {
        "donor_name": row.name.strip()[:50],
        "id_number_encrypted": check.encrypted or crypto.encrypt(check.id_number),
        "id_number_hash": check.id_hash,
        "id_number_masked": mask_id_number(check.id_number),
        "sex": check.identity.sex,
        "birth_date": check.identity.birth_date,
        "unit_id": check.unit_id,
        "donated_on": row.collected_on,
        "kind": row.kind,
        "volume_ml": None if platelets else amount,
        "doses": amount if platelets else None,
        "blood_units": Donation.blood_units_for(row.kind, amount),
    }


def _station_donation(check: RowCheck, user) -> Donation:
    """The donation a station-only record of a unit becomes: source 血站记录 (station-verified
    right after, in the batch's one UPDATE)."""
    return Donation(
        **_station_donation_values(check),
        logged_by=user,
        source=Donation.Source.STATION,
        station_verified=False,  # set with the matched ones, in one statement (station_apply)
    )


def _create_donations(batch: list[RowCheck], user, reason: str) -> None:
    """Create the donations of a batch of station-only records, each with its history row
    (created, by `user`, for `reason`), and set each check's `donation_id`.

    PostgreSQL: two COPYs (donations with ids drawn from their sequence first, then the history
    rows), not `bulk_create_with_history`: building and preparing 25,000 donations and as many
    history instances through the ORM was most of the remaining apply (docs/performance.md).
    The values are `_station_donation`'s, every other column the model's default as the ORM
    writes it (`pre_save`, `get_db_prep_save`); COPY fires the same row triggers (the tally).
    Elsewhere `bulk_create_with_history`.
    """
    if connection.vendor != "postgresql":
        created = bulk_create_with_history(
            [_station_donation(c, user) for c in batch], Donation, default_user=user, default_change_reason=reason
        )
        for check, donation in zip(batch, created, strict=True):
            check.donation_id = donation.pk
        return
    meta = Donation._meta
    template = _station_donation(batch[0], user)
    own = _station_donation_values(batch[0])
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    # The columns every donation of the batch shares, as the ORM would write them once prepared.
    shared = {f.attname: _prepared(f, template) for f in fields if f.attname not in own}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(batch)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    for check, pk in zip(batch, ids, strict=True):
        check.donation_id = pk
    rows = [{meta.pk.attname: c.donation_id, **shared, **_station_donation_values(c)} for c in batch]
    names = [meta.pk.attname, *(f.attname for f in fields)]
    _copy(Donation, names, ([row[name] for name in names] for row in rows))
    history = Donation.history.model
    extra = {
        "history_date": timezone.now().isoformat(),
        "history_change_reason": reason,
        "history_type": "+",
        "history_user_id": user.pk if user is not None else None,
    }
    history_names = [f.attname for f in history._meta.concrete_fields if not f.primary_key]
    unknown = set(history_names) - set(rows[0]) - set(extra)
    if unknown:  # a history column this path does not know how to fill
        raise RuntimeError(f"{history._meta.label}: no value for {sorted(unknown)}")
    _copy(
        history,
        history_names,
        ([extra[name] if name in extra else row[name] for name in history_names] for row in rows),
    )


def _prepared(field, instance):
    """A field's value as the ORM would insert it for `instance`, in a form COPY's text takes."""
    value = field.pre_save(instance, True)
    if field.get_internal_type() == "JSONField":
        return json.dumps(value, cls=field.encoder)
    value = field.get_db_prep_save(value, connection)
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _mark_verified(donation_ids: list[int]) -> None:
    for start in range(0, len(donation_ids), BATCH):
        Donation.objects.filter(pk__in=donation_ids[start : start + BATCH]).update(station_verified=True)


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
    """
    if not preview.ok:
        raise ValidationError(ERROR_HAS_ERRORS)
    first_day = first_day or preview.first_day
    last_day = last_day or preview.last_day
    if first_day > last_day or first_day > preview.first_day or last_day < preview.last_day:
        raise ValidationError(ERROR_RANGE.format(first=preview.first_day, last=preview.last_day))
    counts = preview.counts
    export = StationExport(
        jurisdiction=jurisdiction,
        uploaded_by=user,
        filename=filename[:255],
        sha256=sha256,
        first_day=first_day,
        last_day=last_day,
        rows=len(preview.rows),
        new_records=preview.new_count,
        already_imported=counts[ALREADY],
        matched=counts[MATCHED],
        volume_differs=counts[VOLUME],
        station_only=counts[BY_NAME] + counts[BY_ALIAS] + counts[SUGGESTED] + counts[UNATTRIBUTED],
        unattributed=counts[SUGGESTED] + counts[UNATTRIBUTED],
    )
    export.full_clean()
    export.save()
    new = [c for c in preview.rows if c.status not in (ERROR, ALREADY)]
    reason = CHANGE_REASON_CREATED.format(filename=filename[:200])
    for check in new:
        if check.status not in (UNATTRIBUTED, SUGGESTED):  # kept with personal data
            check.encrypted = crypto.encrypt(check.id_number)  # once, for the record and its donation
    creating = [c for c in new if c.creates_donation and c.status in (BY_NAME, BY_ALIAS)]
    plain = [c for c in new if not (c.creates_donation and c.status in (BY_NAME, BY_ALIAS))]
    try:
        with transaction.atomic():
            # First the records that create no donation: they take no lock a liaison's logging
            # waits for (a matched donation's row is only share-locked by the foreign key).
            for start in range(0, len(plain), BATCH):
                batch = plain[start : start + BATCH]
                _insert_records([_record_values(c, export.pk, jurisdiction.pk) for c in batch])
            # Then, last, what liaisons' writes meet, from here to the commit only (not across
            # the whole apply): the people's lock first, as every writer of donations takes it
            # before any donation row (`lock_people`; exclusive above `MANY_PEOPLE` people, so
            # liaisons' logging waits for this part), then the matched donations marked verified
            # (one statement a batch: the kept count, campaigns' trigger once per statement),
            # the donations of station-only records, their records, marks and rule flags.
            if creating:
                lock_people({c.id_hash for c in creating})
            _mark_verified([c.donation_id for c in new if c.donation_id])
            for start in range(0, len(creating), BATCH):
                batch = creating[start : start + BATCH]
                _create_donations(batch, user, reason)
                _insert_records([_record_values(c, export.pk, jurisdiction.pk) for c in batch])
            _mark_verified([c.donation_id for c in creating])
            for start in range(0, len(creating), BATCH):  # a created donation may breach an interval
                reflag(
                    list({c.id_hash for c in creating[start : start + BATCH]}),
                    cause=CAUSE_CREATED.format(day=f"{first_day}–{last_day}"),
                    user=user,
                )
    except IntegrityError as exc:
        raise ValidationError(ERROR_CONFLICT) from exc
    return export


@transaction.atomic
def rematch(*, jurisdiction: Jurisdiction) -> int:
    """Link station-only records to donations reported since they were imported; how many.

    A liaison may report a donation after the station's export arrived: the record then becomes
    matched (or volume differs) and counts for the donation's unit. Batched like the preview.
    """
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
        CollectionRecord.objects.bulk_update(updates, ["donation", "unit", "attribution", "outcome"])
        Donation.objects.filter(pk__in=[u.donation_id for u in updates]).update(station_verified=True)
        linked += len(updates)
    return linked

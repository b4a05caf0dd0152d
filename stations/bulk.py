"""Bulk writes of a station apply: the records and the donations of station-only records.

PostgreSQL writes them with `COPY` (table and columns from `_meta`), SQLite with the ORM's bulk
methods; the values come from one place each (`record_values`, `station_donation_values`).
Called by `stations.services.station_apply` only, inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import json

from django.db import connection
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from campaigns.donors.identity import mask_id_number
from campaigns.models import Donation
from core import crypto

from .models import CollectionRecord
from .preview import BATCH, BY_ALIAS, BY_NAME, MATCHED, SUGGESTED, UNATTRIBUTED, VOLUME, RowCheck


def record_values(check: RowCheck, export_id: int, jurisdiction_id: int) -> dict:
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


def insert_records(values: list[dict]) -> None:
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


def station_donation_values(check: RowCheck) -> dict:
    """What a station-only record of a unit gives its donation, by attribute name; the rest is
    the donation's defaults with source 血站记录 (`_station_donation`, `create_donations`)."""
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
        **station_donation_values(check),
        logged_by=user,
        source=Donation.Source.STATION,
        station_verified=False,  # set with the matched ones, in one statement (station_apply)
    )


def create_donations(batch: list[RowCheck], user, reason: str) -> None:
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
    own = station_donation_values(batch[0])
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
    rows = [{meta.pk.attname: c.donation_id, **shared, **station_donation_values(c)} for c in batch]
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


def mark_verified(donation_ids: list[int]) -> None:
    for start in range(0, len(donation_ids), BATCH):
        Donation.objects.filter(pk__in=donation_ids[start : start + BATCH]).update(station_verified=True)

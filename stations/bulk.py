"""Bulk writes of a station apply: the records and the donations of station-only records.

PostgreSQL writes them with `COPY` (`core.bulk.copy_rows`, `campaigns.bulk.insert_donations`),
SQLite with the ORM's bulk methods; the values come from one place each (`record_values`,
`station_donation_values`).
Called by `stations.services.station_apply` only, inside its transaction.
"""

from __future__ import annotations

from campaigns.bulk import insert_donations
from campaigns.donors.identity import mask_id_number
from campaigns.models import Donation
from core import crypto
from core.bulk import copy_rows

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


def insert_records(values: list[dict]) -> None:
    """Insert one batch of records (`core.bulk.copy_rows`: COPY on PostgreSQL, else `bulk_create`).

    COPY because the ORM's per-field preparation of 100,000 model instances was most of the
    apply's time (`bench_station`, docs/performance.md); the database checks the same
    constraints (unique keys, foreign keys, checks) and raises the same IntegrityError.
    """
    copy_rows(CollectionRecord, values)


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
    (created, by `user`, for `reason`), and set each check's `donation_id`: one
    `campaigns.bulk.insert_donations` (COPY on PostgreSQL) with `station_donation_values` as
    each row's own values and `_station_donation`'s defaults for the rest."""
    rows = [station_donation_values(check) for check in batch]
    ids = insert_donations(rows, template=_station_donation(batch[0], user), user=user, reason=reason)
    for check, pk in zip(batch, ids, strict=True):
        check.donation_id = pk


def mark_verified(donation_ids: list[int]) -> None:
    for start in range(0, len(donation_ids), BATCH):
        Donation.objects.filter(pk__in=donation_ids[start : start + BATCH]).update(station_verified=True)

"""Check a station export before anything is written: read, validate, match and attribute.

`station_preview` reads the file in the bounded child process, then checks every row against
the database in batches of `BATCH` rows — two queries a batch (the records already kept, the
donations they may match), never one a row — plus one query each for the units and aliases of
the jurisdiction's subtree. Nothing is written; `stations.services.station_apply` writes what a
preview found.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from campaigns.donors.identity import Identity, IdNumberError, check_id_number
from campaigns.models import Donation
from core import crypto
from core.sandbox import SandboxError, run_bounded
from units.models import Jurisdiction, Unit, UnitAlias
from units.naming import normalize_name
from units.selectors import UnitMatcher

from .models import CollectionRecord
from .reader import StationReading, StationRow, read_station_export

BATCH = 2000

ERROR_DUPLICATE_IN_FILE = "与 {ref} 是同一条采血记录，重复。"
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
# What a row kept before, linked to no donation, may become on a later import; anything else
# leaves its record as it is.
CHANGING = (MATCHED, VOLUME, BY_NAME, BY_ALIAS)
STATUSES = (ALREADY, MATCHED, VOLUME, BY_NAME, BY_ALIAS, SUGGESTED, UNATTRIBUTED, ERROR)
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
    # A record kept by an earlier import, linked to no donation, that this row now matches or
    # attributes (a donation reported since, an alias or unit added since): updated, not added.
    record_id: int | None = None
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
        return sum(1 for r in self.rows if r.status not in (ERROR, ALREADY) and r.record_id is None)

    @property
    def updates(self) -> list[RowCheck]:
        """Rows that change a record kept before: now matched, or now attributed to a unit.

        A kept row that only resembles a unit (SUGGESTED) changes nothing unless staff confirm
        the suggestion: the confirm reads the file again, and the alias then attributes it.
        """
        return [r for r in self.rows if r.record_id is not None and r.status in CHANGING]

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
    A row kept before is final once its record is linked to a donation; kept but linked to none
    (station-only, or attributed to no unit), it is checked again like a new row, as a donation
    reported or an alias added since may now match or attribute it (`RowCheck.record_id`).
    """
    station_keys = [c.station_key for c in batch]
    match_keys = [c.match_key for c in batch]
    kept: dict[str, tuple[int, bool, str]] = {}  # either key -> (record, linked, attribution)
    for pk, skey, mkey, donation_id, attribution in CollectionRecord.objects.filter(
        Q(station_key__in=station_keys) | Q(match_key__in=match_keys)
    ).values_list("pk", "station_key", "match_key", "donation_id", "attribution"):
        kept[skey] = kept[mkey] = (pk, donation_id is not None, attribution)
    # Only rows not final can match or create a donation: a file applied before costs this one
    # query a batch for the rows whose records are all linked.
    fresh = [c for c in batch if not _final(kept.get(c.station_key) or kept.get(c.match_key))]
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
        record = kept.get(check.station_key) or kept.get(check.match_key)
        if _final(record):
            check.status = ALREADY
            continue
        found = donations.get((check.id_hash, row.collected_on, row.kind))
        if found and found[0] not in donation_ids:
            donation_ids.add(found[0])
            check.donation_id = found[0]
            check.unit_id = found[2]
            check.status = MATCHED if found[1] == row.amount else VOLUME
        else:
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
            if check.status in (BY_NAME, BY_ALIAS):
                day_key = (check.id_hash, row.collected_on)
                check.creates_donation = day_key not in occupied
                occupied.add(day_key)
        if record is not None:
            _against_kept(check, record)


def _final(record: tuple[int, bool, str] | None) -> bool:
    """Kept and linked to a donation: nothing a later import reads can change the record."""
    return record is not None and record[1]


def _against_kept(check: RowCheck, record: tuple[int, bool, str]) -> None:
    """A row of a record kept before, linked to no donation: an update where the row now says
    more (matched; attributed where it was not; a donation to create), else already imported.
    A suggestion stays one (staff may confirm it: the alias then attributes the record)."""
    pk, _linked, attribution = record
    attributes = check.status in (BY_NAME, BY_ALIAS) and (
        check.creates_donation or attribution == CollectionRecord.Attribution.NONE
    )
    if check.status in (MATCHED, VOLUME) or attributes or check.status == SUGGESTED:
        check.record_id = pk
        if check.status == SUGGESTED and attribution != CollectionRecord.Attribution.NONE:
            check.record_id, check.status, check.suggestions = None, ALREADY, []
        return
    check.status, check.unit_id, check.creates_donation = ALREADY, None, False


def _final_by_code(rows: list[RowCheck]) -> None:
    """Rows whose 献血码 names a record already linked to a donation: already imported, before
    any check — a re-applied export skips the ID number's check and keyed hash of those rows
    (one query a batch). Rows without a code are keyed by the hash, so they are checked."""
    coded = [c for c in rows if c.row.code and not c.row.errors]
    for start in range(0, len(coded), BATCH):
        batch = coded[start : start + BATCH]
        final = set(
            CollectionRecord.objects.filter(
                station_key__in=[f"c:{c.row.code}" for c in batch], donation__isnull=False
            ).values_list("station_key", flat=True)
        )
        for check in batch:
            if f"c:{check.row.code}" in final:
                check.station_key, check.status = f"c:{check.row.code}", ALREADY


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
    _final_by_code(preview.rows)
    lookup_hash = crypto.lookup_hasher()
    seen: dict[str, str] = {}
    for check in preview.rows:
        if check.status == ALREADY:  # final by its code: the first row of that code in the file
            first = seen.setdefault(check.station_key, check.row.ref)
            if first != check.row.ref:
                check.errors = [ERROR_DUPLICATE_IN_FILE.format(ref=first)]
            continue
        _check_row(check, lookup_hash)
    ready = [c for c in preview.rows if not c.errors and c.status != ALREADY]
    if ready:
        names, aliases = _unit_names(jurisdiction)
        # Loaded (three queries) only when a workplace is neither a unit's name nor an alias.
        matcher = functools.cache(lambda: UnitMatcher(jurisdiction)) if suggest else None
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

"""Roster services: preview a liaison's roster file, save it all or nothing, export a roster.

The rows are read by `reader.read_roster` in the bounded child process, checked against the
database and each other with the donation rules (`campaigns.services`), and saved under the
person lock (`lock_people`) in one transaction. A preview without errors is kept with the staged
file (`roster_keep`, encrypted by `core.uploads`), so the confirmation neither reads the file
again nor rebuilds its rows (`roster_restore`): it checks again only what can have changed since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from units.models import Unit
from units.naming import normalize_name

from ..bulk import insert_donations
from ..models import AccessEvent, Donation
from ..services import (
    CAUSE_ROSTER,
    CHANGE_REASON_ROSTER,
    Past,
    apply_rules,
    donation_build,
    history_of,
    lock_people,
    new_batch_id,
    plan_years_for,
    record_access,
    reflag,
)

ERROR_NOT_YOUR_UNIT = "单位“{name}”不是您负责的单位。"
ERROR_DUPLICATE_IN_FILE = "与 {ref} 是同一人同一天，重复。"


@dataclass
class RosterCheck:
    """One roster row with what the checks said and, when it passed, the donation to save."""

    row: object
    unit: Unit | None = None
    donation: Donation | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    reflag: bool = False  # stored donations of this person get new flags when the row is saved
    changed: bool = False  # the confirmation found a warning or flag the preview had not shown

    @property
    def problem(self) -> bool:
        """An error, a warning or a flag: listed before the rows that passed clean."""
        return bool(self.errors or self.warnings or self.flags)


@dataclass
class RosterPreview:
    rows: list[RosterCheck]
    errors: list[str]
    filename: str = ""
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and all(not r.errors for r in self.rows) and bool(self.rows)

    @property
    def error_count(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def review_count(self) -> int:
        """Rows that pass with a warning or a flag for staff review."""
        return sum(1 for r in self.rows if not r.errors and (r.warnings or r.flags))

    @property
    def clean_count(self) -> int:
        return len(self.rows) - self.error_count - self.review_count

    @property
    def changed_count(self) -> int:
        return sum(1 for r in self.rows if r.changed)


def roster_preview(*, data: bytes, filename: str, units: list[Unit], default_unit: Unit, logged_by) -> RosterPreview:
    """Check every row of a roster for the liaison's units; nothing is written.

    A row's 单位 column, when filled, must name one of the liaison's units (or an alias of one);
    an empty one means `default_unit`. Every row is checked with a fixed number of queries: one
    history look-up for all ID numbers in the file, one plan-year look-up per unit.
    """
    from core.sandbox import SandboxError, run_bounded
    from units.models import UnitAlias

    from .reader import RosterReading, read_roster

    try:  # read in a bounded child process, like every upload (core.sandbox)
        reading = run_bounded(read_roster, data, filename, today=timezone.localdate())
    except SandboxError as exc:
        reading = RosterReading(errors=[str(exc)])
    known = {u.normalized_name: u for u in units}
    by_pk = {u.pk: u for u in units}
    for key, unit_id in UnitAlias.objects.filter(unit__in=units).values_list("normalized_name", "unit_id"):
        known.setdefault(key, by_pk[unit_id])
    years = {u.pk: plan_years_for(u) for u in units}
    checks: list[RosterCheck] = []
    for row in reading.rows:
        check = RosterCheck(row=row, errors=list(row.errors))
        check.unit = known.get(normalize_name(row.unit)) if row.unit else default_unit
        if check.unit is None:
            check.errors.append(ERROR_NOT_YOUR_UNIT.format(name=row.unit))
        if not check.errors:
            try:
                check.donation = donation_build(
                    unit=check.unit,
                    donor_name=row.name,
                    id_number=row.id_number,
                    donated_on=row.donated_on,
                    kind=row.kind,
                    amount=row.amount,
                    phone=row.phone,
                    logged_by=logged_by,
                    declared_history=row.declared_history,
                )
            except ValidationError as exc:
                check.errors.extend(m for ms in exc.message_dict.values() for m in ms)
        checks.append(check)
    ready = [c for c in checks if c.donation]
    history = history_of(list({c.donation.id_number_hash for c in ready}))
    seen: dict[tuple[str, dt.date], str] = {}
    for check in ready:
        key = (check.donation.id_number_hash, check.donation.donated_on)
        if key in seen:
            check.errors.append(ERROR_DUPLICATE_IN_FILE.format(ref=seen[key]))
            check.donation = None
        else:
            seen[key] = check.row.ref
    _check_rows(ready, history, years)
    return RosterPreview(rows=checks, errors=reading.errors, filename=filename, sha256=hashlib.sha256(data).hexdigest())


def _check_rows(checks: list[RosterCheck], history: dict[str, list[Past]], years: dict | None) -> None:
    """Apply the rules to each roster row still ready, against the person's stored donations and
    the file's other rows of that person (before and after it); a row that fails gets its errors
    and no donation. `years`: plan years by unit (None: not checked again)."""
    in_file: dict[str, list[Donation]] = {}
    for check in checks:
        if check.donation:
            in_file.setdefault(check.donation.id_number_hash, []).append(check.donation)
    for check in checks:
        donation = check.donation
        if donation is None:
            continue
        others = history[donation.id_number_hash] + [
            (d.donated_on, d.kind) for d in in_file[donation.id_number_hash] if d is not donation
        ]
        try:
            result = apply_rules(donation, others, plan_years=None if years is None else years[check.unit.pk])
        except ValidationError as exc:
            check.errors.extend(m for ms in exc.message_dict.values() for m in ms)
            check.donation = None
            continue
        check.warnings, check.flags, check.reflag = result.warnings, result.flags, bool(donation.reflag)


class RosterChanged(ValidationError):
    """The confirmation's checks found a warning or flag the preview had not shown (a donation of
    one of these people was logged meanwhile): nothing was saved; `preview` marks those rows."""

    def __init__(self, preview: RosterPreview):
        super().__init__(ERROR_ROSTER_CHANGED.format(count=preview.changed_count))
        self.preview = preview


@transaction.atomic
def roster_commit(*, preview: RosterPreview) -> int:
    """Save every row of a checked roster, or none: one transaction, one bulk insert.

    The preview was checked without a lock, maybe minutes ago (its rows kept, `roster_restore`):
    here the people are locked (`lock_people`) and every row is checked again against what can
    have changed since — the people's stored donations (one query for them all) and the units'
    plan years (one query a unit). A row that now fails stops the commit (ERROR_ROSTER_CONFLICT);
    a row that now gets a warning or a flag the preview had not shown stops it too
    (`RosterChanged`), so nobody confirms a review flag they were not shown."""
    if not preview.ok:
        raise ValidationError(ERROR_ROSTER_HAS_ERRORS)
    people = list({c.donation.id_number_hash for c in preview.rows})
    lock_people(people)
    shown = [_shown(c) for c in preview.rows]
    units = {c.unit.pk: c.unit for c in preview.rows}
    _check_rows(preview.rows, history_of(people), {pk: plan_years_for(unit) for pk, unit in units.items()})
    if not preview.ok:
        raise ValidationError(ERROR_ROSTER_CONFLICT)
    for check, before in zip(preview.rows, shown, strict=True):
        check.changed = not _shown(check) <= before
    if preview.changed_count:
        raise RosterChanged(preview)
    donations = [c.donation for c in preview.rows]
    change = CHANGE_REASON_ROSTER.format(
        name=preview.filename, sha=preview.sha256[:12], batch=new_batch_id(), count=len(donations)
    )
    try:
        with transaction.atomic():
            _insert(donations, user=donations[0].logged_by, reason=change)
    except IntegrityError as exc:
        raise ValidationError(ERROR_ROSTER_CONFLICT) from exc
    breached = list({c.donation.id_number_hash for c in preview.rows if c.reflag})
    if breached:  # rows entered after the fact that breach donations stored already
        reflag(breached, cause=CAUSE_ROSTER.format(name=preview.filename), user=donations[0].logged_by)
    return len(preview.rows)


def _insert(donations: list[Donation], *, user, reason: str) -> None:
    """Insert a roster's donations, each with its history row ("+", by `user`, for `reason`),
    through `campaigns.bulk.insert_donations`: a row's own values are the ones `donation_build`
    and the rules set (`ROW_FIELDS`), every other column the first donation's."""
    rows = [{name: getattr(donation, name) for name in ROW_FIELDS} for donation in donations]
    ids = insert_donations(rows, template=donations[0], user=user, reason=reason)
    for pk, donation in zip(ids, donations, strict=True):
        donation.pk = pk
        donation._state.adding = False


ERROR_ROSTER_HAS_ERRORS = "名单中有错误的行，未保存任何记录。"
ERROR_ROSTER_CONFLICT = "名单中有人已在同一天登记过（可能刚被他人登记），未保存任何记录，请重新上传预览。"
ERROR_ROSTER_CHANGED = (
    "预览之后，名单中 {count} 行出现了新的提示（可能刚有人登记了这些献血者），已标在下面。"
    "未保存任何记录：请查看后再确认。"
)


def _shown(check: RosterCheck) -> set[str]:
    """What a row's check result tells the liaison, beyond passing: its warnings and flags."""
    return set(check.warnings) | {f["message"] for f in check.flags}


# The fields `donation_build` sets from a row (the user who logs it is the confirming one): kept
# as the preview built them, ID number encrypted, hashed and masked, never in clear.
KEPT_FIELDS = (
    "donor_name",
    "id_number_encrypted",
    "id_number_hash",
    "id_number_masked",
    "sex",
    "birth_date",
    "phone_encrypted",
    "unit_id",
    "donated_on",
    "kind",
    "volume_ml",
    "doses",
    "blood_units",
    "declared_history",
)
KEPT_VERSION = 1
ROW_FIELDS = (*KEPT_FIELDS, "flags")  # what differs from one roster row's donation to the next


def roster_keep(preview: RosterPreview) -> bytes:
    """A preview without errors as bytes, for `core.uploads.save_derived` to keep beside the
    staged file (encrypted like it: the rows name people): each row's place, what was read for
    the page, the donation's fields as `donation_build` made them, and the warnings and flags
    the liaison was shown."""
    if not preview.ok:
        raise ValueError("only a preview without errors is kept")
    rows = []
    for check in preview.rows:
        row, donation = check.row, check.donation
        values = {name: getattr(donation, name) for name in KEPT_FIELDS}
        rows.append(
            {"ref": row.ref, "unit": row.unit or check.unit.name, "amount": row.amount, **values}
            | {"warnings": check.warnings, "flags": check.flags}
        )
    kept = {"version": KEPT_VERSION, "filename": preview.filename, "sha256": preview.sha256, "rows": rows}
    return json.dumps(kept, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def roster_restore(*, kept: bytes, units: list[Unit], logged_by) -> RosterPreview:
    """The preview `roster_keep` kept, its donations logged by `logged_by`, ready for
    `roster_commit` (which checks it again) or to be shown again. A row whose unit is no longer
    among `units` (the liaison's, now) gets an error instead of a donation."""
    from .reader import RosterRow

    kept = json.loads(kept)
    if kept.get("version") != KEPT_VERSION:
        raise ValueError("a roster kept by another version")
    by_pk = {u.pk: u for u in units}
    fields = [(name, Donation._meta.get_field(name.removesuffix("_id"))) for name in KEPT_FIELDS]
    checks = []
    for item in kept["rows"]:
        values = {name: field.to_python(item[name]) for name, field in fields}  # dates, decimals
        row = RosterRow(
            ref=item["ref"],
            name=values["donor_name"],
            id_number="",  # never kept in clear: the donation holds it encrypted
            donated_on=values["donated_on"],
            kind=values["kind"],
            amount=item["amount"],
            unit=item["unit"],
            phone="",
            declared_history=values["declared_history"],
        )
        unit = by_pk.get(values.pop("unit_id"))
        check = RosterCheck(row=row, unit=unit, warnings=item["warnings"], flags=item["flags"])
        if unit is None:
            check.errors.append(ERROR_NOT_YOUR_UNIT.format(name=row.unit))
        else:
            check.donation = Donation(**values, unit=unit, logged_by=logged_by)
        checks.append(check)
    return RosterPreview(rows=checks, errors=[], filename=kept["filename"], sha256=kept["sha256"])


def roster_export(*, donations, user):
    """A roster with full ID numbers for the blood station, as an openpyxl workbook; the export
    is recorded in the access log. The caller makes the response (`core.xlsx.xlsx_response`)."""
    import openpyxl

    from core.xlsx import escape_formula

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _("献血者名单")
    sheet.append(
        [_("序号"), _("姓名"), _("性别"), _("身份证号"), _("献血日期")]
        + [_("献血类型"), _("献血量"), _("单位"), _("状态")]
    )
    count = 0
    for count, d in enumerate(donations, start=1):
        sheet.append(
            [
                count,
                escape_formula(d.donor_name),
                d.get_sex_display(),
                crypto.decrypt(d.id_number_encrypted),
                d.donated_on,
                d.get_kind_display(),
                _("%(n)d 个治疗量") % {"n": d.doses} if d.kind == Donation.Kind.PLATELETS else f"{d.volume_ml} ml",
                escape_formula(d.unit.name),
                d.get_status_display(),
            ]
        )
    record_access(user=user, action=AccessEvent.Action.EXPORT_ROSTER, detail=f"{count} 条")
    return workbook

"""Roster services: preview a liaison's roster file, save it all or nothing, export a roster.

The rows are read by `reader.read_roster` in the bounded child process, checked against the
database and each other with the donation rules (`campaigns.services`), and saved under the
person lock (`lock_people`) in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from core import crypto
from units.models import Unit
from units.naming import normalize_name

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


@transaction.atomic
def roster_commit(*, preview: RosterPreview) -> int:
    """Save every row of a checked roster, or none: one transaction, one bulk insert.

    The preview was checked without a lock: here the people are locked (`lock_people`) and the
    rows checked again against their stored donations, so a donation logged meanwhile is seen
    (a new flag, or a duplicate that stops the commit)."""
    if not preview.ok:
        raise ValidationError(ERROR_ROSTER_HAS_ERRORS)
    people = list({c.donation.id_number_hash for c in preview.rows})
    lock_people(people)
    _check_rows(preview.rows, history_of(people), None)
    if not preview.ok:
        raise ValidationError(ERROR_ROSTER_CONFLICT)
    donations = [c.donation for c in preview.rows]
    change = CHANGE_REASON_ROSTER.format(
        name=preview.filename, sha=preview.sha256[:12], batch=new_batch_id(), count=len(donations)
    )
    try:
        with transaction.atomic():
            bulk_create_with_history(
                donations,
                Donation,
                batch_size=1000,
                default_user=donations[0].logged_by,
                default_change_reason=change,
            )
    except IntegrityError as exc:
        raise ValidationError(ERROR_ROSTER_CONFLICT) from exc
    breached = list({c.donation.id_number_hash for c in preview.rows if c.reflag})
    if breached:  # rows entered after the fact that breach donations stored already
        reflag(breached, cause=CAUSE_ROSTER.format(name=preview.filename), user=donations[0].logged_by)
    return len(preview.rows)


ERROR_ROSTER_HAS_ERRORS = "名单中有错误的行，未保存任何记录。"
ERROR_ROSTER_CONFLICT = "名单中有人已在同一天登记过（可能刚被他人登记），未保存任何记录，请重新上传预览。"


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

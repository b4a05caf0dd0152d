"""Writes to plans and quotas: notice import (preview and apply), publish, close, copy a year on."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.bulk import copy_rows
from core.sandbox import SandboxError, run_bounded
from units.models import Jurisdiction, Unit
from units.naming import normalize_name
from units.selectors import NameMatch, UnitMatcher, child_level, jurisdiction_name_of, unit_name_of
from units.services import aliases_create_bulk, jurisdiction_get_or_create, jurisdiction_named, units_create_bulk

from .models import AnnualPlan, PlanSource, Quota
from .notice.layouts import FLAG_MESSAGES, FLAG_UNMATCHED, KIND_YEAR, Issue, ParsedRow
from .notice.reader import NoticeReading, check_notice_text, read_notice

NEW, CHANGED, UNCHANGED, REMOVED, ERROR = "new", "changed", "unchanged", "removed", "error"
CREATE = "create"
# Decisions for a name allocated to a sub-jurisdiction: create it under the plan's jurisdiction,
# or "sub:<id>" for one of its existing children.
CREATE_SUB_JURISDICTION = "sub:new"
SUB_JURISDICTION_PREFIX = "sub:"
STATUS_LABELS = {NEW: "新增", CHANGED: "修改", UNCHANGED: "不变", REMOVED: "删除", ERROR: "错误"}

ERROR_OUTSIDE_YEAR = "{ref}：时间“{text}”不在计划年度 {year} 年内。"
ERROR_PLAN_CLOSED = "{year} 年度计划已结束，不能再导入。"
CHANGE_REASON_IMPORT = "导入通知附件 {name}（SHA-256 {sha}…）：新增 {new} 条、修改 {changed} 条、删除 {removed} 条任务"
CHANGE_REASON_STATUS = "状态改为“{status}”"
CHANGE_REASON_REOPEN = "重新开放：状态由“已结束”改为“{status}”，任务可以修改"
ERROR_PLAN_LOCKED = "{plan} 已结束，任务只读：如需修改，请先重新开放计划。"
CHANGE_REASON_DELETE = "删除年度计划 {plan}（共 {count} 条任务）"
WARN_FILENAME_YEAR = "文件名“{name}”写的是 {found} 年，而导入的年度是 {year} 年：请确认年度，否则所有日期都会错一年。"
_FILENAME_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
ERROR_BAD_DECISION = "“{name}”的处理方式无效：请选择新建单位、已有单位或下级行政区划。"


@dataclass
class RowPreview:
    """A parsed row as it will be stored, with its match decisions and diff status."""

    row: ParsedRow
    matches: list[NameMatch]
    status: str
    existing_id: int | None = None
    changes: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def status_label(self) -> str:
        return gettext(STATUS_LABELS[self.status])  # the preview's words, translated there too


@dataclass
class ImportReport:
    reading: NoticeReading
    rows: list[RowPreview]
    removed: list[Quota]
    plan: AnnualPlan | None
    applied: bool = False
    created_units: int = 0
    created_aliases: int = 0
    created_jurisdictions: int = 0
    # The importing jurisdiction's children (id, name): what an unknown name may be mapped to.
    children: list[tuple[int, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return self.reading.errors

    @property
    def warnings(self) -> list[Issue]:
        return self.reading.warnings

    @property
    def year_warnings(self) -> list[Issue]:
        """A year in the file's title or name that is not the import's year."""
        return [w for w in self.warnings if w.kind == KIND_YEAR]

    @property
    def unknown(self) -> dict[str, NameMatch]:
        """Each printed name that matched nothing, once, in file order."""
        names: dict[str, NameMatch] = {}
        for preview in self.rows:
            for match in preview.matches:
                if not match.matched:
                    names.setdefault(match.key, match)
        return names

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for preview in self.rows:
            counts[preview.status] += 1
        counts[REMOVED] = len(self.removed)
        return dict(counts)

    def as_json(self) -> dict:
        document = self.reading.as_json()
        document["summary"] = {
            "rows": len(self.rows),
            **self.counts(),
            "unknown_units": len(self.unknown),
            "applied": self.applied,
        }
        return document


def _quota_key(label: str, start: dt.date | None, end: dt.date | None) -> tuple:
    return (normalize_name(label), start, end)


def _diff(row: ParsedRow, quota: Quota) -> list[str]:
    pairs = [
        ("任务数", quota.target, row.target),
        ("时间", quota.period_text, row.period_label or ""),
        ("地点", quota.location, row.location or ""),
        ("总人数", quota.headcount, row.headcount),
        ("指导性", quota.advisory, row.advisory),
        ("序号", quota.seq, row.seq),
    ]
    return [f"{name}：{old} → {new}" for name, old, new in pairs if old != new]


_LIMITS = [("unit", 500, "单位名称"), ("period_label", 100, "时间"), ("location", 200, "地点")]
ERROR_TOO_LONG = "{ref}：{what}超过 {limit} 个字符。"


def _too_long(row: ParsedRow) -> str:
    """What the database could not store, said before anything is written."""
    for attr, limit, what in _LIMITS:
        if len(getattr(row, attr) or "") > limit:
            return ERROR_TOO_LONG.format(ref=row.cell, what=what, limit=limit)
    if any(len(name) > 200 for name in row.members or [row.unit]):
        return ERROR_TOO_LONG.format(ref=row.cell, what="单位名称", limit=200)
    return ""


def _names_of(row: ParsedRow) -> list[str]:
    return row.members or [row.unit]


def preview_import(
    *,
    data: bytes,
    filename: str,
    jurisdiction: Jurisdiction | None,
    year: int,
    plan: AnnualPlan | None = None,
    notice_text: str = "",
    suggest: bool = True,
    corrections: dict[str, str] | None = None,
    document=None,
) -> ImportReport:
    """Read a file and compare it with what is stored: nothing is written.

    The file is read in a bounded child process (`core.sandbox`). `suggest=False` leaves out
    the ranked suggestions for unknown names: applying needs only the exact matches, and the
    staff member's choices among the suggestions come with the confirmation. `corrections`
    (address → text) are staff's corrections of cells read from a scan (`read_notice`);
    `document` is a scan already read by OCR (`quotas.tasks`), so it is not read again.
    """
    reading = read_notice_bounded(
        data,
        filename,
        year=year,
        jurisdiction=jurisdiction.full_name if jurisdiction else "",
        corrections=corrections,
        document=document,
    )
    if notice_text:
        check_notice_text(reading, notice_text, override=True)
    found = {int(y) for y in _FILENAME_YEAR.findall(filename)}
    if found and year not in found:
        message = WARN_FILENAME_YEAR.format(name=filename, found="、".join(map(str, sorted(found))), year=year)
        reading.warnings.insert(0, Issue("warning", message, "", filename, kind=KIND_YEAR))
    if plan is None and jurisdiction is not None and jurisdiction.pk:
        plan = AnnualPlan.objects.filter(jurisdiction=jurisdiction, year=year).first()
    if plan is not None and plan_is_locked(plan):
        reading.errors.append(Issue("error", ERROR_PLAN_CLOSED.format(year=year)))
    matcher = UnitMatcher(jurisdiction)
    existing: dict[tuple, list[Quota]] = defaultdict(list)
    if plan is not None and plan.pk:
        for quota in plan.quotas.order_by("position", "pk"):
            existing[_quota_key(quota.label, quota.period_start, quota.period_end)].append(quota)
    previews = []
    for row in reading.rows:
        matches = [matcher.match(name, suggest=suggest) for name in _names_of(row)]
        if row.flags is not None:  # read from a scan: a name matching nothing may be misread
            for match in matches:
                if not match.matched:
                    message = FLAG_MESSAGES[FLAG_UNMATCHED].format(name=match.printed)
                    row.flag(FLAG_UNMATCHED, row.cell, match.printed, message)
        preview = RowPreview(row=row, matches=matches, status=NEW)
        too_long = _too_long(row)
        if too_long:
            preview.status = ERROR
            preview.message = too_long
            reading.errors.append(Issue("error", too_long, row.cell, row.unit[:80]))
        elif row.start and (row.start.year != year or row.end.year != year):
            preview.status = ERROR
            ref = row.period_cell or row.cell
            preview.message = ERROR_OUTSIDE_YEAR.format(ref=ref, text=row.period_label, year=year)
            reading.errors.append(Issue("error", preview.message, ref, row.period_label or ""))
        else:
            candidates = existing.get(_quota_key(row.unit, row.start, row.end))
            if candidates:
                quota = candidates.pop(0)
                preview.existing_id = quota.pk
                preview.changes = _diff(row, quota)
                preview.status = CHANGED if preview.changes else UNCHANGED
        previews.append(preview)
    removed = [q for quotas in existing.values() for q in quotas]
    report = ImportReport(reading=reading, rows=previews, removed=removed, plan=plan)
    report.children = sorted(matcher.child_names.items(), key=lambda item: item[1])
    return report


@transaction.atomic
def plan_import(
    *,
    data: bytes,
    filename: str,
    jurisdiction: Jurisdiction,
    year: int,
    dry_run: bool = False,
    user=None,
    decisions: dict[str, str | int] | None = None,
    notice_text: str = "",
    plan_fields: dict | None = None,
    corrections: dict[str, str] | None = None,
    document=None,
) -> ImportReport:
    """Import a notice attachment into the jurisdiction's plan for `year`, all or nothing.

    `decisions` maps a normalised unknown name to CREATE or to the id of an existing unit
    (saved as an alias, so next year's file matches by itself); unknown names without a
    decision are created as new units. With errors in the file, or `dry_run`, nothing is
    written and the report says what would happen. `corrections` are staff's corrections of
    cells read from a scan, checked and read again as in the preview; the import's history entry
    and its kept file's summary name each one (the cell, what OCR read, what was typed, by whom).
    """
    decisions = decisions or {}
    report = preview_import(
        data=data,
        filename=filename,
        jurisdiction=jurisdiction,
        year=year,
        notice_text=notice_text,
        suggest=False,
        corrections=corrections,
        document=document,
    )
    if report.errors or dry_run:
        return report

    facts = report.reading.facts
    plan = report.plan
    if plan is None:
        plan = AnnualPlan(jurisdiction=jurisdiction, year=year)
    for name in ("document_number", "title"):
        if facts.get(name) and not getattr(plan, name):
            setattr(plan, name, facts[name])
    if facts.get("issue_date") and not plan.issue_date:
        plan.issue_date = dt.date.fromisoformat(facts["issue_date"])
    if report.reading.declared_total and not plan.declared_total:
        plan.declared_total = report.reading.declared_total
    for name, value in (plan_fields or {}).items():
        setattr(plan, name, value)
    plan.full_clean()
    sha256 = hashlib.sha256(data).hexdigest()
    # The import is one entry in the plan's history, naming the file; the quotas it writes in
    # bulk carry the file as their source instead of an entry each.
    plan._history_user = user
    plan._change_reason = import_change_reason(filename, sha256, report.counts())
    corrected = report.reading.corrections
    if corrected:
        plan._change_reason += correction_note(corrected, user)
    plan.save()
    report.plan = plan

    source = PlanSource(plan=plan, original_name=filename, sha256=sha256, size=len(data), uploaded_by=user)
    source.save()
    resolved = _resolve_units(report, jurisdiction, decisions)
    _write_quotas(report, plan, source, resolved, user=user, reason=plan._change_reason)
    report.applied = True
    source.summary = report.as_json()["summary"] | {"warnings": len(report.warnings)}
    if corrected:
        who = user.get_username() if user else ""
        source.summary["corrections"] = [
            {"ref": c["ref"], "ocr": c["ocr"], "typed": c["typed"], "by": who} for c in corrected
        ]
    # The kept file is written last, when only the commit remains, and deleted at once if its
    # row cannot be saved. A transaction that still does not commit (a worker killed, a failure
    # in the caller's transaction) leaves a file no row names: purge_uploads deletes it.
    source.file.save(filename, ContentFile(data), save=False)
    try:
        source.save(update_fields=["file", "summary"])
    except BaseException:
        source.file.storage.delete(source.file.name)
        raise
    return report


CHANGE_REASON_CORRECTED = "；{user}更正了识别结果 {count} 处：{items}"
CHANGE_REASON_CORRECTION = "{ref} 识别为“{ocr}”，改为“{typed}”"


def correction_note(corrections: list[dict], user=None) -> str:
    """The history entry's account of staff's corrections of a scan: each cell, what OCR read,
    what was typed, and who typed it."""
    items = "，".join(CHANGE_REASON_CORRECTION.format(**c) for c in corrections)
    who = f"{user.get_username()} " if user else ""
    return CHANGE_REASON_CORRECTED.format(user=who, count=len(corrections), items=items)


def read_notice_bounded(
    data: bytes,
    filename: str,
    *,
    year: int,
    jurisdiction: str = "",
    corrections: dict[str, str] | None = None,
    document=None,
) -> NoticeReading:
    """`read_notice` in a child process with the upload limits; a refused child is a file error."""
    try:
        return run_bounded(
            read_notice,
            data,
            filename,
            year=year,
            jurisdiction=jurisdiction,
            corrections=corrections or None,
            document=document,
        )
    except SandboxError as exc:
        reading = NoticeReading(year=year, jurisdiction=jurisdiction)
        reading.errors.append(Issue("error", str(exc)))
        return reading


def scan_pages_bounded(data: bytes, filename: str) -> int:
    """How many pages OCR would read (`ocr.scan_pages`), in the upload sandbox; 0 if that
    fails (the ordinary reading then says what is wrong with the file)."""
    from .notice.ocr import scan_pages

    try:
        return run_bounded(scan_pages, data, filename)
    except SandboxError:
        return 0


def cell_images_bounded(data: bytes, cells: list[tuple[int, tuple]]) -> list[bytes]:
    """Pictures of scanned cells (`ocr.cell_images`) in the upload sandbox; none if it fails
    (the preview then shows the readings without their pictures)."""
    if not cells:
        return []
    from .notice.ocr import cell_images

    try:
        return run_bounded(cell_images, data, cells)
    except SandboxError:
        return [b""] * len(cells)


def purge_orphan_sources(*, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Delete notice files that no PlanSource names (an import killed before it committed)."""
    root = Path(settings.MEDIA_ROOT)
    folder = root / "notices"
    if not folder.is_dir():
        return 0
    known = set(PlanSource.objects.exclude(file="").values_list("file", flat=True))
    cutoff = time.time() - older_than.total_seconds()
    deleted = 0
    for path in folder.rglob("*"):
        if path.is_file() and path.relative_to(root).as_posix() not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def _resolve_units(report: ImportReport, jurisdiction: Jurisdiction, decisions: dict) -> dict[str, tuple]:
    """The unit id (or sub-jurisdiction id) each normalised name stands for, creating as decided.

    New units and aliases are written in bulk: a 20,000-row notice of new units is a handful of
    INSERTs, not 20,000 round trips.
    """
    resolved: dict[str, tuple] = {}
    to_create: dict[str, NameMatch] = {}
    mapped: dict[str, tuple[NameMatch, int]] = {}
    for preview in report.rows:
        for match in preview.matches:
            if match.key in resolved or match.key in to_create or match.key in mapped:
                continue
            if match.unit_id is not None:
                resolved[match.key] = ("unit", match.unit_id)
            elif match.sub_jurisdiction_id is not None:
                resolved[match.key] = ("jurisdiction", match.sub_jurisdiction_id)
            elif decisions.get(match.key, CREATE) == CREATE:
                to_create[match.key] = match
            elif str(decisions[match.key]).startswith(SUB_JURISDICTION_PREFIX):
                resolved[match.key] = ("jurisdiction", _sub_jurisdiction(report, jurisdiction, match, decisions))
            else:
                try:
                    mapped[match.key] = (match, int(decisions[match.key]))
                except (TypeError, ValueError) as exc:
                    raise ValueError(ERROR_BAD_DECISION.format(name=match.printed)) from exc

    new_units = units_create_bulk(
        names=[unit_name_of(m.printed) for m in to_create.values()], jurisdiction=jurisdiction
    )
    report.created_units = len(new_units)
    aliases = []
    for match, unit in zip(to_create.values(), new_units, strict=True):
        resolved[match.key] = ("unit", unit.pk)
        if match.key != unit.normalized_name:  # "区人社局及下属单位" is also a name of 区人社局
            aliases.append((unit, match.printed))

    targets = Unit.objects.filter(
        pk__in={pk for _, pk in mapped.values()}, jurisdiction__path__startswith=jurisdiction.path
    )
    by_pk = {u.pk: u for u in targets}
    for key, (match, pk) in mapped.items():
        if pk not in by_pk:
            raise ValueError(ERROR_BAD_DECISION.format(name=match.printed))
        resolved[key] = ("unit", pk)
        aliases.append((by_pk[pk], match.printed))
    report.created_aliases = len(aliases_create_bulk(pairs=aliases))
    return resolved


def _sub_jurisdiction(report: ImportReport, jurisdiction: Jurisdiction, match: NameMatch, decisions: dict) -> int:
    """The child jurisdiction a name is allocated to: created under the plan's jurisdiction
    (CREATE_SUB_JURISDICTION) or one of its children by id."""
    decision = str(decisions[match.key])
    if decision == CREATE_SUB_JURISDICTION:
        name = jurisdiction_name_of(match.printed)  # "永定区（含城区）" → 永定区
        existed = jurisdiction_named(name, parent=jurisdiction) is not None
        child = jurisdiction_get_or_create(name=name, parent=jurisdiction, level=child_level(jurisdiction, name))
        report.created_jurisdictions += not existed
        return child.pk
    pk = decision.removeprefix(SUB_JURISDICTION_PREFIX)
    if not pk.isdigit() or not Jurisdiction.objects.filter(pk=int(pk), parent=jurisdiction).exists():
        raise ValueError(ERROR_BAD_DECISION.format(name=match.printed))
    return int(pk)


_QUOTA_FIELDS = [
    "label",
    "target",
    "period_text",
    "period_start",
    "period_end",
    "location",
    "headcount",
    "advisory",
    "seq",
    "source",
    "source_sheet",
    "source_cell",
    "position",
    "sub_jurisdiction",
]


def _write_quotas(
    report: ImportReport,
    plan: AnnualPlan,
    source: PlanSource,
    resolved: dict[str, tuple],
    *,
    user=None,
    reason: str = "",
) -> None:
    """Create, update and delete quotas to match the file, in bulk (rows validated in the preview);
    each created or changed quota gets its history entry naming the file, in one bulk write."""
    existing = {q.pk: q for q in plan.quotas.all()} if any(p.existing_id for p in report.rows) else {}
    new_rows: list[dict] = []
    new_members: list[list[int]] = []
    updated: list[Quota] = []
    updated_members: list[tuple[int, list[int]]] = []
    for position, preview in enumerate(report.rows):
        row = preview.row
        unit_ids, sub_jurisdiction = [], None
        for match in preview.matches:
            kind, pk = resolved[match.key]
            if kind == "unit":
                unit_ids.append(pk)
            else:
                sub_jurisdiction = pk
        values = {
            "label": row.unit,
            "target": row.target,
            "period_text": row.period_label or "",
            "period_start": row.start,
            "period_end": row.end,
            "location": row.location or "",
            "headcount": row.headcount,
            "advisory": row.advisory,
            "seq": row.seq,
            "source": source.pk,
            "source_sheet": row.sheet,
            "source_cell": row.cell.split("!")[-1],
            "position": position,
            "sub_jurisdiction": sub_jurisdiction,
        }
        unit_ids = list(dict.fromkeys(unit_ids))
        if preview.existing_id:
            quota = existing[preview.existing_id]
            for name, value in values.items():
                setattr(quota, f"{name}_id" if name in ("source", "sub_jurisdiction") else name, value)
            updated.append(quota)
            updated_members.append((quota.pk, unit_ids))
        else:
            new_rows.append({"plan": plan.pk, "year": plan.year, **values})
            new_members.append(unit_ids)
    Through = Quota.units.through
    Quota.objects.filter(pk__in=[q.pk for q in report.removed]).delete()
    before = set(existing) | {q.pk for q in report.removed}
    copy_rows(Quota, [_as_columns(r) for r in new_rows])
    # COPY returns no ids: the plan's rows not there before, in id (= insertion) order.
    new_pks = list(Quota.objects.filter(plan=plan).exclude(pk__in=before).order_by("pk").values_list("pk", flat=True))
    Quota.objects.bulk_update(updated, _QUOTA_FIELDS, batch_size=2000)
    Through.objects.filter(quota_id__in=[pk for pk, _ in updated_members]).delete()
    links = [(pk, ids) for pk, ids in zip(new_pks, new_members, strict=True)] + updated_members
    copy_rows(Through, [{"quota_id": pk, "unit_id": u} for pk, ids in links for u in ids])
    _write_history(new_pks, "+", user=user, reason=reason)
    _write_history([q.pk for q in updated], "~", user=user, reason=reason)  # rewritten: source, position


def _write_history(pks: list[int], kind: str, *, user=None, reason: str = "") -> None:
    """One history entry per quota, copied from the stored rows by the database itself
    (INSERT … SELECT: one statement on PostgreSQL, no row through Python), so the import's quotas
    have their first entry and a later edit shows 5 → 7."""
    if not pks:
        return
    from django.db import connection

    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in Quota._meta.concrete_fields)
    history = Quota.history.model._meta.db_table
    trail = "history_date, history_type, history_user_id, history_change_reason"
    head = (
        f"INSERT INTO {quote(history)} ({columns}, {trail}) "  # noqa: S608 - names from the models
        f"SELECT {columns}, %s, %s, %s, %s FROM {quote(Quota._meta.db_table)} WHERE id "
    )
    values = [timezone.now(), kind, user.pk if user else None, reason]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(head + "= ANY(%s)", [*values, list(pks)])
            return
        for i in range(0, len(pks), 900):  # SQLite's bound-parameter limit
            chunk = pks[i : i + 900]
            cursor.execute(head + f"IN ({', '.join(['%s'] * len(chunk))})", [*values, *chunk])


def _as_columns(values: dict) -> dict:
    """Foreign keys by their attribute names (plan → plan_id) for bulk_insert."""
    return {f"{k}_id" if k in ("plan", "source", "sub_jurisdiction") else k: v for k, v in values.items()}


def import_change_reason(filename: str, sha256: str, counts: dict[str, int]) -> str:
    """The history entry of an import: the file, its fingerprint and what it changed."""
    return CHANGE_REASON_IMPORT.format(
        name=filename,
        sha=sha256[:12],
        new=counts.get(NEW, 0),
        changed=counts.get(CHANGED, 0),
        removed=counts.get(REMOVED, 0),
    )


@transaction.atomic
def plan_set_status(*, plans, status: str, user=None) -> int:
    """Publish or close plans, each an entry in its history; returns how many changed."""
    changed = 0
    chosen = AnnualPlan.objects.filter(pk__in=[p.pk for p in plans]).exclude(status=status)
    if status != AnnualPlan.Status.CLOSED:  # a closed plan opens only through plan_reopen, said so
        chosen = chosen.exclude(status=AnnualPlan.Status.CLOSED)
    for plan in chosen.select_for_update():
        plan.status = status
        plan._history_user = user
        plan._change_reason = CHANGE_REASON_STATUS.format(status=plan.get_status_display())
        plan.save(update_fields=["status", "updated_at"])
        changed += 1
    return changed


def plan_is_locked(plan: AnnualPlan) -> bool:
    """A closed plan (已结束) is locked: its quotas are read only until the plan is reopened
    (as DHIS2 locks approved data). The one home of the rule: the admin, the flat import and
    the notice import ask it."""
    return plan.status == AnnualPlan.Status.CLOSED


@transaction.atomic
def plan_reopen(*, plans, user=None) -> int:
    """Reopen closed plans (back to published), each an entry in its history saying so; the only
    way to unlock a closed plan's quotas. Plans not closed are left alone; returns how many."""
    changed = 0
    closed = AnnualPlan.objects.filter(pk__in=[p.pk for p in plans], status=AnnualPlan.Status.CLOSED)
    for plan in closed.select_for_update():
        plan.status = AnnualPlan.Status.PUBLISHED
        plan._history_user = user
        plan._change_reason = CHANGE_REASON_REOPEN.format(status=plan.get_status_display())
        plan.save(update_fields=["status", "updated_at"])
        changed += 1
    return changed


@transaction.atomic
def plan_delete(*, plan: AnnualPlan, user=None) -> int:
    """Delete a plan with its quotas, each quota's deletion kept in the audit trail; returns how
    many quotas went.

    simple-history writes a history row per deleted object from a signal, which makes Django
    fetch and delete a 20,000-quota plan one object at a time (minutes). Here the quotas' history
    rows are written in one bulk insert, then the memberships and the quotas go in two
    statements, and the plan itself (with its few other rows) through the ORM, so its history
    entry and cascades stay Django's.
    """
    History = Quota.history.model
    reason = CHANGE_REASON_DELETE.format(plan=plan, count="{count}")
    now = timezone.now()
    fields = [f.attname for f in Quota._meta.concrete_fields]
    quotas = Quota.objects.filter(plan=plan)
    rows = [dict(zip(fields, values, strict=True)) for values in quotas.values_list(*fields).iterator(chunk_size=5000)]
    trail = {
        "history_type": "-",
        "history_date": now,
        "history_user_id": user.pk if user else None,
        "history_change_reason": reason.format(count=len(rows)),
    }
    copy_rows(History, [row | trail for row in rows])  # COPY: no ORM compilation per value
    Quota.units.through.objects.filter(quota__plan=plan)._raw_delete(quotas.db)  # no signals: none listen
    quotas._raw_delete(quotas.db)
    plan._history_user = user
    plan._change_reason = reason.format(count=len(rows))
    plan.delete()
    return len(rows)


@transaction.atomic
def plan_copy_to_year(*, plan: AnnualPlan, year: int) -> AnnualPlan:
    """A draft copy of a plan for another year: the same units and numbers, periods shifted."""
    copy = AnnualPlan(
        jurisdiction=plan.jurisdiction,
        year=year,
        title=plan.title.replace(str(plan.year), str(year)),
        issuing_office=plan.issuing_office,
        declared_total=plan.declared_total,
        total_measure=plan.total_measure,
        status=AnnualPlan.Status.DRAFT,
        notes=plan.notes,
    )
    copy.full_clean()
    copy.save()
    quotas = list(plan.quotas.prefetch_related("units"))
    new = []
    for quota in quotas:
        new.append(
            Quota(
                plan=copy,
                year=year,
                label=quota.label,
                sub_jurisdiction_id=quota.sub_jurisdiction_id,
                target=quota.target,
                period_text=quota.period_text,
                period_start=_shift(quota.period_start, year),
                period_end=_shift(quota.period_end, year),
                location=quota.location,
                headcount=quota.headcount,
                advisory=quota.advisory,
                seq=quota.seq,
                position=quota.position,
            )
        )
    Quota.objects.bulk_create(new)
    Through = Quota.units.through
    Through.objects.bulk_create(
        [Through(quota_id=n.pk, unit_id=u.pk) for old, n in zip(quotas, new, strict=False) for u in old.units.all()]
    )
    return copy


def _shift(day: dt.date | None, year: int) -> dt.date | None:
    """The same day in another year; 29 February becomes 28 February, and a month end stays one."""
    if day is None:
        return None
    import calendar

    last = calendar.monthrange(year, day.month)[1]
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        return dt.date(year, day.month, last)
    return dt.date(year, day.month, min(day.day, last))


ERROR_MERGE_QUOTAS = (
    "{plan}：{period}已有“{first}”和“{second}”两条任务，合并后会落在同一单位上，请先修改或删除其中一条。"
)


def unit_merge_conflicts(target: Unit, sources: list[Unit]) -> list[str]:
    """A unit merge's check (units.merge): refused where two quotas of one plan would then name
    the same unit for the same period; each message names the plan, the period and both quotas.
    A group quota naming several of the merged units is one quota: never a conflict."""
    merged = {target.pk, *(u.pk for u in sources)}
    links = (
        Quota.units.through.objects.filter(unit_id__in=merged)
        .select_related("quota__plan__jurisdiction")
        .order_by("quota__plan_id", "quota__position", "quota_id")
    )
    quotas: dict[tuple, dict[int, Quota]] = defaultdict(dict)
    members: dict[int, set[int]] = defaultdict(set)
    for link in links:
        quota = link.quota
        quotas[(quota.plan_id, quota.period_start, quota.period_end)][quota.pk] = quota
        members[quota.pk].add(link.unit_id)
    messages = []
    for found in quotas.values():
        if len(found) < 2 or set.intersection(*(members[pk] for pk in found)):
            continue  # one quota, or all already on one same unit: the merge changes nothing
        first, second = list(found.values())[:2]
        period = first.period_text or (
            f"{first.period_start:%Y-%m-%d}–{first.period_end:%Y-%m-%d}" if first.period_start else "全年"
        )
        messages.append(
            ERROR_MERGE_QUOTAS.format(plan=first.plan, period=period, first=first.label, second=second.label)
        )
    return messages

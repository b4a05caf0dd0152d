"""Notice import, second half: apply a previewed notice to the plan, all or nothing, in bulk."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from core.bulk import copy_rows
from units.models import Jurisdiction, Unit
from units.selectors import NameMatch, child_level, jurisdiction_name_of, unit_name_of
from units.services import aliases_create_bulk, jurisdiction_get_or_create, jurisdiction_named, units_create_bulk

from ..models import AnnualPlan, PlanSource, Quota
from ..notice.reader import NoticeReading
from .preview import (
    CHANGED,
    CREATE,
    CREATE_SUB_JURISDICTION,
    ERROR_BAD_DECISION,
    NEW,
    REMOVED,
    SUB_JURISDICTION_PREFIX,
    ImportReport,
    preview_import,
)

CHANGE_REASON_IMPORT = "导入通知附件 {name}（SHA-256 {sha}…）：新增 {new} 条、修改 {changed} 条、删除 {removed} 条任务"


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
    reading: NoticeReading | None = None,
) -> ImportReport:
    """Import a notice attachment into the jurisdiction's plan for `year`, all or nothing.

    `decisions` maps a normalised unknown name to CREATE or to the id of an existing unit
    (saved as an alias, so next year's file matches by itself); unknown names without a
    decision are created as new units. With errors in the file, or `dry_run`, nothing is
    written and the report says what would happen. `corrections` are staff's corrections of
    cells read from a scan, checked and read again as in the preview; the import's history entry
    and its kept file's summary name each one (the cell, what OCR read, what was typed, by whom).
    `reading` is the preview's reading of the same file with the same corrections (kept with the
    staged upload): the file is not read again, only compared with the plan and units as they
    are now, so what changed since the preview counts and nothing is applied on stale facts.
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
        reading=reading,
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

"""Writes for drafting: start a draft from last year's plan, change its settings and lines,
recompute it, issue its attachment, publish it as the year's plan, import headcounts."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.bulk import copy_rows, update_rows
from units.models import Jurisdiction, Unit

from ..models import AnnualPlan, DraftLine, PlanDraft
from .allocation import (
    FIXED,
    LAST_TASK,
    RULE_KINDS,
)
from .periods import DEKAD, periods
from .recompute import FLAT_DEMAND, draft_recompute
from .selectors import SUB_JURISDICTION, allocation_from_above, last_year_figures

ERROR_EXISTS = _lazy("{jurisdiction} {year} 年已有计划草稿。")
ERROR_NOT_EDITABLE = _lazy("草稿已发布为年度计划；如需修改，请先“重新打开”。")
CHANGE_REASON_CREATED = "新建草稿：{lines} 个单位，上年计划 {base}"
CHANGE_REASON_SETTINGS = "修改规则与设置：{fields}"
CHANGE_REASON_LINE = "调整“{label}”：{changes}"
CHANGE_REASON_FIGURES = "刷新上年数据（截至 {date}）"


class DraftError(ValueError):
    """A draft cannot do what was asked; the message is for staff."""


# -- Rules ----------------------------------------------------------------------------------


def rule_entry(kind: str, value: Decimal | int | str, scalable: bool = True) -> dict:
    """A rule as the draft stores it (value as a decimal string: 0.15, 1.05, 20)."""
    if kind not in RULE_KINDS:
        raise ValidationError(_("未知的规则：%(kind)s") % {"kind": kind})
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(_("规则的数值无效：%(value)s") % {"value": value})
    if number < 0 or (kind == FIXED and number != number.to_integral_value()):
        raise ValidationError(_("规则的数值无效：%(value)s") % {"value": value})
    return {"kind": kind, "value": str(number.normalize() if number else 0), "scalable": bool(scalable)}


# -- Creating ---------------------------------------------------------------------------------


def _main_category(units: list[Unit]) -> str:
    """A group's category: its members' most common one (a tie: the first member's)."""
    counts = Counter(u.category for u in units)
    return max(counts, key=counts.__getitem__) if counts else Unit.Category.OTHER


@transaction.atomic
def draft_create(*, jurisdiction: Jurisdiction, year: int, today: dt.date, user=None) -> PlanDraft:
    """Start the jurisdiction's draft for `year` from its plan of the year before.

    One line per unit set of last year's quotas (a unit, a group sharing one number, or a
    sub-jurisdiction), with last year's task and completed; then the jurisdiction's own units
    that had no quota (not subordinate units, which count toward their parent's) and its direct
    sub-jurisdictions. A unit set that had several quotas keeps their months as a split. Every
    category starts with "last year's task" and the total with what the level above allocated,
    else last year's total.
    """
    if PlanDraft.objects.filter(jurisdiction=jurisdiction, year=year).exists():
        raise DraftError(ERROR_EXISTS.format(jurisdiction=jurisdiction, year=year))
    base = AnnualPlan.objects.filter(jurisdiction=jurisdiction, year=year - 1).first()
    figures = last_year_figures(base, today=today) if base else []
    unit_ids = {pk for f in figures for pk in f.unit_ids}
    units = Unit.objects.in_bulk(unit_ids)
    from_above = allocation_from_above(jurisdiction, year)
    if from_above:
        total = from_above.total
    elif base:
        total = base.declared_total or sum(f.task for f in figures) or None
    else:
        total = None
    draft = PlanDraft(
        jurisdiction=jurisdiction,
        year=year,
        # The attachment is the notice's own Chinese text, whatever the page's language.
        title=f"{jurisdiction.name}{year}年无偿献血时间安排及任务数",
        total=total,
        base_plan=base,
        figures_as_of=today if base else None,
        demand=list(FLAT_DEMAND),
        created_by=user,
    )
    draft.full_clean(exclude=["rules"])
    draft._history_user = user

    lines: list[tuple[DraftLine, list[int]]] = []
    for f in figures:
        members = [units[pk] for pk in f.unit_ids if pk in units]
        line = DraftLine(
            label=f.label,
            sub_jurisdiction_id=f.sub_jurisdiction_id,
            category=SUB_JURISDICTION if f.sub_jurisdiction_id else _main_category(members),
            last_task=f.task,
            last_completed=f.completed,
            location=f.location,
        )
        distinct = sorted(set(f.months))
        if f.sub_jurisdiction_id:
            line.period_mode = DraftLine.PeriodMode.ANNUAL
        elif len(f.parts) > 1 and len(distinct) == len(f.parts):
            line.period_mode = DraftLine.PeriodMode.FIXED
            line.fixed_periods = [m - 1 for m in f.months]
            line.split_amounts = list(f.parts)
        lines.append((line, list(f.unit_ids)))
    known_subs = {f.sub_jurisdiction_id for f in figures if f.sub_jurisdiction_id}
    for unit in (
        Unit.objects.filter(jurisdiction=jurisdiction, active=True, parent__isnull=True)
        .exclude(pk__in=unit_ids)
        .order_by("name", "pk")
    ):
        lines.append((DraftLine(label=unit.name, category=unit.category), [unit.pk]))
    for child in Jurisdiction.objects.filter(parent=jurisdiction).exclude(pk__in=known_subs).order_by("name"):
        line = DraftLine(
            label=child.name,
            sub_jurisdiction=child,
            category=SUB_JURISDICTION,
            period_mode=DraftLine.PeriodMode.ANNUAL,
        )
        lines.append((line, []))
    categories = dict.fromkeys(line.category for line, _ids in lines)
    draft.rules = {category: rule_entry(LAST_TASK, 1) for category in categories}
    draft._change_reason = CHANGE_REASON_CREATED.format(lines=len(lines), base=base or "—")
    draft.save()
    _add_lines(draft, lines)
    draft_recompute(draft=draft)
    return draft


def _add_lines(draft: PlanDraft, lines: list[tuple[DraftLine, list[int]]]) -> None:
    """Insert lines and their units in bulk (COPY on PostgreSQL): positions follow the last line."""
    last = draft.lines.aggregate(last=Max("position"))["last"]
    start = 0 if last is None else last + 1
    columns = [f for f in DraftLine._meta.concrete_fields if not f.primary_key]
    rows = []
    for i, (line, _ids) in enumerate(lines):
        line.draft = draft
        line.position = start + i
        row = {f.attname: getattr(line, f.attname) for f in columns}
        if connection.vendor == "postgresql":  # COPY takes JSON as its text
            row.update({f.attname: json.dumps(row[f.attname]) for f in columns if f.get_internal_type() == "JSONField"})
        rows.append(row)
    copy_rows(DraftLine, rows)
    # COPY returns no ids: the lines are found again by their positions.
    pks = dict(draft.lines.filter(position__gte=start).values_list("position", "pk"))
    copy_rows(
        DraftLine.units.through,
        [{"draftline_id": pks[line.position], "unit_id": pk} for line, ids in lines for pk in ids],
    )


def editable(draft: PlanDraft) -> None:
    if draft.status != PlanDraft.Status.DRAFT:
        raise DraftError(ERROR_NOT_EDITABLE)


@transaction.atomic
def draft_refresh_figures(*, draft: PlanDraft, today: dt.date, user=None) -> PlanDraft:
    """Read last year's task and completed again (donations keep arriving until the year ends)."""
    editable(draft)
    if draft.base_plan_id:
        figures = {(f.sub_jurisdiction_id, f.unit_ids): f for f in last_year_figures(draft.base_plan, today=today)}
        changed = []
        for line in draft.lines.prefetch_related("units"):
            key = (line.sub_jurisdiction_id, tuple(sorted(u.pk for u in line.units.all())))
            found = figures.get(key)
            if found:
                line.last_task, line.last_completed = found.task, found.completed
                changed.append(line)
        figures = ["last_task", "last_completed"]
        update_rows(DraftLine, [{"pk": line.pk, **{f: getattr(line, f) for f in figures}} for line in changed], figures)
    draft.figures_as_of = today
    draft._history_user = user
    draft._change_reason = CHANGE_REASON_FIGURES.format(date=today)
    draft.save()
    draft_recompute(draft=draft)
    return draft


# -- Changing ---------------------------------------------------------------------------------

SETTINGS_FIELDS = [
    "title",
    "attachment_label",
    "total",
    "fit_total",
    "minimum",
    "rules",
    "period_kind",
    "demand",
    "default_location",
]


def _convert_periods(indexes: list[int], old: str, new: str) -> list[int]:
    """Fixed periods when the draft switches between months and dekads: a month becomes its
    first dekad (上旬), a dekad its month."""
    if old == new:
        return indexes
    if new == DEKAD:
        return [3 * i for i in indexes]
    return sorted({i // 3 for i in indexes})


def check_demand(values) -> list:
    """Twelve non-negative numbers (the months' expected clinical use), or ValidationError."""
    if not isinstance(values, list) or len(values) != 12:
        raise ValidationError(_("各月用血量须为 12 个数。"))
    cleaned = []
    for value in values:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(_("“%(value)s”不是数。") % {"value": value})
        if number < 0 or not number.is_finite():
            raise ValidationError(_("用血量不能为负数。"))
        cleaned.append(int(number) if number == number.to_integral_value() else float(number))
    return cleaned


@transaction.atomic
def draft_update(*, draft: PlanDraft, user=None, **fields) -> PlanDraft:
    """Change the draft's settings (total, rules, minimum, periods, demand, title…) and recompute."""
    editable(draft)
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not a draft setting: {sorted(unknown)}")
    if "demand" in fields:
        fields["demand"] = check_demand(fields["demand"])
    if "rules" in fields:
        fields["rules"] = {
            c: rule_entry(e["kind"], e.get("value", 1), e.get("scalable", True)) for c, e in fields["rules"].items()
        }
    changed = [name for name, value in fields.items() if getattr(draft, name) != value]
    if not changed:
        return draft
    if "period_kind" in changed:
        lines = list(draft.lines.exclude(fixed_periods=[]))
        for line in lines:
            line.fixed_periods = _convert_periods(line.fixed_periods, draft.period_kind, fields["period_kind"])
        update_rows(
            DraftLine, [{"pk": line.pk, "fixed_periods": line.fixed_periods} for line in lines], ["fixed_periods"]
        )
    for name in changed:
        setattr(draft, name, fields[name])
    draft.full_clean()
    draft._history_user = user
    draft._change_reason = CHANGE_REASON_SETTINGS.format(
        fields="、".join(str(PlanDraft._meta.get_field(name).verbose_name) for name in changed)
    )
    draft.save()
    draft_recompute(draft=draft)
    return draft


LINE_FIELDS = [
    "label",
    "category",
    "override",
    "excluded",
    "period_mode",
    "fixed_periods",
    "split_amounts",
    "location",
    "note",
]


@transaction.atomic
def line_update(*, line: DraftLine, user=None, **fields) -> DraftLine:
    """Adjust one line (a number of its own, its period, its place…); an entry in the draft's
    history says who changed what. Then the whole draft is recomputed: one number changed moves
    the others when the draft fits a total."""
    draft = line.draft
    editable(draft)
    unknown = set(fields) - set(LINE_FIELDS)
    if unknown:
        raise TypeError(f"not a line field: {sorted(unknown)}")
    n_periods = len(periods(draft.period_kind, draft.year))
    if "fixed_periods" in fields:
        indexes = fields["fixed_periods"]
        if any(not isinstance(i, int) or not 0 <= i < n_periods for i in indexes) or len(set(indexes)) != len(indexes):
            raise ValidationError(_("固定时间无效。"))
        fields["fixed_periods"] = sorted(indexes)
    if "split_amounts" in fields and any(not isinstance(a, int) or a < 0 for a in fields["split_amounts"]):
        raise ValidationError(_("拆分数须为非负整数。"))
    mode = fields.get("period_mode", line.period_mode)
    if mode == DraftLine.PeriodMode.FIXED and not fields.get("fixed_periods", line.fixed_periods):
        raise ValidationError(_("请选择固定的时间。"))
    changes = []
    for name, value in fields.items():
        old = getattr(line, name)
        if old != value:
            label = DraftLine._meta.get_field(name).verbose_name
            changes.append(f"{label} {_shown(old)} → {_shown(value)}")
            setattr(line, name, value)
    if not changes:
        return line
    line.full_clean(exclude=["draft", "units", "sub_jurisdiction"])
    line.save()
    draft._history_user = user
    draft._change_reason = CHANGE_REASON_LINE.format(label=line.label, changes="；".join(changes))[:1000]
    draft.save(update_fields=["updated_at"])
    draft_recompute(draft=draft)
    return line


def _shown(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return "是"
    if value is False:
        return "否"
    return str(value)


@transaction.atomic
def lines_add(*, draft: PlanDraft, units: list[Unit], user=None) -> int:
    """Add units of the jurisdiction that the draft does not have yet, one line each."""
    editable(draft)
    have = set(DraftLine.units.through.objects.filter(draftline__draft=draft).values_list("unit_id", flat=True))
    new = [u for u in units if u.pk not in have and u.jurisdiction.path.startswith(draft.jurisdiction.path)]
    if not new:
        return 0
    _add_lines(draft, [(DraftLine(label=u.name, category=u.category), [u.pk]) for u in new])
    rules = dict(draft.rules)
    for unit in new:
        rules.setdefault(unit.category, rule_entry(LAST_TASK, 1))
    draft.rules = rules
    draft._history_user = user
    draft._change_reason = CHANGE_REASON_LINE.format(label="、".join(u.name for u in new)[:200], changes="添加")
    draft.save()
    draft_recompute(draft=draft)
    return len(new)

"""Publishing a draft as the year's plan (through the notice import), what stops it, its
preview, and reopening it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

from core.bulk import update_rows

from ..models import AnnualPlan, DraftLine, PlanDraft, Quota
from ..services import plan_import, plan_set_status, preview_import
from . import attachment as sheet
from .recompute import draft_recompute
from .rows import XLSX, attachment_rows, draft_export
from .services import DraftError, editable

ERROR_MISSING = _lazy("还有 {count} 个单位没有任务数（缺总人数或上年数据）：请填写人数、指定任务数或设为本年不分配。")
ERROR_NOT_EXACT = _lazy("各单位合计 {drafted} 与计划总数 {total} 不一致：请调整规则或指定数。")
ERROR_UNREADABLE = _lazy("“{label}”印在附件中会被读成别的内容（{reason}）：请修改印出的名称。")
ERROR_PLAN_CLOSED = _lazy("{year} 年度计划已结束，不能再发布。")
ERROR_PUBLISHED_DIFFERS = _lazy("发布后核对不一致：{detail}。没有写入任何内容。")
ERROR_IMPORT = _lazy("附件导入失败：{detail}")
ERROR_NOTHING = _lazy("草稿中没有任何任务。")
CHANGE_REASON_PUBLISHED = "发布为 {plan}（{file}）"
CHANGE_REASON_REOPENED = "重新打开草稿"
UNREADABLE_REASONS = {
    sheet.UNREADABLE_GROUP: _lazy("像几个单位的联合任务"),
    sheet.UNREADABLE_FORMULA: _lazy("以公式符号开头"),
    sheet.UNREADABLE_ANNUAL: _lazy("以（全年）结尾"),
    sheet.UNREADABLE_EMPTY: _lazy("名称为空"),
}


def publish_problems(draft: PlanDraft) -> list[str]:
    """What stops the draft from being published, worded for staff (none: it can be)."""
    result = draft.result or {}
    problems = []
    missing = sum((result.get("missing") or {}).values())
    if missing:
        problems.append(ERROR_MISSING.format(count=missing))
    if result.get("fitted") and not result.get("exact"):
        problems.append(ERROR_NOT_EXACT.format(drafted=result.get("total"), total=draft.total))
    for _pk, label, reason in result.get("unreadable") or []:
        problems.append(ERROR_UNREADABLE.format(label=label, reason=UNREADABLE_REASONS.get(reason, reason)))
    if not result.get("total") and not draft.lines.filter(proposal__gt=0).exists():
        problems.append(ERROR_NOTHING)
    plan = AnnualPlan.objects.filter(jurisdiction=draft.jurisdiction, year=draft.year).first()
    if plan and plan.status == AnnualPlan.Status.CLOSED:
        problems.append(ERROR_PLAN_CLOSED.format(year=draft.year))
    return problems


def publish_preview(draft: PlanDraft):
    """What publishing would write into the year's plan (the notice import's preview: new,
    changed, unchanged, removed quotas). Nothing is written."""
    data, name = draft_export(draft=draft, fmt=XLSX)
    return preview_import(data=data, filename=name, jurisdiction=draft.jurisdiction, year=draft.year)


@transaction.atomic
def draft_publish(*, draft: PlanDraft, user=None) -> AnnualPlan:
    """Make the draft the jurisdiction's plan for its year, as an office makes a plan from a notice:
    its attachment (.xlsx) is imported through the notice import (kept with the plan, one entry in
    the plan's history naming the file) and the plan is published (an entry of its own).

    Then every quota is checked against the draft's row of the same 序号 — number, period and the
    units or sub-jurisdiction it went to — and any difference undoes everything.
    """
    draft = PlanDraft.objects.select_for_update().get(pk=draft.pk)
    editable(draft)  # published a moment ago by someone else: nothing to do twice
    draft_recompute(draft=draft)
    problems = publish_problems(draft)
    if problems:
        raise DraftError(" ".join(problems))
    data, filename = draft_export(draft=draft, fmt=XLSX)
    report = plan_import(
        data=data,
        filename=filename,
        jurisdiction=draft.jurisdiction,
        year=draft.year,
        user=user,
        plan_fields={"declared_total": draft.result["total"]},
    )
    if not report.applied:
        raise DraftError(ERROR_IMPORT.format(detail="；".join(e.message for e in report.errors[:5])))
    plan = report.plan
    _check_published(draft, plan)
    plan_set_status(plans=[plan], status=AnnualPlan.Status.PUBLISHED, user=user)
    plan.refresh_from_db()
    draft.status = PlanDraft.Status.PUBLISHED
    draft.plan = plan
    draft.published_at = timezone.now()
    draft._history_user = user
    draft._change_reason = CHANGE_REASON_PUBLISHED.format(plan=plan, file=filename)
    draft.save()
    return plan


def _check_published(draft: PlanDraft, plan: AnnualPlan) -> None:
    lines = list(draft.lines.prefetch_related("units").order_by("position", "pk"))
    members = {line.pk: len(line.units.all()) for line in lines}
    expected = {row.seq: (row, line) for row, line in attachment_rows(draft, lines, members)}
    quotas = list(Quota.objects.filter(plan=plan).prefetch_related("units"))
    problems = []
    if len(quotas) != len(expected):
        problems.append(f"{len(quotas)} ≠ {len(expected)}")
    for quota in quotas:
        row, line = expected.get(quota.seq, (None, None))
        if row is None:
            problems.append(f"#{quota.seq}")
            continue
        units = sorted(u.pk for u in quota.units.all())
        if (
            quota.target != row.target
            or quota.label != row.unit
            or quota.period_text != row.period
            or units != sorted(u.pk for u in line.units.all())
            or quota.sub_jurisdiction_id != line.sub_jurisdiction_id
        ):
            problems.append(f"#{quota.seq} {row.unit}")
    if problems:
        raise DraftError(ERROR_PUBLISHED_DIFFERS.format(detail="、".join(problems[:10])))


@transaction.atomic
def draft_reopen(*, draft: PlanDraft, user=None) -> PlanDraft:
    """Back to drafting after publishing (to revise and publish again: the plan is then updated
    as a diff, as a re-imported notice is).

    The units were told their months when it was published: every line placed automatically is
    fixed where it is, so a revised number does not move anyone; staff may still move a line.
    """
    lines = [line for line in draft.lines.filter(period_mode=DraftLine.PeriodMode.AUTO) if line.parts]
    for line in lines:
        line.period_mode = DraftLine.PeriodMode.FIXED
        line.fixed_periods = [period for _amount, period in line.parts if period is not None]
        line.split_amounts = []
    fixed = ["period_mode", "fixed_periods", "split_amounts"]
    update_rows(DraftLine, [{"pk": line.pk, **{f: getattr(line, f) for f in fixed}} for line in lines], fixed)
    draft.status = PlanDraft.Status.DRAFT
    draft._history_user = user
    draft._change_reason = CHANGE_REASON_REOPENED
    draft.save()
    return draft

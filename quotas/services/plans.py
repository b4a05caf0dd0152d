"""Writes to plans as a whole: publish, close, reopen, delete, copy a year on; the unit-merge
check on quotas; purging kept notice files no import committed."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bulk import copy_rows
from units.models import Unit

from ..models import AnnualPlan, PlanSource, Quota

CHANGE_REASON_STATUS = "状态改为“{status}”"
CHANGE_REASON_REOPEN = "重新开放：状态由“已结束”改为“{status}”，任务可以修改"
ERROR_PLAN_LOCKED = "{plan} 已结束，任务只读：如需修改，请先重新开放计划。"
CHANGE_REASON_DELETE = "删除年度计划 {plan}（共 {count} 条任务）"


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

"""Computing a draft: each line's number (the allocation) and period(s) (the balancing), stored
on the lines, and the draft's result (totals, issues, curves, the largest gap with its bound).
Every edit of a draft (`services`) ends here."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from django.utils import timezone

from core.bulk import update_rows

from ..models import DraftLine, PlanDraft
from . import attachment as sheet
from .allocation import OVERRIDE, LineInput, Rule, allocate, largest_remainder
from .balancing import Item, balance
from .periods import demand_by_period, month_ends, periods
from .rows import attachment_rows, member_headcounts

FLAT_DEMAND = [1] * 12


def rules_of(draft: PlanDraft) -> dict[str, Rule]:
    """The draft's rules as the allocation reads them; a malformed entry is left out (its lines
    are then listed as having no rule)."""
    rules = {}
    for category, entry in (draft.rules or {}).items():
        try:
            rules[category] = Rule(
                kind=entry["kind"],
                value=Fraction(str(entry.get("value", "1"))),
                scalable=bool(entry.get("scalable", True)),
            )
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
    return rules


def _format_basis(value: Fraction | None) -> str:
    if value is None:
        return ""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _allocation(draft: PlanDraft, lines: list[DraftLine], headcounts: dict[int, list]):
    """Each line's headcount (a group's: its members' sum, unknown if any member's is) and the
    allocation of the draft's total over the lines not excluded."""
    for line in lines:
        members = headcounts.get(line.pk, [])
        line.headcount = sum(members) if members and not line.sub_jurisdiction_id and None not in members else None
    inputs = [
        LineInput(
            key=line.pk,
            category=line.category,
            headcount=line.headcount,
            last_task=line.last_task,
            last_completed=line.last_completed,
            override=line.override,
        )
        for line in lines
        if not line.excluded
    ]
    return allocate(inputs, rules_of(draft), total=draft.total if draft.fit_total else None, minimum=draft.minimum)


def _items(lines: list[DraftLine], results: dict, period_list: list) -> tuple[list[Item], list[DraftLine]]:
    """Each line's rule, basis and proposal from the allocation; the pieces to be scheduled over
    the periods (a fixed line's split over its periods, a free line whole) and their owners. An
    annual line takes its whole amount as its one part."""
    items: list[Item] = []
    owners: list[DraftLine] = []
    for line in lines:
        result = results.get(line.pk)
        line.parts = []
        if result is None:  # excluded
            line.rule, line.basis, line.missing, line.proposal = "", "", "", None
            continue
        line.rule = result.rule
        line.basis = _format_basis(result.basis)
        line.missing = result.missing
        line.proposal = result.amount
        if result.amount is None:
            continue
        if line.period_mode == DraftLine.PeriodMode.ANNUAL:
            line.parts = [[result.amount, None]]
        elif line.period_mode == DraftLine.PeriodMode.FIXED and line.fixed_periods:
            fixed = [p for p in line.fixed_periods if 0 <= p < len(period_list)] or [0]
            weights = (
                line.split_amounts
                if len(line.split_amounts) == len(fixed) and sum(line.split_amounts)
                else [1] * len(fixed)
            )
            for amount, period in zip(largest_remainder(weights, result.amount), fixed, strict=True):
                items.append(Item(len(items), amount, fixed=period))
                owners.append(line)
        else:
            items.append(Item(len(items), result.amount))
            owners.append(line)
    return items, owners


def _schedule_figures(scheduled, items: list[Item], owners: list[DraftLine], period_list: list) -> dict:
    """The balanced schedule as the draft's result shows it: curves, the largest gap and its bound."""
    return {
        "scheduled_total": scheduled.planned_curve[-1],
        "loads": scheduled.loads,
        "demand_curve": [float(v) for v in scheduled.demand_curve],
        "planned_curve": scheduled.planned_curve,
        "gaps": [float(v) for v in scheduled.gaps],
        "largest_gap": float(scheduled.largest_gap),
        "bound": float(scheduled.bound),
        "lower_bound": float(scheduled.lower_bound),
        "within_bound": scheduled.largest_gap <= scheduled.bound,
        "largest_movable": scheduled.largest_movable,
        "largest_movable_label": next(
            (
                o.label
                for it, o in zip(items, owners, strict=True)
                if it.fixed is None and it.size == scheduled.largest_movable
            ),
            "",
        ),
        "worst_period": scheduled.worst_period,
        "units_per_period": [
            sum(1 for it, p in zip(items, scheduled.periods, strict=True) if p == q) for q in range(len(period_list))
        ],
    }


def draft_recompute(*, draft: PlanDraft) -> dict:
    """Every line's number (allocation) and period(s) (balancing), stored on the lines, and the
    draft's result: totals, issues, the curves and the largest gap with its bound.

    Headcounts are read from the units as they are now (a group's is the sum of its members',
    unknown if any member's is); last year's figures as taken when the draft was made or refreshed.
    """
    lines = list(draft.lines.order_by("position", "pk"))
    headcounts = member_headcounts(draft)
    allocation = _allocation(draft, lines, headcounts)
    period_list = periods(draft.period_kind, draft.year)
    items, owners = _items(lines, {r.key: r for r in allocation.lines}, period_list)
    demand = demand_by_period(draft.period_kind, draft.year, draft.demand or FLAT_DEMAND)
    scheduled = balance(items, demand) if items else None
    if scheduled:
        for item, owner, period in zip(items, owners, scheduled.periods, strict=True):
            owner.parts.append([item.size, period])
        for line in lines:
            line.parts.sort(key=lambda part: (part[1] is None, part[1] if part[1] is not None else 0))
    computed = ["headcount", "rule", "basis", "missing", "proposal", "parts"]
    update_rows(DraftLine, [{"pk": line.pk, **{f: getattr(line, f) for f in computed}} for line in lines], computed)

    rows = attachment_rows(draft, lines, {pk: len(found) for pk, found in headcounts.items()}, period_list)
    unreadable = [[line.pk, line.label, reason] for row, line in rows if (reason := sheet.unreadable(row))]
    excluded = sum(1 for line in lines if line.excluded)
    result = {
        "computed_at": timezone.now().isoformat(),
        "lines": len(lines),
        "excluded": excluded,
        "total": allocation.total,
        "target": draft.total,
        "fitted": bool(draft.fit_total) and draft.total is not None,
        "exact": allocation.total == draft.total if draft.total is not None else True,
        "scale": float(allocation.scale) if allocation.scale is not None else None,
        "issues": allocation.issues,
        "missing": dict(Counter(r.missing for r in allocation.lines if r.amount is None)),
        "overrides": sum(1 for r in allocation.lines if r.rule == OVERRIDE),
        "at_minimum": sum(1 for r in allocation.lines if r.at_minimum),
        "unreadable": unreadable,
        "demand_entered": bool(draft.demand) and draft.demand != FLAT_DEMAND,
        "period_labels": [p.label for p in period_list],
        "month_ends": month_ends(draft.period_kind),
        "annual_total": sum(line.parts[0][0] for line in lines if line.parts and line.parts[0][1] is None),
    }
    if scheduled:
        result.update(_schedule_figures(scheduled, items, owners, period_list))
    PlanDraft.objects.filter(pk=draft.pk).update(result=result)
    draft.result = result
    return result

"""Formatting for the dashboard's figures."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def percent(rate) -> str:
    """0.8571 -> "85.7%"; no task -> "—"."""
    if rate is None or rate == "":
        return "—"
    return f"{float(rate) * 100:.1f}%"


@register.filter
def count(value) -> str:
    """A count as every page and export shows it: 12,611; nothing -> "—"."""
    if value is None or value == "":
        return "—"
    return intcomma(value)


@register.filter
def blood(value) -> str:
    """Blood units to one decimal with the same grouping: 10,965.5; nothing -> "—"."""
    if value is None or value == "":
        return "—"
    return intcomma(Decimal(f"{float(value):.1f}"))


@register.filter
def iso_time(value) -> str:
    """An ISO timestamp (as figures carry it) in local time: "12-01 08:05"."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value)
    return timezone.localtime(moment).strftime("%m-%d %H:%M")


_LINE_CELLS = (
    '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>'
    '<td class="num verified">{}</td><td class="num">{}</td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td><span class="badge">{}</span></td>'
    '<td class="num">{}</td>'
)
_MISSING = object()


def verified_cell(line) -> str:
    """Station-verified donations and their share of completed: "112 · 93%" ("—" in a bulletin
    frozen before the figure existed)."""
    if line.get("verified") is None:
        return "—"
    return f"{count(line['verified'])} · {percent(line.get('verified_share'))}"


@register.simple_tag
def verified_text(line) -> str:
    """`verified_cell` in a template (a line, a unit quota, the unit table's 合计)."""
    return verified_cell(line)


@register.simple_tag
def line_cells(line, allocated=_MISSING) -> SafeString:
    """A jurisdiction line's cells (上级下达 … 逾期单位), as the lines' table and the export lay them out."""
    allocated = line.get("allocated") if allocated is _MISSING else allocated
    return format_html(
        _LINE_CELLS,
        count(allocated),
        count(line.get("task")),
        count(line.get("completed")),
        verified_cell(line),
        percent(line.get("rate")),
        count(line.get("shortfall")),
        count(line.get("on_time")),
        blood(line.get("blood_units")),
        line.get("status_label", ""),
        count((line.get("status_counts") or {}).get("overdue")),
    )


@register.filter
def signed(value) -> str:
    """A change with its sign: +12, -3, 0."""
    if value is None:
        return "—"
    number = float(value)
    text = f"{number:+.1f}" if number != int(number) else f"{int(number):+d}"
    return text if number else "0"


# The unit table and the three lists are the longest parts of the dashboard. As template loops
# (Django's per-node machinery, `intcomma` per number) they were about half of the county page's
# template: building the same HTML here took its render from 44.8 to 23.1 million instructions
# (callgrind; docs/performance.md). tests/campaigns/test_dashboard_tags.py renders the old
# template loops and compares.

_UNIT_ROW = (
    '<tr class="status-{}{}"><td>{}</td><td>{}{}{}</td><td>{}</td><td>{}</td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="num verified">{}</td><td class="num">{}</td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="date">{}</td>'
    '<td><span class="badge">{}</span></td></tr>'
)
_LIST_ROW = (
    '<tr class="status-{}"><td>{}<br><span class="muted">{}</span></td><td class="num">{}</td>'
    '<td class="num">{}</td><td class="num">{}</td><td class="date">{}</td></tr>'
)


def _e(value) -> str:
    """A value escaped as the template escapes it (`django.utils.html.escape` is this plus a
    wrapper for lazy strings, which a county page's ~900 values would go through one by one)."""
    return html.escape(str(value))


def _counts():
    """`intcomma` for the rows of one table: integers grouped with the active language's
    separator, looked up once instead of per number (`intcomma` cost ~6 µs a call, 250 calls a
    page); anything else (None, "", a Decimal, a language without plain grouping) goes to
    `intcomma` itself."""
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    if not isinstance(grouping, int) or grouping <= 0:
        return intcomma

    def count(value) -> str:
        if type(value) is not int:
            return intcomma(value)
        digits = str(abs(value))
        head = len(digits) % grouping or grouping
        groups = [digits[:head], *(digits[i : i + grouping] for i in range(head, len(digits), grouping))]
        return ("-" if value < 0 else "") + separator.join(groups)

    return count


def _fields(row: dict, names: tuple[str, ...]) -> list:
    """The row's values, "" for a missing key, as a template renders it (a bulletin frozen by an
    older version may lack a key added since)."""
    return [row.get(name, "") for name in names]


_UNIT_FIELDS = (
    "status",
    "label",
    "category_label",
    "completed",
    "rate",
    "shortfall",
    "on_time",
    "blood_units",
    "due",
    "status_label",
)


@register.simple_tag
def unit_rows(units) -> SafeString:
    """The rows of the unit table (`dashboard_figures()["units"]`, filtered and sorted)."""
    group, advisory, whole_year = _("合并任务"), _("指导性，不计入合计"), _("全年")
    advisory_tag = f' <span class="tag">{_e(advisory)}</span>'
    count = _counts()
    rows = []
    for u in units:
        status, label, category, completed, rate, shortfall, on_time, units_, due, status_label = _fields(
            u, _UNIT_FIELDS
        )
        seq, target, is_advisory = u.get("seq"), u.get("target", ""), u.get("advisory")
        group_tag = (
            f' <span class="tag" title="{_e("、".join(u.get("members", [])))}">{_e(group)}</span>'
            if u.get("group")
            else ""
        )
        rows.append(
            _UNIT_ROW.format(
                _e(status),
                " advisory" if is_advisory else "",
                "" if seq is None else _e(seq),
                _e(label),
                group_tag,
                advisory_tag if is_advisory else "",
                _e(category),
                _e(u.get("period_text") or whole_year),
                _e(f"（{target}）" if is_advisory else count(target)),
                _e(count(completed)),
                _e(verified_cell(u)),
                _e(percent(rate)),
                _e(count(shortfall)),
                _e(count(on_time)),
                _e(blood(units_)),
                _e(due),
                _e(status_label),
            )
        )
    if not rows:
        return format_html('<tr><td colspan="13">{}</td></tr>', _("没有符合条件的单位。"))
    return mark_safe("".join(rows))  # noqa: S308 - every value escaped by _e


_LIST_FIELDS = ("status", "label", "jurisdiction", "target", "completed", "shortfall", "due")


@register.simple_tag
def quota_list_rows(rows, empty) -> SafeString:
    """The rows of one of the lists: overdue units, largest shortfalls, due this month."""
    count = _counts()
    out = []
    for u in rows:
        status, label, jurisdiction, target, completed, shortfall, due = _fields(u, _LIST_FIELDS)
        out.append(
            _LIST_ROW.format(
                _e(status),
                _e(label),
                _e(jurisdiction),
                _e(count(target)),
                _e(count(completed)),
                _e(count(shortfall)),
                _e(due),
            )
        )
    if not out:
        return format_html('<tr><td colspan="5" class="muted">{}</td></tr>', empty)
    return mark_safe("".join(out))  # noqa: S308 - every value escaped by _e

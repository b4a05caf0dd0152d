"""The completion dashboard: figures for a jurisdiction and year, drill-down, Excel, bulletins."""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dates import MONTHS_AP
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.shared import shared
from quotas.selectors import allocated_from_above
from units.models import Jurisdiction, Unit
from units.roles import FREEZE_BULLETIN, LOG_DONATION, VIEW_DASHBOARD
from units.scope import Scope, scope_for

from ..models import Bulletin
from ..selectors import ALL, STATUS_LABELS, VERIFIED, liaison_progress
from . import queries
from .exports import dashboard_workbook
from .figures import STATUS_ORDER, dashboard_figures, filter_and_sort_units


class NoJurisdiction(Exception):
    """A staff or leadership account without a jurisdiction: it sees nothing (closed by default)."""


def _scope(user) -> Scope:
    """Leadership and staff see their own jurisdiction's subtree, superusers everything
    (`units.scope`); an account with no jurisdiction sees nothing, and is told why."""
    scope = scope_for(user)
    if scope.empty:
        raise NoJurisdiction
    return scope


def _no_jurisdiction(request):
    return render(request, "no_jurisdiction.html", status=403)


def _year(params, today: dt.date) -> int:
    try:
        year = int(params.get("year") or today.year)
    except ValueError:
        raise Http404
    if not 2000 <= year <= 2100:
        raise Http404
    return year


def _basis(params) -> str:
    """Which donations the figures count: ?basis=verified only the station-verified ones (a
    leadership filter); anything else every reported donation."""
    return VERIFIED if params.get("basis") == VERIFIED else ALL


def _trail(lineage: list[Jurisdiction], scope: Scope) -> list[Jurisdiction]:
    """The breadcrumbs from the user's own jurisdiction down to this one."""
    return [j for j in reversed(lineage) if scope.allows(j)]


def _jurisdiction_and_lineage(params, scope: Scope) -> tuple[Jurisdiction | None, list[Jurisdiction]]:
    """The jurisdiction asked for (default: the user's own; None: everything) and its lineage."""
    raw = params.get("j")
    if raw in (None, ""):
        if scope.everything:
            return None, []
        pk = scope.root.pk
    elif raw == "all" and scope.everything:
        return None, []
    elif str(raw).isascii() and str(raw).isdigit() and len(raw) <= 18:  # not "²", nor beyond a bigint
        pk = int(raw)
    else:
        raise Http404
    lineage = queries.lineage(pk)
    if not lineage or not scope.allows(lineage[0]):
        raise Http404  # another jurisdiction's page does not exist for this user
    return lineage[0], lineage


def _jurisdiction(params, scope: Scope) -> Jurisdiction | None:
    return _jurisdiction_and_lineage(params, scope)[0]


def _title(figures: dict) -> str:
    where = figures["jurisdiction"]["name"] if figures["jurisdiction"] else _("全部")
    title = _("%(where)s%(year)s年无偿献血任务完成情况") % {"where": where, "year": figures["year"]}
    if figures.get("basis") == VERIFIED:  # a bulletin frozen before the basis existed counted all
        title += _("（仅计血站核实）")
    return title


def chart_data(figures: dict, today: dt.date) -> dict:
    """What the charts draw: cumulative due against cumulative completed, and the children's rates."""
    months = [str(MONTHS_AP[m]) for m in range(1, 13)]  # 一月 … / Jan. …, in the page's language
    head = figures["headline"]
    due, done, total_due, total_done = [], [], 0, 0
    current = today.month - 1 if today.year == figures["year"] else (11 if today.year > figures["year"] else -1)
    for i in range(12):
        total_due += head["monthly_due"][i]
        total_done += head["monthly_done"][i]
        due.append(total_due)
        done.append(total_done if i <= current or current == 11 else None)
    return {
        "months": months,
        "due": due,
        "done": done,
        "today": months[current] if 0 <= current <= 11 and today.year == figures["year"] else None,
        "labels": {"due": _("应完成（累计）"), "done": _("已完成（累计）"), "today": _("今天"), "rate": _("完成率")},
        "children": [
            {"name": c["name"], "rate": round((c["rate"] or 0) * 100, 1)} for c in figures["children"] if c["task"]
        ],
    }


def _liaison_cards(request):
    today = timezone.localdate()
    year = _year(request.GET, today)
    units = list(Unit.objects.for_user(request.user))
    return render(
        request,
        "campaigns/dashboard_liaison.html",
        {"units": units, "progress": liaison_progress(units, today=today, year=year), "today": today, "year": year},
    )


def _context(request, figures: dict, *, jurisdiction, trail, scope: Scope, today: dt.date) -> dict:
    category = request.GET.get("category", "")
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "seq")
    basis = figures.get("basis", ALL)
    return {
        "figures": figures,
        "basis": basis,
        # appended to the page's links (drill-down, breadcrumbs, status cards) to keep the basis
        "basis_query": f"&basis={VERIFIED}" if basis == VERIFIED else "",
        "title": _title(figures),
        "jurisdiction": jurisdiction,
        "trail": trail,
        "units": filter_and_sort_units(figures["units"], category=category, status=status, sort=sort),
        "category": category,
        "status": status,
        "sort": sort,
        "categories": Unit.Category.choices,
        "statuses": [(s, STATUS_LABELS[s]) for s in STATUS_ORDER],
        "status_cards": [(s, STATUS_LABELS[s], figures["headline"]["status_counts"][s]) for s in STATUS_ORDER],
        "chart": chart_data(figures, today),
        "scope_all": scope.everything,
    }


@require_safe
@login_required
def dashboard(request):
    if not request.user.has_perm(VIEW_DASHBOARD):
        if request.user.has_perm(LOG_DONATION):
            return _liaison_cards(request)
        raise PermissionDenied
    today = timezone.localdate()
    try:
        scope = _scope(request.user)
    except NoJurisdiction:
        return _no_jurisdiction(request)
    year = _year(request.GET, today)
    jurisdiction, lineage = _jurisdiction_and_lineage(request.GET, scope)
    budget = settings.DASHBOARD_RECOMPUTE_QUOTAS  # beyond it: last kept figures, refreshed in the background
    basis = _basis(request.GET)

    def compute() -> dict:
        return dashboard_figures(jurisdiction=jurisdiction, year=year, today=today, budget=budget, basis=basis)

    if settings.DASHBOARD_SHARED_LEVEL and (
        jurisdiction is None or jurisdiction.level <= settings.DASHBOARD_SHARED_LEVEL
    ):
        # Leaders opening the same wide page together share one computation (core.shared);
        # a county's page costs tens of milliseconds, not worth the lock's two round trips.
        key = f"dashboard:{jurisdiction.pk if jurisdiction else 0}:{year}:{basis}:{budget}"
        figures = shared(key, today.isoformat(), compute)
    else:
        figures = compute()
    context = _context(
        request, figures, jurisdiction=jurisdiction, trail=_trail(lineage, scope), scope=scope, today=today
    )
    context.update(
        years=range(today.year + 1, today.year - 5, -1),
        year=year,
        bulletins=queries.latest_bulletins(jurisdiction, year),
        # 上级下达: what the parent's plan allocated to this jurisdiction (one query; none at the top)
        allocated=jurisdiction
        and allocated_from_above(jurisdiction_id=jurisdiction.pk, parent_id=jurisdiction.parent_id, year=year),
        can_freeze=request.user.has_perm(FREEZE_BULLETIN),
        query=request.GET.urlencode(),
    )
    return render(request, "campaigns/dashboard.html", context)


def _dashboard_scope(request) -> Scope:
    """The reader's scope, if they may read the dashboard at all."""
    if not request.user.has_perm(VIEW_DASHBOARD):
        raise PermissionDenied
    try:
        return _scope(request.user)
    except NoJurisdiction:
        raise PermissionDenied from None


def _xlsx(figures: dict, title: str, filename: str) -> HttpResponse:
    response = HttpResponse(
        dashboard_workbook(figures, title=title),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@require_safe
@login_required
def dashboard_export(request):
    scope = _dashboard_scope(request)
    today = timezone.localdate()
    year = _year(request.GET, today)
    jurisdiction = _jurisdiction(request.GET, scope)
    figures = dashboard_figures(jurisdiction=jurisdiction, year=year, today=today, basis=_basis(request.GET))
    return _xlsx(figures, _title(figures), f"dashboard-{year}-{today:%Y%m%d}.xlsx")


@login_required
@require_POST
def bulletin_create(request):
    scope = _dashboard_scope(request)
    if not request.user.has_perm(FREEZE_BULLETIN):
        raise PermissionDenied
    today = timezone.localdate()
    year = _year(request.POST, today)
    jurisdiction = _jurisdiction(request.POST, scope)
    figures = dashboard_figures(jurisdiction=jurisdiction, year=year, today=today, basis=_basis(request.POST))
    title = (request.POST.get("title") or "").strip()[:200] or _("%(title)s通报（%(date)s）") % {
        "title": _title(figures),
        "date": today.isoformat(),
    }
    bulletin = Bulletin.objects.create(
        jurisdiction=jurisdiction,
        year=year,
        title=title,
        as_of=today,
        created_by=request.user,
        figures=json.loads(json.dumps(figures)),
        note=(request.POST.get("note") or "").strip(),
    )
    messages.success(request, _("已发布通报：%(title)s") % {"title": bulletin.title})
    return redirect("campaigns:bulletin", pk=bulletin.pk)


def _bulletin_for(request, pk: int) -> tuple[Bulletin, Scope]:
    scope = _dashboard_scope(request)
    bulletin = get_object_or_404(Bulletin.objects.select_related("jurisdiction", "created_by"), pk=pk)
    if not scope.allows(bulletin.jurisdiction):
        raise Http404
    return bulletin, scope


@require_safe
@login_required
def bulletin_detail(request, pk: int):
    bulletin, scope = _bulletin_for(request, pk)
    as_of = dt.date.fromisoformat(bulletin.figures["as_of"])
    jurisdiction = bulletin.jurisdiction
    trail = _trail(queries.lineage(jurisdiction.pk), scope) if jurisdiction else []
    context = _context(request, bulletin.figures, jurisdiction=jurisdiction, trail=trail, scope=scope, today=as_of)
    author = bulletin.created_by
    context.update(
        bulletin=bulletin,
        bulletin_author=(author.get_full_name() or author.get_username()) if author else "—",
        title=bulletin.title,
        year=bulletin.year,
    )
    return render(request, "campaigns/dashboard.html", context)


@require_safe
@login_required
def bulletin_export(request, pk: int):
    bulletin, _scope_ = _bulletin_for(request, pk)
    return _xlsx(bulletin.figures, bulletin.title, f"bulletin-{bulletin.pk}-{bulletin.as_of:%Y%m%d}.xlsx")


def _delta(then: dict, now: dict) -> dict:
    keys = ("task", "target", "completed", "shortfall", "on_time", "blood_units")
    return {
        k: {"then": then.get(k, 0), "now": now.get(k, 0), "change": (now.get(k) or 0) - (then.get(k) or 0)}
        for k in keys
    } | {"rate": {"then": then.get("rate"), "now": now.get("rate")}}


@require_safe
@login_required
def bulletin_compare(request, pk: int):
    """A past bulletin beside today's figures for the same jurisdiction and year."""
    bulletin, scope = _bulletin_for(request, pk)
    today = timezone.localdate()
    now = dashboard_figures(
        jurisdiction=bulletin.jurisdiction,
        year=bulletin.year,
        today=today,
        basis=bulletin.figures.get("basis", ALL),  # compared on the basis it was frozen on
    )
    then = bulletin.figures
    now_children = {c["id"]: c for c in now["children"]}
    children = []
    for c in then["children"]:
        current = now_children.pop(c["id"], {})
        children.append({"name": c["name"], **_delta(c, current)})
    for c in now_children.values():
        children.append({"name": c["name"], **_delta({}, c)})
    now_units = {u["id"]: u for u in now["units"]}
    units = [
        {
            "name": u["label"],
            **_delta(u | {"task": u["target"]}, (now_units.get(u["id"]) or {}) | {"task": u["target"]}),
        }
        for u in then["units"]
    ]
    return render(
        request,
        "campaigns/bulletin_compare.html",
        {
            "bulletin": bulletin,
            "headline": _delta(then["headline"], now["headline"]),
            "children": children,
            "units": units,
            "today": today,
        },
    )

"""The drafting pages, in the admin's look: the draft's workbench, one line, publishing, the
attachment download, and the headcount sheet import.

Every page checks the drafts' model permissions (blood-office staff) and the user's scope
(`selectors.drafting_scope`): a draft of another jurisdiction is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from units.models import Unit

from ..models import DraftLine, PlanDraft
from . import headcount_import, publishing, services
from .allocation import FIXED, LAST_COMPLETED, LAST_TASK, OVERRIDE, RATE
from .forms import AddUnitsForm, DraftCreateForm, DraftSettingsForm, HeadcountUploadForm, LineForm, category_label
from .periods import ANNUAL_LABEL, periods
from .recompute import draft_recompute
from .rows import CONTENT_TYPES, draft_export
from .selectors import allocation_from_above, drafting_scope, drafts_for, jurisdictions_for

LINES_PER_PAGE = 300
SETTINGS_SHOWN = ["total", "fit_total", "minimum", "period_kind", "title", "attachment_label", "default_location"]
HEADCOUNT_SESSION_KEY = "headcount_imports"


def _context(request, model_admin, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "opts": PlanDraft._meta, **extra}


def _draft(request, model_admin, pk, *, change: bool = False) -> PlanDraft:
    allowed = model_admin.has_change_permission(request) if change else model_admin.has_view_permission(request)
    if not allowed:
        raise PermissionDenied
    return get_object_or_404(drafts_for(drafting_scope(request.user)), pk=pk)


def _workbench_url(draft: PlanDraft, anchor: str = "") -> str:
    return reverse("admin:quotas_plandraft_change", args=[draft.pk]) + (f"#{anchor}" if anchor else "")


# -- Start a draft ------------------------------------------------------------------------


def create_view(request, *, model_admin):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    scope = drafting_scope(request.user)
    today = timezone.localdate()
    initial = {key: request.GET[key] for key in ("jurisdiction", "year") if request.GET.get(key, "").isdigit()}
    form = DraftCreateForm(
        request.POST or None, initial=initial, jurisdictions=jurisdictions_for(scope), today=today, own=scope.root
    )
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.draft_create(
                jurisdiction=form.cleaned_data["jurisdiction"],
                year=form.cleaned_data["year"],
                today=today,
                user=request.user,
            )
        except (services.DraftError, ValidationError) as exc:
            form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, _("已新建草稿：%(lines)d 个单位。") % {"lines": draft.lines.count()})
            return redirect(_workbench_url(draft))
    return TemplateResponse(
        request,
        "admin/quotas/plandraft/create.html",
        _context(request, model_admin, form=form, title=_("新建计划草稿"), scope_empty=scope.empty),
    )


# -- The workbench ---------------------------------------------------------------------------


def _rule_text(line: DraftLine, draft: PlanDraft) -> str:
    """How the line's number came about, in words."""
    rule = (draft.rules or {}).get(line.category, {})
    if line.excluded:
        return _("本年不分配")
    if line.rule == OVERRIDE:
        return _("指定")
    if line.missing:
        return {
            "headcount": _("缺总人数"),
            "last_task": _("上年无任务"),
            "last_completed": _("上年无完成数"),
            "rule": _("此类别无规则"),
        }.get(line.missing, line.missing)
    value = rule.get("value", "1")
    if line.rule == RATE:
        text = _("总人数 %(headcount)s × %(rate)s%%") % {
            "headcount": line.headcount,
            "rate": _number(float(value) * 100),
        }
    elif line.rule == LAST_TASK:
        text = _("上年任务 %(task)s") % {"task": line.last_task}
        if value not in ("1", 1):
            text += f" × {value}"
    elif line.rule == LAST_COMPLETED:
        text = _("上年完成 %(done)s") % {"done": line.last_completed}
        if value not in ("1", 1):
            text += f" × {value}"
    elif line.rule == FIXED:
        return _("固定 %(n)s") % {"n": value}
    else:
        return ""
    base = {LAST_TASK: line.last_task, LAST_COMPLETED: line.last_completed}.get(line.rule)
    if line.basis and line.basis != str(base):  # a rate, or a factor other than 1
        text += f" = {line.basis}"
    return text


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _rows(draft: PlanDraft, lines: list[DraftLine]) -> list[dict]:
    labels = [p.label for p in periods(draft.period_kind, draft.year)]
    scaled = (draft.result or {}).get("fitted") and (draft.result or {}).get("scale") not in (None, 1.0)
    rows = []
    for line in lines:
        change = None if line.proposal is None or line.last_task is None else line.proposal - line.last_task
        rows.append(
            {
                "line": line,
                "category": category_label(line.category),
                "members": len(line.units.all()),
                "rule": _rule_text(line, draft),
                "scaled": scaled and line.rule in (RATE, LAST_TASK, LAST_COMPLETED) and _scalable(draft, line),
                "change": change,
                "change_rate": change / line.last_task if change is not None and line.last_task else None,
                "completion": round(100 * line.last_completed / line.last_task)
                if line.last_completed is not None and line.last_task
                else None,
                "periods": "、".join(
                    f"{labels[p] if p is not None else ANNUAL_LABEL} {amount}"
                    if len(line.parts) > 1
                    else (labels[p] if p is not None else ANNUAL_LABEL)
                    for amount, p in line.parts
                ),
                "fixed": line.period_mode == DraftLine.PeriodMode.FIXED,
            }
        )
    return rows


def _scalable(draft: PlanDraft, line: DraftLine) -> bool:
    return bool((draft.rules or {}).get(line.category, {}).get("scalable", True))


def _chart(draft: PlanDraft) -> dict:
    result = draft.result or {}
    if "planned_curve" not in result:
        return {}
    labels = result["period_labels"]
    scheduled = result["scheduled_total"] or 0
    curve = result["demand_curve"]
    share = [round(curve[i] - (curve[i - 1] if i else 0), 1) for i in range(len(curve))]
    return {
        "periods": labels,
        "planned": result["planned_curve"],
        "demand": [round(v, 1) for v in curve],
        "loads": result["loads"],
        "share": share,
        "worst": result.get("worst_period"),
        "scheduled": scheduled,
        "labels": {
            "planned": _("计划采集（累计）"),
            "demand": _("临床用血（累计，按计划总数折算）"),
            "loads": _("本期任务"),
            "share": _("本期用血（折算）"),
            "worst": _("最大偏差"),
        },
    }


def workbench_view(request, object_id, *, model_admin):
    """GET: the draft. POST: its settings and rules (`settings`), add units (`add_units`),
    refresh last year's figures (`refresh`)."""
    draft = _draft(request, model_admin, object_id)
    editable = model_admin.has_change_permission(request, draft) and draft.status == PlanDraft.Status.DRAFT
    lines_qs = draft.lines.prefetch_related("units").order_by("position", "pk")
    categories = list(dict.fromkeys(lines_qs.values_list("category", flat=True)))
    settings_form = DraftSettingsForm(
        request.POST if request.method == "POST" and "settings" in request.POST else None,
        draft=draft,
        categories=categories,
    )
    candidates = (
        Unit.objects.filter(jurisdiction=draft.jurisdiction, active=True)
        .exclude(draft_lines__draft=draft)
        .order_by("name")
    )
    add_form = AddUnitsForm(
        request.POST if request.method == "POST" and "add_units" in request.POST else None, units=candidates
    )
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        try:
            if "settings" in request.POST and settings_form.is_valid():
                services.draft_update(draft=draft, user=request.user, **settings_form.settings())
                messages.success(request, _("已保存并重新计算。"))
                return redirect(_workbench_url(draft))
            if "add_units" in request.POST and add_form.is_valid():
                added = services.lines_add(draft=draft, units=list(add_form.cleaned_data["units"]), user=request.user)
                messages.success(request, _("已添加 %(n)d 个单位。") % {"n": added})
                return redirect(_workbench_url(draft, "lines"))
            if "refresh" in request.POST:
                services.draft_refresh_figures(draft=draft, today=timezone.localdate(), user=request.user)
                messages.success(request, _("已刷新上年任务数和完成数。"))
                return redirect(_workbench_url(draft))
        except (services.DraftError, ValidationError) as exc:
            messages.error(request, "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
            return redirect(_workbench_url(draft))

    lines = list(lines_qs)
    category = request.GET.get("category", "")
    show = request.GET.get("show", "")
    shown = [
        line
        for line in lines
        if (not category or line.category == category)
        and (show != "missing" or line.missing)
        and (show != "adjusted" or line.override is not None or line.excluded or line.period_mode == "fixed")
    ]
    page = Paginator(shown, LINES_PER_PAGE).get_page(request.GET.get("page"))
    result = draft.result or {}
    from_above = allocation_from_above(draft.jurisdiction, draft.year)
    context = _context(
        request,
        model_admin,
        title=str(draft),
        draft=draft,
        original=draft,
        editable=editable,
        result=result,
        chart=_chart(draft),
        rows=_rows(draft, list(page.object_list)),
        page=page,
        categories=[(c, category_label(c)) for c in categories],
        category=category,
        show=show,
        settings_form=settings_form,
        add_form=add_form if candidates.exists() else None,
        from_above=from_above,
        covers=None if from_above is None else (result.get("total") or 0) - from_above.total,
        short=None if from_above is None else from_above.total - (result.get("total") or 0),
        problems=publishing.publish_problems(draft),
        missing=[line for line in lines if line.missing][:50],
        worst_label=result["period_labels"][result["worst_period"]] if result.get("worst_period") is not None else "",
        settings_fields=[settings_form[name] for name in SETTINGS_SHOWN],
        last_total=sum(line.last_task for line in lines if line.last_task is not None) if draft.base_plan_id else None,
    )
    return TemplateResponse(request, "admin/quotas/plandraft/workbench.html", context)


# -- One line -------------------------------------------------------------------------------


def line_view(request, object_id, line_id, *, model_admin):
    draft = _draft(request, model_admin, object_id)
    line = get_object_or_404(draft.lines.prefetch_related("units"), pk=line_id)
    editable = model_admin.has_change_permission(request, draft) and draft.status == PlanDraft.Status.DRAFT
    form = LineForm(request.POST if request.method == "POST" else None, line=line)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.line_update(line=line, user=request.user, **form.changes())
            except (services.DraftError, ValidationError) as exc:
                form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
            else:
                line.refresh_from_db()
                messages.success(
                    request,
                    _("已调整“%(label)s”：本年拟分配 %(n)s。") % {"label": line.label, "n": line.proposal or "—"},
                )
                return redirect(_workbench_url(draft, f"line-{line.pk}"))
    return TemplateResponse(
        request,
        "admin/quotas/plandraft/line.html",
        _context(
            request,
            model_admin,
            title=_("调整：%(label)s") % {"label": line.label},
            draft=draft,
            line=line,
            form=form,
            editable=editable,
            row=_rows(draft, [line])[0],
        ),
    )


# -- The attachment, publishing --------------------------------------------------------------


def export_view(request, object_id, fmt, *, model_admin):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    if fmt not in CONTENT_TYPES:
        raise Http404
    draft = _draft(request, model_admin, object_id)
    data, name = draft_export(draft=draft, fmt=fmt)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


def publish_view(request, object_id, *, model_admin):
    """GET: what publishing would write (the notice import's preview). POST: publish."""
    draft = _draft(request, model_admin, object_id, change=True)
    if draft.status != PlanDraft.Status.DRAFT:
        messages.info(request, _("草稿已发布。"))
        return redirect(_workbench_url(draft))
    if request.method == "POST":
        try:
            plan = publishing.draft_publish(draft=draft, user=request.user)
        except (services.DraftError, ValidationError) as exc:
            messages.error(request, "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
            return redirect(_workbench_url(draft))
        messages.success(
            request,
            _("已发布为 %(plan)s：%(n)d 条任务，合计 %(total)d。附件已随计划保存。")
            % {"plan": plan, "n": plan.quotas.count(), "total": draft.result["total"]},
        )
        return redirect(reverse("admin:quotas_annualplan_change", args=[plan.pk]))
    problems = publishing.publish_problems(draft)
    report = None if problems else publishing.publish_preview(draft)
    return TemplateResponse(
        request,
        "admin/quotas/plandraft/publish.html",
        _context(
            request,
            model_admin,
            title=_("发布为年度计划"),
            draft=draft,
            problems=problems,
            report=report,
            counts=report.counts() if report else {},
        ),
    )


@require_POST
def reopen_view(request, object_id, *, model_admin):
    draft = _draft(request, model_admin, object_id, change=True)
    publishing.draft_reopen(draft=draft, user=request.user)
    messages.success(
        request, _("草稿已重新打开：已发布的时间安排固定不变（可逐个修改）；再次发布时，年度计划按差异更新。")
    )
    return redirect(_workbench_url(draft))


# -- Headcounts -------------------------------------------------------------------------------


def headcounts_view(request, *, model_admin):
    """Upload a headcount sheet → preview (matched, changed, unknown) → apply."""
    if not model_admin.has_change_permission(request) or not request.user.has_perm("units.change_unit"):
        raise PermissionDenied
    scope = drafting_scope(request.user)
    jurisdictions = jurisdictions_for(scope)
    draft = None
    if request.GET.get("draft"):
        draft = (
            get_object_or_404(drafts_for(scope), pk=request.GET["draft"]) if request.GET["draft"].isdigit() else None
        )
    context = _context(request, model_admin, title=_("导入单位总人数"), draft=draft)
    if request.method == "POST" and "token" in request.POST:
        staged = request.session.get(HEADCOUNT_SESSION_KEY, {}).pop(request.POST["token"], None)
        request.session.modified = True
        if staged is None:
            messages.error(request, _("导入已过期或已完成，请重新上传。"))
            return redirect(reverse("admin:quotas_plandraft_headcounts"))
        jurisdiction = get_object_or_404(jurisdictions, pk=staged["jurisdiction"])
        changed = headcount_import.headcounts_apply(
            changes=[tuple(c) for c in staged["changes"]],
            jurisdiction=jurisdiction,
            filename=staged["name"],
            sha256=staged["sha256"],
            user=request.user,
        )
        messages.success(request, _("已更新 %(n)d 个单位的总人数。") % {"n": changed})
        if staged.get("draft"):
            back = get_object_or_404(drafts_for(scope), pk=staged["draft"])
            if back.status == PlanDraft.Status.DRAFT:
                draft_recompute(draft=back)
            return redirect(_workbench_url(back))
        return redirect(reverse("admin:quotas_plandraft_changelist"))
    form = HeadcountUploadForm(
        request.POST or None,
        request.FILES or None,
        jurisdictions=jurisdictions,
        initial_jurisdiction=draft.jurisdiction if draft else None,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        jurisdiction = form.cleaned_data["jurisdiction"]
        preview = headcount_import.headcounts_preview(data=data, filename=upload.name, jurisdiction=jurisdiction)
        token = None
        if not preview.errors and preview.changes:
            import uuid

            token = str(uuid.uuid4())
            request.session.setdefault(HEADCOUNT_SESSION_KEY, {})[token] = {
                "jurisdiction": jurisdiction.pk,
                "changes": preview.changes,
                "name": upload.name,
                "sha256": headcount_import.sha256_of(data),
                "draft": draft.pk if draft else None,
            }
            request.session.modified = True
        context.update(preview=preview, token=token, jurisdiction=jurisdiction, filename=upload.name)
        return TemplateResponse(request, "admin/quotas/plandraft/headcounts_preview.html", context)
    context["form"] = form
    return TemplateResponse(request, "admin/quotas/plandraft/headcounts.html", context)

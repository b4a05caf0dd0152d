"""The notice import in the admin: upload → preview with decisions → apply all or nothing.

The uploaded bytes wait in a staging file between the preview and the confirmation; the
session holds only its token, so a second tab or another user cannot apply someone else's file.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from units.models import Jurisdiction

from .forms import NoticeUploadForm
from .models import AnnualPlan
from .notice.text import decode_notice_text
from .services import CHANGED, CREATE, ERROR, plan_import, preview_import

STAGING = "import-staging"
SESSION_KEY = "notice_imports"


def _staging_path(token: str) -> Path:
    return Path(settings.MEDIA_ROOT) / STAGING / f"{uuid.UUID(token)}.bin"


def import_notice_view(request, plan_id=None, *, model_admin):
    """GET: the upload form. POST with a file: the preview. POST with a token: apply."""
    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied
    plan = get_object_or_404(AnnualPlan, pk=plan_id) if plan_id else None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "plan": plan,
        "title": _("从通知导入任务"),
    }
    if request.method == "POST" and "token" in request.POST:
        return _apply(request, context)
    form = NoticeUploadForm(request.POST or None, request.FILES or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        text_file = form.cleaned_data.get("notice_text")
        notice_text = decode_notice_text(text_file.read()) if text_file else ""
        jurisdiction = form.cleaned_data["jurisdiction"]
        year = form.cleaned_data["year"]
        report = preview_import(
            data=data,
            filename=form.cleaned_data["file"].name,
            jurisdiction=jurisdiction,
            year=year,
            notice_text=notice_text,
        )
        token = None
        if not report.errors:  # a file that cannot be applied is not kept
            token = str(uuid.uuid4())
            path = _staging_path(token)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            request.session.setdefault(SESSION_KEY, {})[token] = {
                "name": form.cleaned_data["file"].name,
                "jurisdiction": jurisdiction.pk,
                "year": year,
                "notice_text": notice_text,
            }
            request.session.modified = True
        context.update(
            report=report,
            token=token,
            counts=report.counts(),
            shown_rows=_rows_to_show(report),
            jurisdiction=jurisdiction,
            year=year,
            filename=form.cleaned_data["file"].name,
        )
        return TemplateResponse(request, "admin/quotas/import_preview.html", context)
    context["form"] = form
    return TemplateResponse(request, "admin/quotas/import_upload.html", context)


PREVIEW_ROWS = 500


def _rows_to_show(report):
    """The first rows, then every changed or wrong row after them: a 20,000-row preview stays usable."""
    head = report.rows[:PREVIEW_ROWS]
    tail = [p for p in report.rows[PREVIEW_ROWS:] if p.status in (CHANGED, ERROR)]
    return head + tail


def _apply(request, context):
    token = request.POST["token"]
    staged = request.session.get(SESSION_KEY, {}).get(token)
    if staged is None:
        messages.error(request, _("导入已过期或已完成，请重新上传。"))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    path = _staging_path(token)
    jurisdiction = get_object_or_404(Jurisdiction, pk=staged["jurisdiction"])
    decisions = {}
    for key, value in request.POST.items():
        if key.startswith("decision:"):
            decisions[key.removeprefix("decision:")] = CREATE if value == CREATE else value
    try:
        report = plan_import(
            data=path.read_bytes(),
            filename=staged["name"],
            jurisdiction=jurisdiction,
            year=staged["year"],
            user=request.user,
            decisions=decisions,
            notice_text=staged.get("notice_text", ""),
        )
    except (ValueError, ValidationError) as exc:
        messages.error(request, str(exc))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    if not report.applied:
        messages.error(request, _("文件有错误，未导入：") + "；".join(e.message for e in report.errors[:5]))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    path.unlink(missing_ok=True)
    del request.session[SESSION_KEY][token]
    request.session.modified = True
    counts = report.counts()
    messages.success(
        request,
        _("已导入 %(rows)d 条任务：新增 %(new)d，修改 %(changed)d，删除 %(removed)d；新建单位 %(units)d。")
        % {
            "rows": len(report.rows),
            "new": counts.get("new", 0),
            "changed": counts.get("changed", 0),
            "removed": counts.get("removed", 0),
            "units": report.created_units,
        },
    )
    return redirect(reverse("admin:quotas_annualplan_change", args=[report.plan.pk]))

"""The notice import in the admin: upload → preview with decisions → apply all or nothing.

The uploaded bytes wait, encrypted, between the preview and the confirmation (`core.uploads`),
under a random token that only their uploader can confirm; confirming claims them in the
apply's transaction, so a second confirmation of the same token writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core import uploads
from core.models import StagedUpload
from units.models import Jurisdiction
from units.naming import clean_name
from units.scope import scope_for
from units.selectors import child_level, unit_name_of
from units.services import jurisdiction_get_or_create

from . import staging
from .forms import NoticeUploadForm
from .models import AnnualPlan
from .notice.layouts import KIND_YEAR
from .notice.text import decode_notice_text
from .scan_review import attach_review_cells
from .services import (
    CHANGED,
    ERROR,
    compare_reading,
    plan_import,
    read_for_import,
    scan_pages_bounded,
)
from .tasks import DONE, FAILED, QUEUED, read_scan_task, scan_document


class _NotApplied(Exception):
    """The file has errors now (units or the plan changed since the preview): roll back."""

    def __init__(self, report):
        super().__init__()
        self.report = report


def import_notice_view(request, plan_id=None, *, model_admin):
    """GET: the upload form. POST with a file: the preview. POST with a token: apply."""
    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied
    scope = scope_for(request.user)  # another office's plan is a 404, its jurisdiction no choice
    plan = get_object_or_404(scope.filter(AnnualPlan.objects.all()), pk=plan_id) if plan_id else None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "plan": plan,
        "title": _("从通知导入任务"),
    }
    if request.method == "POST" and "token" in request.POST:
        typed = _typed_corrections(request.POST)
        if "recheck" not in request.POST:
            if request.POST.get("year_conflict") and not request.POST.get("confirm_year"):
                messages.error(request, _("文件中的年度与导入年度不同：请勾选确认后再导入。"))
                return redirect(request.get_full_path())
            try:
                staged = uploads.peek(kind=StagedUpload.Kind.NOTICE, token=request.POST["token"], owner=request.user)
            except (uploads.AlreadyApplied, uploads.NotStaged):
                return _apply(request, context)  # says which, as a confirmation does
            if typed == staged.upload.meta.get("shown", {}):
                return _apply(request, context)
            # Corrections typed but not yet seen re-checked: show them re-checked, apply nothing.
            messages.warning(request, _("已按您的更正重新核对，请检查后再确认导入。"))
        return _recheck(request, context, typed)
    if request.method == "GET" and "reading" in request.GET:
        return _reading(request, context)
    form = NoticeUploadForm(
        request.POST or None,
        request.FILES or None,
        plan=plan,
        jurisdictions=scope.jurisdictions(),
        admin_site=model_admin.admin_site,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        text_file = form.cleaned_data.get("notice_text")
        notice_text = decode_notice_text(text_file.read()) if text_file else ""
        jurisdiction = form.cleaned_data["jurisdiction"]
        year = form.cleaned_data["year"]
        filename = form.cleaned_data["file"].name
        meta = {
            "jurisdiction": jurisdiction.pk,
            # A jurisdiction created by the confirmation: its name under the chosen parent.
            "new_jurisdiction": "" if jurisdiction.pk else jurisdiction.name,
            "parent": jurisdiction.parent_id,
            "year": year,
            "notice_text": notice_text,
            # A scan's cells as the preview shows them, and staff's corrections of them.
            "shown": {},
            "corrections": {},
        }
        pages = scan_pages_bounded(data, filename)
        if pages:
            # A scan: OCR takes seconds a page. Staged at once, read by a background task; this
            # answers with the progress page, which becomes the preview when the task is done.
            staged = uploads.stage(
                kind=StagedUpload.Kind.NOTICE, owner=request.user, filename=filename, data=data, meta=meta
            )
            uploads.set_progress(staged, {"state": QUEUED, "done": 0, "total": pages})
            read_scan_task.enqueue(str(staged.token))
            return redirect(f"{request.path}?{urlencode({'reading': str(staged.token)})}")
        reading = read_for_import(
            data=data, filename=filename, jurisdiction=jurisdiction, year=year, notice_text=notice_text
        )
        frozen = staging.freeze(reading, None)  # as read: the comparison below adds to it
        report = compare_reading(reading, jurisdiction=jurisdiction, year=year)
        shown_rows = _rows_to_show(report)
        shown = attach_review_cells(report, shown_rows, data)
        token = None
        if not report.errors:  # a file that cannot be applied is not kept
            staged = uploads.stage(
                kind=StagedUpload.Kind.NOTICE,
                owner=request.user,
                filename=filename,
                data=data,
                meta=meta | {"shown": shown},
            )
            staging.keep(staged, frozen)
            token = str(staged.token)
        return _preview_response(request, context, report, shown_rows, token, jurisdiction, year, filename)
    context["form"] = form
    return TemplateResponse(request, "admin/quotas/import_upload.html", context)


def _peek(request, token: str):
    """The user's staged notice, still unapplied (`uploads.peek`), or where to go instead: the
    plan list, saying it was imported already or has expired."""
    try:
        return uploads.peek(kind=StagedUpload.Kind.NOTICE, token=token, owner=request.user)
    except uploads.AlreadyApplied:
        messages.info(request, _("这个文件已导入，没有重复导入。"))
    except uploads.NotStaged:
        messages.error(request, _("导入已过期或已完成，请重新上传。"))
    return redirect(reverse("admin:quotas_annualplan_changelist"))


def _reading(request, context):
    """A scan being read in the background (`quotas.tasks`): the progress page while it is read,
    then the preview as for any file; a failed reading says why and keeps nothing."""
    staged = _peek(request, request.GET["reading"])
    if isinstance(staged, HttpResponse):
        return staged
    upload = staged.upload
    progress = upload.progress or {}
    state = progress.get("state")
    if state not in (DONE, FAILED):
        context.update(
            upload=upload,
            progress=progress,
            done=progress.get("done", 0),
            total=progress.get("total", 0),
            status_url=reverse("admin:quotas_annualplan_import_status", args=[upload.token]),
        )
        response = TemplateResponse(request, "admin/quotas/import_progress.html", context)
        response["Cache-Control"] = "no-store"
        return response
    document = scan_document(upload) if state == DONE else None
    if document is None:
        uploads.discard(upload)
        error = progress.get("error") or _("识别结果已丢失，请重新上传。")
        messages.error(
            request, _("没有读出文件“%(name)s”，未导入任何内容：%(error)s") % {"name": upload.filename, "error": error}
        )
        return redirect(request.path)
    return _preview_staged(request, context, staged, document=document)


@require_GET
def import_status_view(request, token, *, model_admin):
    """How far the background reading of the user's own staged scan is, as JSON for the progress
    page: {"state", "done", "total"}. Another user's token, or no token staged, is a 404."""
    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied
    upload = StagedUpload.objects.filter(
        token=token, kind=StagedUpload.Kind.NOTICE, owner=request.user, claimed_at__isnull=True
    ).first()
    if upload is None:
        raise Http404
    progress = upload.progress or {}
    response = JsonResponse(
        {"state": progress.get("state", ""), "done": progress.get("done", 0), "total": progress.get("total", 0)}
    )
    response["Cache-Control"] = "no-store"
    return response


def _preview_response(request, context, report, shown_rows, token, jurisdiction, year, filename):
    unknown = list(report.unknown.values())
    context.update(
        report=report,
        token=token,
        # Only names with a real choice get a control; the others are created as new units.
        choices=[m for m in unknown if m.suggestions or m.jurisdiction_level],
        plain_new=[
            (m.printed, clean_name(unit_name_of(m.printed)))
            for m in unknown
            if not (m.suggestions or m.jurisdiction_level)
        ],
        other_warnings=[w for w in report.warnings if w.kind != KIND_YEAR],
        counts=report.counts(),
        shown_rows=shown_rows,
        review_count=sum(
            1 for p in shown_rows for c in getattr(p, "review_cells", ()) if c["first"] and not c["corrected"]
        ),
        corrections=report.reading.corrections,
        jurisdiction=jurisdiction,
        year=year,
        filename=filename,
    )
    return TemplateResponse(request, "admin/quotas/import_preview.html", context)


MAX_CORRECTIONS = 500
FIX_PREFIX = "fix:"


def _typed_corrections(post) -> dict[str, str]:
    """What the preview's correction fields hold now: address → text (stripped, at most
    MAX_CORRECTIONS fields of 1,000 characters; the reader checks each further)."""
    typed = {}
    for key, value in post.items():
        if key.startswith(FIX_PREFIX) and len(typed) < MAX_CORRECTIONS:
            typed[key.removeprefix(FIX_PREFIX)[:100]] = value.strip()[:1000]
    return typed


def _recheck(request, context, typed: dict[str, str]):
    """The preview again, the staged scan read with the corrections typed over its cells: each
    checked, the totals added up again, the flags recomputed. Nothing is applied; the staged
    upload keeps the corrections (what a confirmation will apply) and the fields as shown."""
    staged = _peek(request, request.POST["token"])
    if isinstance(staged, HttpResponse):
        return staged
    # Every field as typed: the reader keeps those that differ from what it recognised.
    return _preview_staged(request, context, staged, document=scan_document(staged.upload), typed=typed)


def _preview_staged(request, context, staged, *, document, typed: dict[str, str] | None = None):
    """The preview of a staged scan, read by OCR in the background (`document`): first as read
    (`typed` None: a reading with errors is not kept), then with the corrections typed over its
    cells, each checked and the totals added up again. The reading is kept beside the upload for
    the apply (`quotas.staging`), with the corrections it was read with."""
    upload, meta = staged.upload, dict(staged.upload.meta)
    jurisdiction = _staged_jurisdiction(request, meta)
    corrections = typed or {}
    reading = read_for_import(
        data=staged.data,
        filename=upload.filename,
        jurisdiction=jurisdiction,
        year=meta["year"],
        notice_text=meta.get("notice_text", ""),
        corrections=corrections,
        document=document,
    )
    frozen = staging.freeze(reading, corrections)
    report = compare_reading(reading, jurisdiction=jurisdiction, year=meta["year"])
    shown_rows = _rows_to_show(report)
    shown = attach_review_cells(report, shown_rows, staged.data, typed=typed)
    token = str(upload.token)
    if report.errors and typed is None:  # a file that cannot be applied is not kept
        uploads.discard(upload)
        token = None
    else:
        try:
            uploads.update_meta(upload, meta | {"shown": shown, "corrections": corrections})
        except uploads.NotStaged:
            messages.error(request, _("导入已过期或已完成，请重新上传。"))
            return redirect(reverse("admin:quotas_annualplan_changelist"))
        staging.keep(upload, frozen)
    return _preview_response(request, context, report, shown_rows, token, jurisdiction, meta["year"], upload.filename)


def _staged_jurisdiction(request, meta):
    """The jurisdiction a staged notice is for, inside the user's scope (a new one unsaved)."""
    allowed = scope_for(request.user).jurisdictions()
    if meta.get("new_jurisdiction"):
        parent = get_object_or_404(allowed, pk=meta["parent"])
        name = meta["new_jurisdiction"]
        found = Jurisdiction.objects.filter(parent=parent, name=name).first()
        return found or Jurisdiction(name=name, parent=parent, level=child_level(parent, name), path="")
    return get_object_or_404(allowed, pk=meta["jurisdiction"])


PREVIEW_ROWS = 500


def _rows_to_show(report):
    """The first rows, then every changed or wrong row after them: a 20,000-row preview stays
    usable. A row the reader refused (a bad number, a period it cannot read) is not a quota, but
    it is shown where it stands in the file, marked, with its error."""
    head = report.rows[:PREVIEW_ROWS]
    tail = [p for p in report.rows[PREVIEW_ROWS:] if p.status in (CHANGED, ERROR)]
    return _with_error_rows(head + tail, [e for e in report.errors if e.ref and "!" in e.ref])


def _cell_position(ref: str) -> tuple[str, int]:
    """ "附件1!C12" → ("附件1", 12)."""
    sheet, _, cell = ref.rpartition("!")
    digits = "".join(ch for ch in cell if ch.isdigit())
    return sheet, int(digits or 0)


def _with_error_rows(previews: list, errors: list) -> list:
    """Each error placed before the first row of its sheet printed below it (else after its
    sheet's last row, else first): the table reads as the file does."""
    shown = list(previews)
    for error in errors:
        sheet, row = _cell_position(error.ref)
        at, last_of_sheet = None, None
        for i, item in enumerate(shown):
            if getattr(item, "issue", None) is not None:
                continue
            item_sheet, item_row = _cell_position(item.row.cell)
            if item_sheet == sheet:
                last_of_sheet = i
                if item_row > row:
                    at = i
                    break
        if at is None:
            at = last_of_sheet + 1 if last_of_sheet is not None else 0
        shown.insert(at, ErrorRow(issue=error, cell=error.ref))
    return shown


@dataclass
class ErrorRow:
    """A row of the file that could not be read, shown in the preview's table."""

    issue: object
    cell: str
    status: str = ERROR


def _apply(request, context):
    decisions = {}
    for key, value in request.POST.items():
        if key.startswith("decision:"):
            decisions[key.removeprefix("decision:")] = value
    try:
        with uploads.claim(kind=StagedUpload.Kind.NOTICE, token=request.POST["token"], owner=request.user) as claim:
            staged = claim.upload
            allowed = scope_for(request.user).jurisdictions()
            corrections = staged.meta.get("corrections") or None
            if staged.meta.get("new_jurisdiction"):
                parent = get_object_or_404(allowed, pk=staged.meta["parent"])
                name = staged.meta["new_jurisdiction"]
                jurisdiction = jurisdiction_get_or_create(name=name, parent=parent, level=child_level(parent, name))
            else:
                jurisdiction = get_object_or_404(allowed, pk=staged.meta["jurisdiction"])
            # The preview's reading, compared again with the plan and units as they are now; the
            # file is read again only when none was kept for these corrections.
            reading = staging.kept_reading(staged, corrections=corrections)
            report = plan_import(
                data=claim.data,
                filename=staged.filename,
                jurisdiction=jurisdiction,
                year=staged.meta["year"],
                user=request.user,
                decisions=decisions,
                notice_text=staged.meta.get("notice_text", ""),
                corrections=corrections,
                document=scan_document(staged) if reading is None else None,
                reading=reading,
            )
            if not report.applied:
                raise _NotApplied(report)
            claim.result = {"plan": report.plan.pk}
    except uploads.AlreadyApplied as exc:
        messages.info(request, _("这个文件已导入，没有重复导入。"))
        plan_id = exc.upload.result.get("plan")
        if plan_id:
            return redirect(reverse("admin:quotas_annualplan_change", args=[plan_id]))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    except uploads.NotStaged:
        messages.error(request, _("导入已过期或已完成，请重新上传。"))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    except _NotApplied as exc:
        messages.error(request, _("文件有错误，未导入：") + "；".join(e.message for e in exc.report.errors[:5]))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    except (ValueError, ValidationError) as exc:
        messages.error(request, str(exc))
        return redirect(reverse("admin:quotas_annualplan_changelist"))
    counts = report.counts()
    messages.success(
        request,
        _(
            "已导入 %(rows)d 条任务：新增 %(new)d，修改 %(changed)d，删除 %(removed)d；"
            "新建单位 %(units)d，新建下级行政区划 %(jurisdictions)d。"
        )
        % {
            "jurisdictions": report.created_jurisdictions,
            "rows": len(report.rows),
            "new": counts.get("new", 0),
            "changed": counts.get("changed", 0),
            "removed": counts.get("removed", 0),
            "units": report.created_units,
        },
    )
    return redirect(reverse("admin:quotas_annualplan_change", args=[report.plan.pk]))

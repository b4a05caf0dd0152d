"""The liaison's pages: their home (progress), log donors singly or as a roster, edit or withdraw.

Every view takes the liaison's units from the server, never from the request: a donation id
of another unit in a URL or a form gets a 404 and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from core import uploads
from core.models import StagedUpload
from core.xlsx import escape_formula, xlsx_response
from units.models import Unit
from units.roles import LOG_DONATION, liaison_units

from ..extensions import attach_marks
from ..messages import translate
from ..models import Donation, DonationDrive
from ..rosters.reader import TEMPLATE_HEADER
from ..rosters.services import RosterChanged, roster_commit, roster_keep, roster_preview, roster_restore
from ..selectors import liaison_progress
from ..services import donation_log, donation_update, donation_withdraw
from .forms import DonationForm, DonorSearchForm, RosterUploadForm


def liaison_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm(LOG_DONATION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _units(request):
    return Unit.objects.for_user(request.user).order_by("name")


def _drives_of(units: list):
    """This year's drives of these units, as a callable: the form fetches them only if it needs
    them (see ObjectChoiceField)."""
    return lambda: DonationDrive.objects.filter(
        units__in=[unit.pk for unit in units], end_date__gte=timezone.localdate().replace(month=1, day=1)
    ).distinct()


def _show_rule_messages(request, result):
    for warning in result.warnings:
        messages.warning(request, translate(warning))
    for flag in result.flags:
        messages.warning(request, _("已登记，但需献血办复核：") + translate(flag["message"]))


@require_safe
@liaison_required
def liaison_home(request):
    """A liaison's units and their quotas with task, completed, remaining and due date, what
    needs doing first; the coming drives and the donors logged last."""
    today = timezone.localdate()
    units = list(Unit.objects.for_user(request.user).select_related("jurisdiction"))
    progress = liaison_progress(units, today=today)
    drives = list(
        DonationDrive.objects.filter(units__in=units, end_date__gte=today).distinct().order_by("start_date")[:10]
    )
    donations = attach_marks(
        Donation.objects.for_user(request.user).select_related("unit__jurisdiction").order_by("-donated_on", "-id")[:10]
    )
    return render(
        request,
        "campaigns/liaison_home.html",
        {"units": units, "progress": progress, "today": today, "drives": drives, "donations": donations},
    )


@liaison_required
def log_donation(request):
    """Log one donor; on success the same empty form comes back, for the next donor."""
    units = liaison_units(request.user)
    form = DonationForm(request.POST or None, units=units, drives=_drives_of(units))
    if request.method == "POST" and form.is_valid():
        try:
            donation, result = donation_log(logged_by=request.user, **form.service_fields())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, [translate(e) for e in errors])
        else:
            messages.success(
                request, _("已登记：%(name)s %(id)s") % {"name": donation.donor_name, "id": donation.id_number_masked}
            )
            _show_rule_messages(request, result)
            return redirect("campaigns:log_donation")
    recent = Donation.objects.for_user(request.user).filter(logged_by=request.user).select_related("unit")[:10]
    return render(request, "campaigns/log_donation.html", {"form": form, "recent": recent})


@liaison_required
def edit_donation(request, pk: int):
    donation = get_object_or_404(Donation.objects.for_user(request.user), pk=pk)
    if donation.status != Donation.Status.LOGGED or donation.station_verified:
        messages.error(request, _("已核实或已退回的记录不能再修改。"))
        return redirect("campaigns:liaison_home")
    units = liaison_units(request.user)
    initial = DonationForm.initial_for(donation)
    form = DonationForm(request.POST or None, initial=initial, units=units, drives=_drives_of(units), editing=donation)
    if request.method == "POST" and form.is_valid():
        try:
            result = donation_update(donation=donation, **form.service_fields())[1]
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, [translate(e) for e in errors])
        else:
            messages.success(request, _("已修改。"))
            _show_rule_messages(request, result)
            return redirect("campaigns:donor_list")
    return render(request, "campaigns/edit_donation.html", {"form": form, "donation": donation})


DONORS_PER_PAGE = 20


@require_safe
@liaison_required
def donor_list(request):
    """Every donor of the liaison's units, newest first, a page at a time, searchable."""
    form = DonorSearchForm(request.GET or None)
    donations = (
        Donation.objects.for_user(request.user).select_related("unit__jurisdiction").order_by("-donated_on", "-id")
    )
    if form.is_valid():
        donations = form.filter(donations)
    page = Paginator(donations, DONORS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "campaigns/donor_list.html",
        {"form": form, "page": page, "donations": attach_marks(page.object_list), "query": query.urlencode()},
    )


@liaison_required
@require_http_methods(["GET", "POST"])
def withdraw_donation(request, pk: int):
    """撤回 asks first: the GET shows the donation and a confirm button, the POST withdraws."""
    donation = get_object_or_404(Donation.objects.for_user(request.user).select_related("unit"), pk=pk)
    if request.method == "GET":
        if donation.status != Donation.Status.LOGGED or donation.station_verified:
            messages.error(request, _("已核实或已退回的记录不能再修改。"))
            return redirect("campaigns:donor_list")
        return render(request, "campaigns/withdraw_confirm.html", {"donation": donation})
    try:
        donation_withdraw(donation=donation)
    except ValidationError as exc:
        messages.error(request, " ".join(translate(m) for m in exc.messages))
    else:
        messages.success(request, _("已撤回 %(name)s 的登记。") % {"name": donation.donor_name})
    return redirect("campaigns:donor_list")


class _NotSaved(Exception):
    def __init__(self, preview, message: str, *, keep=None):
        super().__init__(message)
        self.preview = preview
        self.keep = keep  # the staged upload whose kept rows the preview replaces (RosterChanged)


KEPT_ROWS = "rows"  # the checked rows kept beside a staged roster (`roster_keep`)
PREVIEW_ROWS_PER_PAGE = 50


def _render_preview(request, preview, token):
    """The preview page: counts by status, then the rows a page at a time, those with an error,
    a warning or a flag first (those the confirmation found new before them). A 5,000-row
    roster is 100 pages of 50 rows, not one page of 1 MB; a roster with errors is not kept,
    so only its first page is shown."""
    rows = sorted(preview.rows, key=lambda c: (not c.changed, not c.errors, not c.problem))
    number = request.GET.get("page") if token else 1
    page = Paginator(rows, PREVIEW_ROWS_PER_PAGE).get_page(number)
    return render(request, "campaigns/roster_preview.html", {"preview": preview, "token": token, "page": page})


def _kept_preview(upload, units, user):
    """The checked rows kept with a staged roster, for its user now; NotStaged when they are gone
    (purged, or unreadable with the current key)."""
    kept = uploads.load_derived(upload, KEPT_ROWS)
    if kept is None:
        raise uploads.NotStaged(str(upload.token))
    return roster_restore(kept=kept, units=units, logged_by=user)


@liaison_required
def upload_roster(request):
    """Upload → preview every row with its checks (kept with the staged file, paged) → confirm:
    the kept rows are checked again against what can have changed and saved, all or nothing,
    once."""
    units = _units(request)
    token = request.POST.get("token") if request.method == "POST" else request.GET.get("token")
    if token:
        try:
            if request.method == "GET":  # another page of a staged preview
                upload = uploads.peek(kind=StagedUpload.Kind.ROSTER, token=token, owner=request.user).upload
                return _render_preview(request, _kept_preview(upload, list(units), request.user), token)
            with uploads.claim(kind=StagedUpload.Kind.ROSTER, token=token, owner=request.user) as claim:
                preview = _kept_preview(claim.upload, list(units), request.user)
                try:
                    saved = roster_commit(preview=preview)
                except RosterChanged as exc:
                    raise _NotSaved(preview, " ".join(translate(m) for m in exc.messages), keep=claim.upload) from exc
                except ValidationError as exc:
                    raise _NotSaved(preview, " ".join(translate(m) for m in exc.messages)) from exc
                claim.result = {"saved": saved}
        except uploads.AlreadyApplied:
            messages.info(request, _("这份名单已保存，没有重复保存。"))
            return redirect("campaigns:liaison_home")
        except uploads.NotStaged:
            messages.error(request, _("名单已过期或已保存，请重新上传。"))
            return redirect("campaigns:upload_roster")
        except _NotSaved as exc:  # rolled back: the same file can be confirmed again
            if exc.keep is not None:  # what the liaison is shown now is what the next confirmation compares
                uploads.save_derived(exc.keep, KEPT_ROWS, roster_keep(exc.preview))
            messages.error(request, str(exc))
            return _render_preview(request, exc.preview, token)
        messages.success(request, _("已保存名单中的 %(n)d 条献血记录。") % {"n": saved})
        return redirect("campaigns:liaison_home")
    form = RosterUploadForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        preview = roster_preview(
            data=data,
            filename=upload.name,
            units=list(units),
            default_unit=form.cleaned_data["unit"],
            logged_by=request.user,
        )
        token = None
        if preview.ok:  # a file with errors cannot be committed: nothing of it is kept
            staged = uploads.stage(
                kind=StagedUpload.Kind.ROSTER,
                owner=request.user,
                filename=upload.name,
                data=data,
                meta={"unit": form.cleaned_data["unit"].pk},
            )
            uploads.save_derived(staged, KEPT_ROWS, roster_keep(preview))
            token = str(staged.token)
        return _render_preview(request, preview, token)
    return render(request, "campaigns/roster_upload.html", {"form": form})


ROSTER_ROWS = 500  # rows of the template formatted for input (ID as text, date as a date)


@require_safe
@liaison_required
def roster_template(request):
    """An empty roster to fill in: the ID column formatted as text, so Excel keeps all 18
    characters; the example row on a separate 说明和示例 sheet, which the reader skips, so an
    unchanged template imports nobody."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _("献血者名单")
    header = [_(word) for word in TEMPLATE_HEADER]  # the reader knows the English headers too
    sheet.append([_("无偿献血者人员名单")])
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    id_column, date_column = TEMPLATE_HEADER.index("身份证号") + 1, TEMPLATE_HEADER.index("献血日期") + 1
    for row in range(1, ROSTER_ROWS + 3):
        sheet.cell(row=row, column=id_column).number_format = "@"
        if row > 2:
            sheet.cell(row=row, column=date_column).number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A3"
    for column, width in zip("ABCDEFGHIJ", [6, 10, 6, 22, 14, 10, 14, 24, 16, 18], strict=True):
        sheet.column_dimensions[column].width = width

    notes = workbook.create_sheet(_("说明和示例"))  # a name the reader skips, in either language
    notes.append([_("本页只作说明，不会导入。请在“献血者名单”页从第 3 行起填写。")])
    notes.append(
        [_("身份证号列已设为文本：请直接输入 18 位号码，不要改成数字格式，否则 Excel 会把它变成 3.6E+17 之类。")]
    )
    notes.append([_("献血量填毫升数（200/300/400）；单采血小板填治疗量（1 或 2）并在献血类型填“单采血小板”。")])
    notes.append([_("单位列可空：空时为上传时选择的单位。曾献血（本系统外）：此人在本系统外献过血的填“是”。")])
    notes.append([])
    notes.append([_("示例（本行不会导入）：")])
    notes.append(header)
    unit = _units(request).first()
    example = [_("示例"), _("张三"), _("男"), "360426199101010071", "2026-03-15", 400, _("全血"), "", "", ""]
    example[7] = escape_formula(unit.name) if unit else ""
    notes.append(example)
    notes.column_dimensions["A"].width = 12
    notes.column_dimensions["D"].width = 22
    return xlsx_response(workbook, "roster-template.xlsx")

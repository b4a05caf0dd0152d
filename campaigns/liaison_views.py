"""The liaison's pages: log donors singly or as a roster, edit or withdraw, see progress.

Every view takes the liaison's units from the server, never from the request: a donation id
of another unit in a URL or a form gets a 404 and changes nothing.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from units.models import Unit
from units.roles import LIAISON, liaison_units, role_of

from .forms import DonationForm, RosterUploadForm
from .models import Donation, DonationDrive
from .roster import TEMPLATE_HEADER
from .services import donation_log, donation_update, donation_withdraw, roster_commit, roster_preview

SESSION_KEY = "rosters"


def liaison_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if role_of(request.user) != LIAISON:
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
        messages.warning(request, warning)
    for flag in result.flags:
        messages.warning(request, _("已登记，但需献血办复核：") + flag["message"])


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
                form.add_error(field if field in form.fields else None, errors)
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
    if donation.status != Donation.Status.LOGGED:
        messages.error(request, _("已核实或已退回的记录不能再修改。"))
        return redirect("campaigns:liaison_home")
    units = liaison_units(request.user)
    initial = DonationForm.initial_for(donation)
    form = DonationForm(request.POST or None, initial=initial, units=units, drives=_drives_of(units))
    form.fields["id_number"].help_text = _("原号码 %(masked)s：请重新输入完整号码。") % {
        "masked": donation.id_number_masked
    }
    if request.method == "POST" and form.is_valid():
        try:
            result = donation_update(donation=donation, **form.service_fields())[1]
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("已修改。"))
            _show_rule_messages(request, result)
            return redirect("campaigns:liaison_home")
    return render(request, "campaigns/edit_donation.html", {"form": form, "donation": donation})


@liaison_required
@require_POST
def withdraw_donation(request, pk: int):
    donation = get_object_or_404(Donation.objects.for_user(request.user), pk=pk)
    try:
        donation_withdraw(donation=donation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已撤回 %(name)s 的登记。") % {"name": donation.donor_name})
    return redirect("campaigns:liaison_home")


def _staging(token: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "roster-staging" / f"{uuid.UUID(token)}.bin"


@liaison_required
def upload_roster(request):
    """Upload → preview every row with its checks → commit all or nothing."""
    units = _units(request)
    if request.method == "POST" and "token" in request.POST:
        token = request.POST["token"]
        staged = request.session.get(SESSION_KEY, {}).get(token)
        if staged is None:
            messages.error(request, _("名单已过期或已保存，请重新上传。"))
            return redirect("campaigns:upload_roster")
        unit = get_object_or_404(units, pk=staged["unit"])
        preview = roster_preview(
            data=_staging(token).read_bytes(),
            filename=staged["name"],
            units=list(units),
            default_unit=unit,
            logged_by=request.user,
        )
        try:
            saved = roster_commit(preview=preview)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, "campaigns/roster_preview.html", {"preview": preview, "token": token})
        _staging(token).unlink(missing_ok=True)
        del request.session[SESSION_KEY][token]
        request.session.modified = True
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
            token = str(uuid.uuid4())
            _staging(token).parent.mkdir(parents=True, exist_ok=True)
            _staging(token).write_bytes(data)
            request.session.setdefault(SESSION_KEY, {})[token] = {
                "name": upload.name,
                "unit": form.cleaned_data["unit"].pk,
            }
            request.session.modified = True
        return render(request, "campaigns/roster_preview.html", {"preview": preview, "token": token})
    return render(request, "campaigns/roster_upload.html", {"form": form})


@require_safe
@liaison_required
def roster_template(request):
    """An empty roster to fill in, with one example row."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "献血者名单"
    sheet.append(["无偿献血者人员名单"])
    sheet.append(TEMPLATE_HEADER)
    unit = _units(request).first()
    sheet.append(
        [
            1,
            "张三",
            "男",
            "360426199101010071",
            timezone.localdate().isoformat(),
            400,
            "全血",
            unit.name if unit else "",
            "",
        ]
    )
    sheet.append(["注：献血量填毫升数（200/300/400）；单采血小板填治疗量（1 或 2）并在献血类型填“单采血小板”。"])
    for column, width in zip("ABCDEFGHI", [6, 10, 6, 22, 14, 10, 14, 24, 16], strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = "attachment; filename*=UTF-8''roster-template.xlsx"
    return response

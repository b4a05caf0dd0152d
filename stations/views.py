"""Staff pages: import the station's export (preview → confirm), the reconciliation per unit,
one unit's records, and the reconciliation as Excel. Blood-office staff only, inside the
jurisdiction of their staff profile; without one they see nothing and cannot import."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from campaigns.services import record_access
from core import uploads
from core.xlsx import escape_formula, xlsx_response
from units.roles import RECONCILE_STATION

from .forms import StationUploadForm
from .preview import station_preview
from .selectors import reconciliation, staff_jurisdiction, unit_records
from .services import confirm_suggestions, lock_station_imports, rematch, station_apply

# Staged-upload kind and access-log action of this app: plain values in campaigns' and core's
# columns, so neither of those apps needs a migration for them (labels: see the report).
STAGED_KIND = "station"
ACTION_VIEW_RECORDS = "station_view"


def office_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm(RECONCILE_STATION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _year(request) -> int:
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        raise Http404 from None
    if not 2000 <= year <= 2100:
        raise Http404
    return year


@require_safe
@office_required
def overview(request):
    """Per unit: reported, verified, volume differs, reported-but-unseen, station-only."""
    root = staff_jurisdiction(request.user)
    year = _year(request)
    result = reconciliation(root, year) if root else None
    return render(request, "stations/overview.html", {"result": result, "year": year, "root": root})


@require_safe
@office_required
def export(request):
    """The reconciliation as a workbook: counts per unit, no personal data."""
    import openpyxl

    root = staff_jurisdiction(request.user)
    if root is None:
        raise Http404
    year = _year(request)
    result = reconciliation(root, year)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "血站核对"
    sheet.append([escape_formula(f"{root.full_name} {year} 年 献血上报与血站采血记录核对")])
    sheet.append(["单位", "行政区划", "上报", "血站核实", "核实率", "献血量不一致", "未见采血记录", "仅血站有记录"])
    for line in result.lines:
        sheet.append(
            [
                escape_formula(line.unit.name),
                escape_formula(line.unit.jurisdiction.name),
                line.reported,
                line.verified,
                line.verified_share,
                line.volume_differs,
                line.unseen,
                line.station_only,
            ]
        )
    totals = result.totals
    columns = ("reported", "verified", "verified_share", "volume_differs", "unseen", "station_only")
    sheet.append(["合计", "", *(totals[k] for k in columns)])
    sheet.append(["未归属（工作单位与本辖区单位都不符）", "", "", "", "", "", "", result.unattributed])
    for (cell,) in sheet.iter_rows(min_row=3, min_col=5, max_col=5):
        cell.number_format = "0.0%"  # the share as the page shows it
    return xlsx_response(workbook, f"station-reconciliation-{year}.xlsx")


@require_safe
@office_required
def unit_detail(request, pk: int):
    """One unit's station records and its reported-but-unseen donations (masked ID numbers)."""
    root = staff_jurisdiction(request.user)
    if root is None:
        raise Http404
    year = _year(request)
    unit, records, unseen = unit_records(root, pk, year)
    if unit is None:
        raise Http404
    record_access(
        user=request.user,
        action=ACTION_VIEW_RECORDS,
        detail=f"血站采血记录 {unit.name} {year}：{len(records)} 条记录，{len(unseen)} 条未见采血记录",
    )
    context = {"unit": unit, "records": records, "unseen": unseen, "year": year}
    return render(request, "stations/unit.html", context)


class _NotSaved(Exception):
    def __init__(self, preview, message: str):
        super().__init__(message)
        self.preview = preview


def _choices(post) -> dict[str, int]:
    """{workplace text: unit id} for each suggestion staff confirmed (one select per text)."""
    choices = {}
    for workplace, unit in zip(post.getlist("workplace"), post.getlist("unit"), strict=False):
        if unit.isdigit() and workplace.strip():
            choices[workplace] = int(unit)
    return choices


def _day(text):
    return dt.date.fromisoformat(text) if text else None


@office_required
def upload(request):
    """Upload → preview with counts and every error's cell → confirm once, all or nothing."""
    root = staff_jurisdiction(request.user)
    if root is None:
        return render(request, "stations/upload.html", {"form": None})
    today = timezone.localdate()
    if request.method == "POST" and "token" in request.POST:
        token = request.POST["token"]
        try:
            with uploads.claim(kind=STAGED_KIND, token=token, owner=request.user) as claim:
                meta = claim.upload.meta
                # Imports of the tree one at a time, taken before the file is read again: a
                # colleague confirming the same or an overlapping export meanwhile waits, then
                # finds these records already imported (nothing doubled).
                lock_station_imports(root)
                # Suggestions staff confirmed become aliases first (in the same transaction), so
                # the file, read again, attributes their records by alias.
                aliases = confirm_suggestions(jurisdiction=root, choices=_choices(request.POST))
                preview = station_preview(
                    data=claim.data, filename=claim.upload.filename, jurisdiction=root, today=today, suggest=False
                )
                try:
                    done = station_apply(
                        preview=preview,
                        jurisdiction=root,
                        user=request.user,
                        filename=claim.upload.filename,
                        sha256=claim.upload.sha256,
                        first_day=_day(meta.get("first_day")),
                        last_day=_day(meta.get("last_day")),
                    )
                except ValidationError as exc:
                    raise _NotSaved(preview, " ".join(exc.messages)) from exc
                relinked = rematch(jurisdiction=root)
                claim.result = {
                    "export": done.pk,
                    "new": done.new_records,
                    "relinked": relinked,
                    "aliases": aliases,
                }
        except uploads.AlreadyApplied:
            messages.info(request, _("这份文件已导入，没有重复导入。"))
            return redirect("stations:overview")
        except uploads.NotStaged:
            messages.error(request, _("预览已过期或已导入，请重新上传。"))
            return redirect("stations:upload")
        except _NotSaved as exc:
            messages.error(request, str(exc))
            return render(request, "stations/preview.html", {"preview": exc.preview, "token": token})
        messages.success(
            request,
            _("已导入 %(new)d 条新记录，%(already)d 条已导入过。")
            % {"new": done.new_records, "already": done.already_imported},
        )
        if done.updated_records:
            messages.success(
                request, _("%(updated)d 条此前未匹配或未归属的记录已更新。") % {"updated": done.updated_records}
            )
        return redirect("stations:overview")
    form = StationUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        data = upload_file.read()
        preview = station_preview(data=data, filename=upload_file.name, jurisdiction=root, today=today)
        first, last = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
        token = None
        if preview.ok:
            staged = uploads.stage(
                kind=STAGED_KIND,
                owner=request.user,
                filename=upload_file.name,
                data=data,
                meta={"first_day": first.isoformat() if first else "", "last_day": last.isoformat() if last else ""},
            )
            token = str(staged.token)
        context = {"preview": preview, "token": token, "first_day": first, "last_day": last}
        return render(request, "stations/preview.html", context)
    return render(request, "stations/upload.html", {"form": form, "root": root})

"""The liaison's home page: their units' quotas, drives and logged donors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from units.models import Unit
from units.roles import LOG_DONATION

from .extensions import attach_marks
from .models import Donation, DonationDrive
from .selectors import liaison_progress


@require_safe
@login_required
def liaison_home(request):
    """A liaison's units and their quotas with task, completed, remaining and due date."""
    if not request.user.has_perm(LOG_DONATION):
        raise PermissionDenied
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

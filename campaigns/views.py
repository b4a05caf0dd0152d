"""The liaison's home page: their units' quotas, drives and logged donors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from quotas.models import Quota
from units.models import Unit
from units.roles import LIAISON, role_of

from .models import Donation, DonationDrive
from .selectors import quota_progress


def _require(request, *roles: str) -> str:
    role = role_of(request.user)
    if role not in roles:
        raise PermissionDenied
    return role


@require_safe
@login_required
def liaison_home(request):
    """A liaison's units and their quotas with task, completed, remaining and due date."""
    _require(request, LIAISON)
    today = timezone.localdate()
    units = list(Unit.objects.for_user(request.user).select_related("jurisdiction"))
    quotas = list(
        Quota.objects.filter(units__in=units, plan__status__in=["published", "closed"])
        .distinct()
        .select_related("plan", "plan__jurisdiction")
        .prefetch_related("units")
        .order_by("-year", "period_end", "position")
    )
    progress = quota_progress(quotas, today=today)
    drives = list(
        DonationDrive.objects.filter(units__in=units, end_date__gte=today).distinct().order_by("start_date")[:10]
    )
    donations = list(
        Donation.objects.for_user(request.user).select_related("unit").order_by("-donated_on", "-id")[:100]
    )
    return render(
        request,
        "campaigns/liaison_home.html",
        {"units": units, "progress": progress, "today": today, "drives": drives, "donations": donations},
    )

"""The landing page: each role goes to its own home."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from .roles import BLOOD_OFFICE, LEADERSHIP, LIAISON, role_of


@require_safe
@login_required
def home(request):
    role = role_of(request.user)
    if role == BLOOD_OFFICE:
        return redirect("admin:quotas_annualplan_changelist")
    if role == LEADERSHIP:
        return redirect("campaigns:dashboard")
    if role == LIAISON:
        return redirect("campaigns:liaison_home")
    return render(request, "no_role.html", status=403)

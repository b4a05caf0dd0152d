"""The landing page: each role goes to its own home."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from .roles import home_of


@require_safe
@login_required
def home(request):
    home = home_of(request.user)
    if home:
        return redirect(home)
    return render(request, "no_role.html", status=403)

"""Failed-login lockout (django-axes) with its own limit for each thing it counts.

django-axes counts failures per combination of `AXES_LOCKOUT_PARAMETERS` and locks when any
count reaches one limit, `AXES_FAILURE_LIMIT`. The portal counts two things: a user name tried
from one address (5 failures: one person's typos, or a guesser) and everything tried from one
address (`AXES_ADDRESS_FAILURE_LIMIT`, 20: a password sprayed across many user names; higher,
because an office's staff may share one public address). This handler scales each count to
the common limit, so each combination locks at its own.

The address is the client's, from the trusted proxy's `X-Forwarded-For` (django-ipware; see
`AXES_PROXY_COUNT` in config/settings.py and docs/deploy.md), never the proxy's own.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from django.conf import settings
from django.db.models import Sum


class PortalLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        own_limits = settings.AXES_PARAMETER_FAILURE_LIMITS
        worst = 0
        for attempts, own in zip(self.get_user_attempts(request, credentials), own_limits, strict=True):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            # Scaled down, so the count reaches `limit` exactly when `failures` reaches `own`.
            worst = max(worst, failures * limit // own if own else failures)
        return worst

"""Keep the dashboard's figures fresh ahead of its readers.

    python manage.py refresh_figures              # once: every stale plan summary and monthly sum
    python manage.py refresh_figures --every 30   # as a service: again every 30 s

A dashboard view recomputes at most `DASHBOARD_RECOMPUTE_QUOTAS` quotas itself; beyond that it
shows the last kept figures with their time. This command is what makes them current again:
run it every minute from cron or a systemd timer, or as a service with `--every` (docs/deploy.md).
Each pass recomputes, for every year with a published plan, exactly what a national view would
find stale — the plans whose donations, quotas or units changed, the summaries whose date ran
out (every one of them on the first of a month), after a recount everything — and stores it.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from campaigns.dashboard.figures import warm


class Command(BaseCommand):
    help = "Recompute the dashboard's stale kept figures (once, or every --every seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="seconds between passes; 0: one pass")

    def handle(self, *args, every: float, **options):
        while True:
            started = time.perf_counter()
            years = warm(today=timezone.localdate())
            took = time.perf_counter() - started
            if options["verbosity"] > 1 or not every:
                self.stdout.write(f"refreshed {', '.join(map(str, years)) or 'nothing'} in {took:.2f} s")
            if not every:
                return
            time.sleep(max(0.0, every - took))
            close_old_connections()  # a long-running service: a connection past its age or broken is renewed

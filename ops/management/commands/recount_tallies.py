"""Check or rebuild the donation tally the dashboard reads.

python manage.py recount_tallies --check   # exit 1 and list differences if any
python manage.py recount_tallies           # rebuild from the donations, then warm the dashboard
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns import tally
from campaigns.dashboard import figures as dashboard


class Command(BaseCommand):
    help = "Compare the donation tally with the donations (--check), or rebuild it."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
        parser.add_argument(
            "--no-warm",
            action="store_true",
            help="leave the dashboard's summaries for the first reader to compute (the recount invalidates them)",
        )

    def handle(self, *args, check: bool = False, no_warm: bool = False, **options):
        if check:
            wrong = tally.mismatches()
            for unit_id, day, counted, tallied in wrong:
                self.stdout.write(f"unit {unit_id} {day}: {counted} donations counted, tally says {tallied}")
            if wrong:
                raise CommandError("The tally differs from the donations; run recount_tallies to rebuild it.")
            self.stdout.write("The tally matches the donations.")
            return
        tally.recount()
        self.stdout.write(self.style.SUCCESS("Tally rebuilt from the donations."))
        if no_warm:
            return
        started = time.perf_counter()
        years = dashboard.warm(today=timezone.localdate())
        self.stdout.write(
            f"Dashboard summaries recomputed for {', '.join(map(str, years)) or 'no year'} "
            f"in {time.perf_counter() - started:.1f} s."
        )

"""Check or rebuild the donation tally the dashboard reads.

python manage.py recount_tallies --check   # exit 1 and list differences if any
python manage.py recount_tallies           # rebuild from the donations
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from campaigns import tally


class Command(BaseCommand):
    help = "Compare the donation tally with the donations (--check), or rebuild it."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")

    def handle(self, *args, check: bool = False, **options):
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

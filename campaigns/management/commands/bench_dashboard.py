"""Measure the dashboard's server time against its raw-SQL floor, and the cost of the tally
bookkeeping on logging a donation. Run it on the data of `generate_scale_data` (PostgreSQL):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_scale python manage.py bench_dashboard

For a county, a city and the whole country it times, `--runs` times each (medians reported):

- page: the whole GET /dashboard/ request through Django (session, queries, template), with
  every plan's quota summary kept from the previous view (campaigns/progress.py);
- busy: the same page right after `--busy` donations were logged across random units (one
  second of the 200/s liaison goal: the plans they touch are recomputed);
- tomorrow: the same page viewed as on the next day (the date moved: plans whose statuses
  change that day are recomputed; the others' summaries hold until their `valid_until`);
- edit: the same page right after a staff edit of one quota's target in a random plan of the
  scope (the edit marks that plan);
- cold: the same page with every kept summary invalidated (after a recount of the tally: every
  plan recomputed);
- figures: `campaigns.dashboard.dashboard_figures` alone;
- floor: the raw SQL that yields the same numbers straight from the donations, with no tally and
  no Python: completed per jurisdiction and month (headline, chart, drill-down lines) and each
  unit quota's credited and on-time donations (statuses, lists, unit table), rows fetched.

Then it logs `--inserts` donations with the tally triggers on and `--inserts` with them off, each
as `campaigns.services.donation_save` writes it (the donation and its history row, in a
savepoint), the two modes alternating in blocks of 30 (each block a transaction rolled back), and
reports both medians.
"""

# ruff: noqa: S608 -- SQL from constant table names; values are parameters.
from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from campaigns import tally
from campaigns.dashboard import _UNIT_QUOTAS_SQL, dashboard_figures
from campaigns.identity import check_character
from campaigns.models import Donation
from campaigns.progress import invalidate_all
from campaigns.services import build_donation, donation_save
from quotas.models import Quota
from units.models import Jurisdiction, Unit

FLOOR_MONTHLY = """
SELECT u.jurisdiction_id, EXTRACT(MONTH FROM d.donated_on), COUNT(*), SUM(d.blood_units)
FROM campaigns_donation d
JOIN units_unit u ON u.id = d.unit_id
JOIN units_jurisdiction j ON j.id = u.jurisdiction_id
WHERE d.status <> 'rejected' AND d.donated_on BETWEEN %(year_start)s AND %(year_end)s AND j.path LIKE %(prefix)s
GROUP BY 1, 2
"""
# The unit-quota query of the dashboard, reading the donations instead of the tally.
FLOOR_QUOTAS = _UNIT_QUOTAS_SQL.replace(
    "{plans}",
    "p.id IN (SELECT p2.id FROM quotas_annualplan p2 JOIN units_jurisdiction j2 ON j2.id = p2.jurisdiction_id"
    " WHERE p2.year = %(year)s AND p2.status <> 'draft' AND j2.path LIKE %(prefix)s)",
).replace(
    "JOIN campaigns_donationtally t ON t.unit_id = d.donor AND t.day >= %(year_start)s AND t.day <= %(year_end)s",
    "JOIN (SELECT unit_id, donated_on AS day, 1 AS persons, blood_units FROM campaigns_donation"
    " WHERE status <> 'rejected' AND donated_on >= %(year_start)s AND donated_on <= %(year_end)s) t"
    " ON t.unit_id = d.donor",
)

BLOCK = 30  # inserts per block; the modes alternate block by block


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Command(BaseCommand):
    help = "Benchmark the dashboard (county, city, country) against its raw-SQL floor, on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=7)
        parser.add_argument("--inserts", type=int, default=300)
        parser.add_argument("--year", type=int, default=None)
        parser.add_argument("--busy", type=int, default=200, help="donations logged before the 'busy' view")

    def handle(self, *args, runs: int, inserts: int, year: int | None, busy: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_dashboard measures PostgreSQL (set DATABASE_URL).")
        today = timezone.localdate()
        year = year or today.year
        county = Jurisdiction.objects.filter(level=3, children__isnull=False).order_by("pk").first()
        city = Jurisdiction.objects.filter(level=2, children__isnull=False).order_by("pk").first()
        if not county or not city:
            raise CommandError("No data: run generate_scale_data first.")
        user, _ = get_user_model().objects.get_or_create(
            username="bench-dashboard", defaults={"is_superuser": True, "is_staff": True}
        )
        client = Client(SERVER_NAME="localhost")
        client.force_login(user)
        counts = {
            "units": Unit.objects.count(),
            "jurisdictions": Jurisdiction.objects.count(),
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'campaigns_donation'")
            counts["donations (estimate)"] = cursor.fetchone()[0]
        self.stdout.write(", ".join(f"{k}: {v:,}" for k, v in counts.items()) + f"; year {year}, {runs} runs each")
        self.stdout.write(
            f"{'scope':<28}{'page ms':>10}{'busy ms':>10}{'tomorrow':>10}{'edit ms':>10}{'cold ms':>10}"
            f"{'figures ms':>12}{'floor ms':>10}{'page/floor':>12}{'busy/floor':>12}{'cold/floor':>12}"
        )
        tomorrow = today + dt.timedelta(days=1)
        rng = random.Random(2026)
        for label, jurisdiction in (
            (f"county {county.name}", county),
            (f"city {city.name}", city),
            ("whole country", None),
        ):
            url = f"/dashboard/?year={year}&j={jurisdiction.pk if jurisdiction else 'all'}"
            page, busy_page, next_day, edited, cold, figures, floor = [], [], [], [], [], [], []
            quotas = list(
                Quota.objects.filter(
                    plan__year=year,
                    sub_jurisdiction__isnull=True,
                    plan__jurisdiction__path__startswith=jurisdiction.path if jurisdiction else "/",
                ).values_list("pk", flat=True)
            )
            response = client.get(url)  # warm: connection, templates, statistics
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
            for _ in range(runs):
                t = time.perf_counter()
                client.get(url)
                page.append(time.perf_counter() - t)
                busy_page.append(self._after(lambda: self._log_donations(busy, today), client, url))
                with mock.patch("django.utils.timezone.localdate", return_value=tomorrow):
                    next_day.append(self._after(lambda: None, client, url))
                chosen = rng.choice(quotas)
                edited.append(self._after(lambda pk=chosen: self._edit_quota(pk), client, url))
                cold.append(self._after(invalidate_all, client, url))
                t = time.perf_counter()
                dashboard_figures(jurisdiction=jurisdiction, year=year, today=today)
                figures.append(time.perf_counter() - t)
                t = time.perf_counter()
                self._floor(jurisdiction, year)
                floor.append(time.perf_counter() - t)
            p, b, c = _median_ms(page), _median_ms(busy_page), _median_ms(cold)
            n, e = _median_ms(next_day), _median_ms(edited)
            f, fl = _median_ms(figures), _median_ms(floor)
            self.stdout.write(
                f"{label:<28}{p:>10.0f}{b:>10.0f}{n:>10.0f}{e:>10.0f}{c:>10.0f}{f:>12.0f}{fl:>10.0f}"
                f"{p / fl:>12.2f}{b / fl:>12.2f}{c / fl:>12.2f}"
            )
        self._stale_tomorrow(year, today, tomorrow)
        if inserts:
            on, off = self._inserts(county, inserts)
            self.stdout.write(
                f"log one donation (median of {inserts}): with tally triggers {on:.2f} ms, "
                f"without {off:.2f} ms, ratio {on / off:.2f}"
            )

    def _after(self, change, client, url: str) -> float:
        """Seconds for the page right after `change()`, all in a transaction rolled back after."""

        class Rollback(Exception):
            pass

        try:
            with transaction.atomic():
                change()
                t = time.perf_counter()
                client.get(url)
                elapsed = time.perf_counter() - t
                raise Rollback
        except Rollback:
            return elapsed

    def _edit_quota(self, pk: int) -> None:
        """A staff edit: one quota's target raised by one (saved as the admin saves it)."""
        quota = Quota.objects.get(pk=pk)
        quota.target += 1
        quota.save()

    def _stale_tomorrow(self, year: int, today: dt.date, tomorrow: dt.date) -> None:
        """How many of the year's kept plan summaries the next day's first view recomputes."""
        from campaigns.models import PlanProgress

        kept = PlanProgress.objects.filter(plan__year=year, as_of__lte=today, valid_until__gt=today)
        self.stdout.write(
            f"kept plan summaries valid today: {kept.count():,}; of them recomputed on {tomorrow}: "
            f"{kept.filter(valid_until__lte=tomorrow).count():,}"
        )

    def _log_donations(self, n: int, today: dt.date) -> None:
        """n donations today by random units: copies of random earlier donations (the
        triggers keep the tally and mark the plans as for any donation)."""
        columns = [
            f.column
            for f in Donation._meta.concrete_fields
            if f.column not in ("id", "donated_on", "logged_at", "status")
        ]
        listed = ", ".join(columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO campaigns_donation ({listed}, donated_on, logged_at, status)
                    SELECT {listed}, %s, now(), 'logged' FROM campaigns_donation
                    WHERE id IN (SELECT (random() * (SELECT max(id) FROM campaigns_donation))::int
                                 FROM generate_series(1, %s))
                    ON CONFLICT DO NOTHING""",
                [today, n],
            )

    def _floor(self, jurisdiction, year: int) -> None:
        params = {
            "year": year,
            "prefix": (jurisdiction.path if jurisdiction else "/") + "%",
            "year_start": dt.date(year, 1, 1),
            "year_end": dt.date(year, 12, 31),
        }
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_MONTHLY, params)
            cursor.fetchall()
            cursor.execute(FLOOR_QUOTAS, params)
            cursor.fetchall()

    def _inserts(self, county, n: int) -> tuple[float, float]:
        """Median ms to insert one donation (a savepoint each) with the triggers and without.

        The two modes alternate in blocks of BLOCK (ABBA order), each block in its own rolled
        back transaction, so neither mode gets the warmer cache or the quieter minute: run one
        after the other, the first mode read the indexes from disk for both (6.06 vs 1.82 ms once,
        2.04× another time). The first block of each mode is not counted.
        """
        unit = Unit.objects.filter(jurisdiction=county).order_by("pk").first()
        day = timezone.localdate() - dt.timedelta(days=1)
        samples: dict[bool, list[float]] = {True: [], False: []}
        rounds = max(1, -(-n // BLOCK))  # blocks per mode, counted
        serial = iter(range(10**6))
        for round_ in range(rounds + 1):
            for triggers in (True, False) if round_ % 2 == 0 else (False, True):
                took = self._insert_block(unit, day, triggers, serial)
                if round_:
                    samples[triggers].extend(took)
        return _median_ms(samples[True]), _median_ms(samples[False])

    def _insert_block(self, unit, day: dt.date, triggers: bool, serial) -> list[float]:
        class Rollback(Exception):
            pass

        samples = []
        try:
            with transaction.atomic():
                if not triggers:
                    tally.switch_triggers(enabled=False)  # rolled back with the block
                for _ in range(BLOCK):
                    i = next(serial)
                    first17 = f"990000{dt.date(1990, 1, 1) + dt.timedelta(days=i % 9000):%Y%m%d}{i % 1000:03d}"
                    donation = build_donation(
                        unit=unit, donor_name="测试", id_number=first17 + check_character(first17), donated_on=day
                    )
                    t = time.perf_counter()
                    donation_save(donation)  # as the liaison's form and the admin write it
                    samples.append(time.perf_counter() - t)
                raise Rollback
        except Rollback:
            pass
        return samples

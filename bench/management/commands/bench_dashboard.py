"""Measure the dashboard as leaders meet it, against floors over the same tables, on the data of
`generate_scale_data` (PostgreSQL):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_scale python manage.py bench_dashboard

For the county and the city with the most units (the scale data is uneven; `--size median`: the
median ones) and the whole country, `--runs` times each (medians reported), the whole GET
/dashboard/ request through Django with the production refresh budget
(`DASHBOARD_RECOMPUTE_QUOTAS`), in these moments:

- kept: nothing changed since the last view;
- after N (each of `--activity`, default 2,000 and 12,000): N donations were logged across
  random units since the last view (10 s and one minute of a 200/s drive peak); also the time
  `refresh_figures` then takes to bring every figure up to date ("refresh"), and what an exact
  view would have cost ("exact": the reader recomputing everything itself, as before the budget);
- month start: the first view on the first of next month (every kept summary ran out), and its
  refresh;
- cold: after a recount of the tally (everything invalidated), and its refresh;
- verified basis: the page counting only station-verified donations (`?basis=verified`, computed
  afresh: nothing is kept for that basis), with nine in ten of the subtree's donations of the
  year marked verified (not for the whole country);
- readers: `--readers` leaders opening the page at the same moment right after an
  invalidation (each in its own process and database connection), timed from that moment;
  `--reader-rounds` times, alternating the page computed by every reader and shared by the
  readers who arrive together (`core.shared`, `DASHBOARD_SHARED_LEVEL`).

Changes are made in a transaction rolled back after each measurement (the readers' case
commits an invalidation and refreshes after it). Floors, each fetched and decoded by Python:

- floor: the same tables the page reads — the reader's session and permissions, the
  jurisdiction's ancestors, what its parent allocated to it (上级下达) and its latest bulletins,
  the subtree, its plans, their kept summaries, the jurisdictions' kept monthly sums and kept
  verified counts, and for the page's own plan the statements its unit table needs (quotas,
  their tallied sums, their station-verified sums, their labels and member units); its
  completed total is checked against the page's;
- donations floor: the same figures straight from the donations (no tally, nothing kept).

Then it logs `--inserts` donations with the tally triggers on and `--inserts` with them off, each
as `campaigns.services.donation_save` writes it, the two modes alternating in blocks of 30 (each
block a transaction rolled back), and reports both medians.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
import statistics
import threading
import time
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.test import Client, override_settings
from django.utils import timezone

from bench.scale import SIZES, pick
from campaigns import tally
from campaigns.dashboard.figures import dashboard_figures, warm
from campaigns.dashboard.kept import invalidate_all
from campaigns.donors.identity import check_character
from campaigns.models import Donation
from campaigns.selectors import (
    _DONOR_SUMS_SQL,
    _DONOR_SUMS_TEMPLATE,
    _SELECTED,
    _SOURCE,
    _SOURCES,
    _TERMS_SQL,
    VERIFIED,
)
from campaigns.services import donation_build, donation_save
from units.models import Jurisdiction, Unit

TREE = "SELECT id, name, level, path FROM units_jurisdiction WHERE path LIKE %(prefix)s"
PLANS = """SELECT p.id, p.jurisdiction_id FROM quotas_annualplan p JOIN units_jurisdiction j ON j.id = p.jurisdiction_id
           WHERE p.year = %(year)s AND p.status <> 'draft' AND j.path LIKE %(prefix)s"""
KEPT_SUMMARIES = """SELECT k.plan_id, k.summary FROM campaigns_planprogress k
                    JOIN quotas_annualplan p ON p.id = k.plan_id JOIN units_jurisdiction j ON j.id = p.jurisdiction_id
                    WHERE p.year = %(year)s AND p.status <> 'draft' AND j.path LIKE %(prefix)s"""
KEPT_MONTHS = """SELECT k.jurisdiction_id, k.months FROM campaigns_jurisdictionprogress k
                 JOIN units_jurisdiction j ON j.id = k.jurisdiction_id
                 WHERE k.year = %(year)s AND j.path LIKE %(prefix)s"""
FLOOR_MONTHLY = """
SELECT u.jurisdiction_id, EXTRACT(MONTH FROM d.donated_on), COUNT(*), SUM(d.blood_units)
FROM campaigns_donation d
JOIN units_unit u ON u.id = d.unit_id
JOIN units_jurisdiction j ON j.id = u.jurisdiction_id
WHERE d.status <> 'rejected' AND d.donated_on BETWEEN %(year_start)s AND %(year_end)s AND j.path LIKE %(prefix)s
GROUP BY 1, 2
"""
# The page's own statements for a plan's quotas, for the plans asked; from the donations instead
# of the tally for the donations floor.
_IN_PLANS = "q.plan_id = ANY(%(plans)s)"
QUOTA_TERMS = _TERMS_SQL.replace(_SELECTED, _IN_PLANS)
QUOTA_SUMS = _DONOR_SUMS_SQL.replace(_SELECTED, _IN_PLANS)
QUOTA_SUMS_FROM_DONATIONS = QUOTA_SUMS.replace(
    "JOIN campaigns_donationtally t ON t.unit_id = d.donor",
    "JOIN (SELECT unit_id, donated_on AS day, 1 AS persons, blood_units FROM campaigns_donation"
    " WHERE status <> 'rejected') t ON t.unit_id = d.donor",
)
assert QUOTA_SUMS_FROM_DONATIONS != QUOTA_SUMS

# The unit table's station-verified column: the own plan's quotas counted over the verified
# donations (the page's statement for that basis), and the kept verified counts per jurisdiction.
QUOTA_VERIFIED_SUMS = _DONOR_SUMS_TEMPLATE.replace(_SOURCE, _SOURCES[VERIFIED]).replace(_SELECTED, _IN_PLANS)
VERIFIED_TALLY = """SELECT t.jurisdiction_id, t.persons FROM campaigns_verifiedtally t
                    JOIN units_jurisdiction j ON j.id = t.jurisdiction_id
                    WHERE t.year = %(year)s AND j.path LIKE %(prefix)s AND t.persons <> 0"""
# What the unit table prints beside the figures: each quota's label, period and number, and its
# member units' names and categories.
QUOTA_LABELS = """SELECT q.id, q.label, q.period_text, q.seq FROM quotas_quota q
                  WHERE q.plan_id = ANY(%(plans)s) AND q.sub_jurisdiction_id IS NULL"""
QUOTA_MEMBERS = """SELECT qu.quota_id, u.name, u.category FROM quotas_quota_units qu
                   JOIN units_unit u ON u.id = qu.unit_id JOIN quotas_quota q ON q.id = qu.quota_id
                   WHERE q.plan_id = ANY(%(plans)s)"""

# What serving the page reads besides its figures: the reader's session, the reader with their
# permissions (the portal's backend reads both in one statement), the jurisdiction's ancestors
# (the breadcrumbs) and its latest bulletins.
SESSION = "SELECT session_data FROM django_session WHERE session_key = %(session)s AND expire_date > now()"
READER = """SELECT u.*, (SELECT string_agg(ct.app_label || '.' || p.codename, ',')
                         FROM auth_user_groups ug JOIN auth_group_permissions gp ON gp.group_id = ug.group_id
                         JOIN auth_permission p ON p.id = gp.permission_id
                         JOIN django_content_type ct ON ct.id = p.content_type_id WHERE ug.user_id = u.id)
            FROM auth_user u WHERE u.id = %(reader)s"""
ANCESTORS = """WITH RECURSIVE up (id, depth) AS (
                   SELECT id, 0 FROM units_jurisdiction WHERE id = %(jurisdiction)s
                   UNION ALL
                   SELECT j.parent_id, up.depth + 1 FROM units_jurisdiction j JOIN up ON j.id = up.id
                   WHERE j.parent_id IS NOT NULL)
               SELECT j.* FROM up JOIN units_jurisdiction j ON j.id = up.id ORDER BY up.depth"""
# 上级下达 on a jurisdiction's own page: what its parent's plan of the year allocated to it.
FROM_ABOVE = """SELECT SUM(q.target) FROM quotas_quota q JOIN quotas_annualplan p ON p.id = q.plan_id
                WHERE p.jurisdiction_id = %(parent)s AND p.year = %(year)s AND q.sub_jurisdiction_id = %(jurisdiction)s
                AND NOT q.advisory AND p.status <> 'draft'"""
BULLETINS = """SELECT * FROM campaigns_bulletin WHERE jurisdiction_id = %(jurisdiction)s AND year = %(year)s
               ORDER BY created_at DESC, id DESC LIMIT 10"""

MOMENTS = ("month-start", "cold", "verified")
BLOCK = 30  # inserts per block; the modes alternate block by block


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Command(BaseCommand):
    help = "Benchmark the dashboard (county, city, country) in the moments leaders meet it, on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--inserts", type=int, default=300)
        parser.add_argument("--year", type=int, default=None)
        parser.add_argument("--activity", type=int, nargs="*", default=[2000, 12000])
        parser.add_argument("--readers", type=int, default=6, help="leaders at once after an invalidation; 0: none")
        parser.add_argument(
            "--reader-rounds",
            type=int,
            default=1,
            help="rounds of the readers' case, each with the page shared and not (alternating)",
        )
        parser.add_argument("--scopes", nargs="*", default=["county", "city", "country"])
        parser.add_argument("--size", choices=SIZES, default="largest", help="which county and city")
        parser.add_argument(
            "--moments",
            nargs="*",
            default=list(MOMENTS),
            choices=MOMENTS,
            help="which moments besides kept and the floors (default: all; the refreshes take minutes)",
        )

    def handle(
        self, *args, runs: int, inserts: int, year: int | None, activity: list[int], readers: int, scopes, moments, **o
    ):
        self.moments = set(moments)
        self.reader_rounds = o["reader_rounds"]
        if connection.vendor != "postgresql":
            raise CommandError("bench_dashboard measures PostgreSQL (set DATABASE_URL).")
        self.today = timezone.localdate()
        self.year = year or self.today.year
        size = o["size"]
        (county, county_units), (city, city_units) = pick(3, self.year, size), pick(2, self.year, size)
        if county is None or city is None:
            raise CommandError("No data: run generate_scale_data first.")
        self.user, _ = get_user_model().objects.get_or_create(
            username="bench-dashboard", defaults={"is_superuser": True, "is_staff": True}
        )
        self.client = self._client()
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'campaigns_donation'")
            donations = cursor.fetchone()[0]
        self.stdout.write(
            f"units {Unit.objects.count():,}, jurisdictions {Jurisdiction.objects.count():,}, donations ~{donations:,};"
            f" year {self.year}, today {self.today}, budget {settings.DASHBOARD_RECOMPUTE_QUOTAS:,} quotas,"
            f" {runs} runs each (median ms; [min-max])"
        )
        warm(today=self.today)
        self.rng = random.Random(2026)
        for key, label, jurisdiction in (
            ("county", f"county {county.name} ({county_units:,} units, the {size})", county),
            ("city", f"city {city.name} ({city_units:,} units, the {size})", city),
            ("country", "whole country", None),
        ):
            if key in scopes:
                self._scope(label, jurisdiction, runs, activity, readers)
        if inserts:
            on, off = self._inserts(county, inserts)
            self.stdout.write(
                f"log one donation (median of {inserts}): with tally triggers {on:.2f} ms, "
                f"without {off:.2f} ms, ratio {on / off:.2f}"
            )

    def _client(self) -> Client:
        client = Client(SERVER_NAME="localhost")
        client.force_login(self.user)
        return client

    def _scope(self, label: str, jurisdiction, runs: int, activity: list[int], readers: int) -> None:
        url = f"/dashboard/?year={self.year}&j={jurisdiction.pk if jurisdiction else 'all'}"
        response = self.client.get(url)  # warm: connection, templates, statistics
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        rows: dict[str, list[float]] = {}
        behind: dict[str, int] = {}

        def record(name: str, seconds: float, page_behind: bool | None = None) -> None:
            rows.setdefault(name, []).append(seconds)
            if page_behind:
                behind[name] = behind.get(name, 0) + 1

        first_of_next_month = (self.today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        for _ in range(runs):
            record("kept", *self._page(url))
            for n in activity:
                self._rolled_back(lambda n=n: self._activity(n, url, record, jurisdiction))
            if "month-start" in self.moments:
                with mock.patch("django.utils.timezone.localdate", return_value=first_of_next_month):
                    self._rolled_back(lambda: self._moment("month start", url, record, first_of_next_month))
            if "cold" in self.moments:
                self._rolled_back(lambda: (invalidate_all(), self._moment("cold", url, record, self.today)))
            if "verified" in self.moments:
                self._rolled_back(lambda: self._verified(url, record, jurisdiction))
            floor, completed = self._floor(jurisdiction)
            page = dashboard_figures(jurisdiction=jurisdiction, year=self.year, today=self.today)
            if completed != page["headline"]["completed"]:
                raise CommandError(f"floor counts {completed}, the page {page['headline']['completed']}")
            record("floor", floor)
            record("donations floor", self._donations_floor(jurisdiction))
        waits: dict[str, list[float]] = {}
        for i in range(self.reader_rounds if readers else 0):
            # Alternating: each reader computing the page, then sharing one computation (core.shared).
            for shared_level in (0, 1) if i % 2 == 0 else (1, 0):
                name = f"{readers} readers, {'shared' if shared_level else 'each computes'}"
                with override_settings(DASHBOARD_SHARED_LEVEL=shared_level):
                    samples, shown_behind = self._readers(url, readers)
                waits.setdefault(name, []).extend(samples)
                behind[name] = behind.get(name, 0) + shown_behind
        floor = statistics.median(rows["floor"])
        self.stdout.write(f"\n{label}: floor {floor * 1000:.0f} ms (same tables as the page)")
        self.stdout.write(f"  {'moment':<22}{'median ms':>10}{'range':>16}{'÷ floor':>9}  shown behind")
        for name, samples in [*rows.items(), *waits.items()]:
            med = statistics.median(samples)
            spread = f"[{min(samples) * 1000:.0f}-{max(samples) * 1000:.0f}]"
            note = f"{behind.get(name, 0)} of {len(samples)}" if not name.startswith(("floor", "donations")) else ""
            self.stdout.write(f"  {name:<22}{med * 1000:>10.0f}{spread:>16}{med / floor:>9.2f}  {note}")

    def _page(self, url: str, client: Client | None = None) -> tuple[float, bool]:
        t = time.perf_counter()
        response = (client or self.client).get(url)
        took = time.perf_counter() - t
        return took, "后台正在更新".encode() in response.content

    def _rolled_back(self, work) -> None:
        class Rollback(Exception):
            pass

        try:
            with transaction.atomic():
                work()
                raise Rollback
        except Rollback:
            pass

    def _activity(self, n: int, url: str, record, jurisdiction) -> None:
        self._log_donations(n)
        sid = transaction.savepoint()  # what an exact view would cost the reader, undone before the page
        t = time.perf_counter()
        dashboard_figures(jurisdiction=jurisdiction, year=self.year, today=self.today)
        record(f"  exact after {n:,}", time.perf_counter() - t)
        transaction.savepoint_rollback(sid)
        record(f"after {n:,}", *self._page(url))
        t = time.perf_counter()
        warm(today=self.today)
        record(f"  refresh after {n:,}", time.perf_counter() - t)

    def _verified(self, url: str, record, jurisdiction) -> None:
        """Leadership counting only the station-verified donations (?basis=verified): nine in ten
        of the subtree's donations of the year marked verified, as a station's apply marks them
        (not for the whole country: nothing is marked there, and the page still reads every
        candidate donation), then the page on that basis — every plan and jurisdiction computed
        afresh, nothing kept for it — and its headline checked against the kept verified counts.
        Rolled back after."""
        if jurisdiction is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    """UPDATE campaigns_donation d SET station_verified = true FROM units_unit u
                       JOIN units_jurisdiction j ON j.id = u.jurisdiction_id
                       WHERE u.id = d.unit_id AND j.path LIKE %s AND d.donated_on BETWEEN %s AND %s
                       AND d.id %% 10 <> 0""",
                    [jurisdiction.path + "%", dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)],
                )
        record("verified basis", *self._page(url + "&basis=verified"))
        figures = dashboard_figures(jurisdiction=jurisdiction, year=self.year, today=self.today, basis="verified")
        head = figures["headline"]
        if head["completed"] != head["verified"]:
            raise CommandError(f"the verified basis counts {head['completed']}, the kept counts {head['verified']}")

    def _moment(self, name: str, url: str, record, today: dt.date) -> None:
        record(name, *self._page(url))
        t = time.perf_counter()
        warm(today=today)
        record(f"  refresh ({name})", time.perf_counter() - t)

    def _readers(self, url: str, n: int) -> tuple[list[float], int]:
        """n leaders open the page at the same moment right after an invalidation, each in its
        own process (as gunicorn's workers are: threads would share one interpreter lock) and
        database connection; each waits from that moment. Returns the waits and how many pages
        showed figures as behind. The invalidation is committed, and refreshed after."""
        fork = multiprocessing.get_context("fork")
        ready, go = fork.Barrier(n + 1), fork.Barrier(n + 1)
        due, results = fork.Value("d", 0.0), fork.Queue()

        def reader() -> None:
            try:
                client = self._client()  # its own connection, opened after the fork
                client.get(url)  # signed in, templates loaded
                ready.wait(timeout=120)
                go.wait(timeout=120)
                response = client.get(url)
                if response.status_code != 200:  # a failed page is not a fast one
                    raise CommandError(f"{url} answered {response.status_code}")
                results.put((time.time() - due.value, "后台正在更新".encode() in response.content))
            except Exception as exc:  # reported, never a parent waiting forever
                results.put(exc.__class__.__name__ + ": " + str(exc))
                ready.abort()
            finally:
                connections.close_all()

        connections.close_all()  # no connection may be shared across the fork
        workers = [fork.Process(target=reader) for _ in range(n)]
        for worker in workers:
            worker.start()
        try:
            ready.wait(timeout=300)
        except threading.BrokenBarrierError as exc:
            raise CommandError(f"a reader failed before the start: {results.get(timeout=10)}") from exc
        invalidate_all()
        due.value = time.time()
        go.wait(timeout=300)
        answers = [results.get(timeout=600) for _ in workers]
        if failed := [a for a in answers if isinstance(a, str)]:
            raise CommandError(f"readers failed: {failed}")
        for worker in workers:
            worker.join()
        warm(today=self.today)
        return [wait for wait, _ in answers], sum(shown for _, shown in answers)

    def _log_donations(self, n: int) -> None:
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
                    ON CONFLICT DO NOTHING""",  # noqa: S608
                [self.today, n],
            )

    def _params(self, jurisdiction) -> dict:
        return {
            "year": self.year,
            "prefix": (jurisdiction.path if jurisdiction else "/") + "%",
            "year_start": dt.date(self.year, 1, 1),
            "year_end": dt.date(self.year, 12, 31),
        }

    def _floor(self, jurisdiction) -> tuple[float, int]:
        """Seconds to fetch and decode what the page reads; and the completed total it gives."""
        params = self._params(jurisdiction) | {
            "session": self.client.session.session_key,
            "reader": self.user.pk,
            "jurisdiction": jurisdiction.pk if jurisdiction else None,
        }
        t = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(SESSION, params)
            cursor.fetchall()
            cursor.execute(READER, params)
            cursor.fetchall()
            if jurisdiction is not None:
                cursor.execute(ANCESTORS, params)
                cursor.fetchall()
                if jurisdiction.parent_id is not None:
                    cursor.execute(FROM_ABOVE, params | {"parent": jurisdiction.parent_id})
                    cursor.fetchall()
            bulletins = BULLETINS if jurisdiction is not None else BULLETINS.replace("= %(jurisdiction)s", "IS NULL")
            cursor.execute(bulletins, params)
            cursor.fetchall()
            cursor.execute(TREE, params)
            cursor.fetchall()
            cursor.execute(PLANS, params)
            plans = cursor.fetchall()
            cursor.execute(KEPT_SUMMARIES, params)
            [json.loads(s) if isinstance(s, str) else s for _, s in cursor.fetchall()]
            cursor.execute(KEPT_MONTHS, params)
            months = [json.loads(m) if isinstance(m, str) else m for _, m in cursor.fetchall()]
            cursor.execute(VERIFIED_TALLY, params)
            cursor.fetchall()
            own = [pk for pk, jid in plans if jurisdiction is not None and jid == jurisdiction.pk]
            if own:
                for statement in (QUOTA_TERMS, QUOTA_SUMS, QUOTA_VERIFIED_SUMS, QUOTA_LABELS, QUOTA_MEMBERS):
                    cursor.execute(statement, params | {"plans": own})
                    cursor.fetchall()
        took = time.perf_counter() - t
        return took, sum(persons for kept in months for persons, _ in kept)

    def _donations_floor(self, jurisdiction) -> float:
        """Seconds to fetch the same figures from the donations: monthly sums and every plan's quotas."""
        params = self._params(jurisdiction)
        t = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(TREE, params)
            cursor.fetchall()
            cursor.execute(PLANS, params)
            plans = [pk for pk, _ in cursor.fetchall()]
            cursor.execute(FLOOR_MONTHLY, params)
            cursor.fetchall()
            cursor.execute(QUOTA_TERMS, params | {"plans": plans})
            cursor.fetchall()
            cursor.execute(QUOTA_SUMS_FROM_DONATIONS, params | {"plans": plans})
            cursor.fetchall()
        return time.perf_counter() - t

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
                    donation = donation_build(
                        unit=unit, donor_name="测试", id_number=first17 + check_character(first17), donated_on=day
                    )
                    t = time.perf_counter()
                    donation_save(donation)  # as the liaison's form and the admin write it
                    samples.append(time.perf_counter() - t)
                raise Rollback
        except Rollback:
            pass
        return samples

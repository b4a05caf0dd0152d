"""Build a synthetic national-scale data set on PostgreSQL for the dashboard benchmark.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_scale \\
        python manage.py generate_scale_data [--donations 10000000] [--units 100000]

Default size: 3,000 jurisdictions in 4 levels (31 provinces, 300 cities, 1,000 counties, 1,669
towns), 100,000 units, a published plan for every jurisdiction and year (each jurisdiction's
quota in its parent's plan), 3 years (the current one and the two before), and 10 million
donations by a pool of one million synthetic donors whose ID numbers are valid, encrypted and
hashed as the portal stores them. Each unit gives on a few drive days, as units do; nobody
donates in the future. The tally is rebuilt from the donations at the end (triggers are off
during the load).

Uneven, as real offices are (`skewed`: a few large, many small):
- units per jurisdiction: every jurisdiction has one, the rest fall on a few large ones (on
  the default size 8 to ~1,800 units a jurisdiction, median 25);
- donations per unit: each donor gives with one unit, and donors fall on a few large units
  (a large hospital or university gives thousands a year, a small company a handful);
- quotas: one unit in twenty is a subordinate unit (下属单位) of an earlier unit of its
  jurisdiction, and one subordinate in three holds a quota of its own; in a jurisdiction with
  at least GROUP_MIN top-level units, the first two to four of every GROUP_EVERY share one group
  quota (联合任务) instead of their own.

Everything is written with server-side INSERT … SELECT over generate_series, so the run takes
minutes; the figures are in docs/performance.md. It refuses to run on anything but PostgreSQL,
and refuses a database that already holds scale data unless --replace is given.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from campaigns import tally
from campaigns.donors.identity import check_character, mask_id_number
from core.crypto import encrypt, lookup_hash

MARK = "（模拟）"  # every generated name ends with it, so --replace finds them
LEVELS = [(1, 31), (2, 300), (3, 1000), (4, 1669)]
CATEGORIES = ["党政机关", "事业单位", "企业", "学校", "医疗卫生", "部队", "乡镇街道", "其他"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志海燕文博子涵雨欣浩然梓萱思远一鸣佳怡晨阳"
SKEW = 2.0  # index = floor(n * u ** SKEW) for uniform u: share ~ 1/sqrt(rank), a few large, many small
GROUP_MIN, GROUP_EVERY, GROUP_SIZES = 8, 40, (2, 3, 4)


def skewed(rng: random.Random, n: int) -> int:
    """An index in [0, n) drawn so that low indexes are far more likely than high ones."""
    return min(n - 1, int(n * rng.random() ** SKEW))


class Command(BaseCommand):
    help = "Generate a synthetic national-scale data set on PostgreSQL (dashboard benchmark)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=100_000)
        parser.add_argument("--donations", type=int, default=10_000_000)
        parser.add_argument("--donors", type=int, default=1_000_000, help="a multiple of --units")
        parser.add_argument("--years", type=int, default=3)
        parser.add_argument("--scale", type=float, default=1.0, help="shrink the jurisdiction tree (tests)")
        parser.add_argument("--replace", action="store_true", help="delete earlier scale data first")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("generate_scale_data needs PostgreSQL (set DATABASE_URL).")
        self.rng = random.Random(o["seed"])
        self.today = timezone.localdate()
        self.years = list(range(self.today.year - o["years"] + 1, self.today.year + 1))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            self.cursor = cursor
            cursor.execute("SELECT count(*) FROM units_jurisdiction WHERE name LIKE %s", ["%" + MARK])
            if cursor.fetchone()[0]:
                if not o["replace"]:
                    raise CommandError("Scale data is already here; --replace deletes it first.")
                self._step("delete earlier scale data", self._delete)
            with transaction.atomic():
                self._step("jurisdictions", self._jurisdictions, o["scale"])
                self._step("units", self._units, o["units"])
                self._step("plans and quotas", self._plans_and_quotas)
            self._step("donors", self._donors, o["donors"])
            self._step("donations", self._donations, o["donations"], o["donors"])
            self._step("tally", tally.recount)
            self._step("analyze", cursor.execute, "ANALYZE")
            self._shape()
        self.stdout.write(self.style.SUCCESS(f"Done in {time.perf_counter() - started:.0f} s."))

    def _shape(self) -> None:
        """How uneven the set came out: min, median, 90th percentile and max of units a
        jurisdiction and of donations a unit in the current year; group quotas; subordinate
        units with a quota of their own."""
        lo, hi = self.jurisdictions
        ulo, uhi = self.units
        spread = (
            "SELECT min(n), percentile_disc(0.5) WITHIN GROUP (ORDER BY n),"
            " percentile_disc(0.9) WITHIN GROUP (ORDER BY n), max(n) FROM ({}) x"
        )
        statements = [
            (
                "units a jurisdiction: min {}, median {}, 90th pct {}, max {}",
                spread.format(
                    "SELECT count(*) n FROM units_unit WHERE jurisdiction_id BETWEEN %s AND %s GROUP BY jurisdiction_id"
                ),
                [lo, hi],
            ),
            (
                f"donations a unit in {self.today.year}: min {{}}, median {{}}, 90th pct {{}}, max {{}}",
                spread.format(
                    "SELECT count(d.id) n FROM units_unit u LEFT JOIN campaigns_donation d ON d.unit_id = u.id"
                    " AND d.donated_on >= %s WHERE u.id BETWEEN %s AND %s GROUP BY u.id"
                ),
                [dt.date(self.today.year, 1, 1), ulo, uhi],
            ),
            (
                "group quotas: {} of {} unit quotas (all years)",
                "SELECT count(*) FILTER (WHERE n > 1), count(*) FROM (SELECT quota_id, count(*) n"
                " FROM quotas_quota_units WHERE unit_id BETWEEN %s AND %s GROUP BY quota_id) x",
                [ulo, uhi],
            ),
            (
                "subordinate units with a quota of their own: {} of {}",
                "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM quotas_quota_units qu WHERE qu.unit_id = u.id)),"
                " count(*) FROM units_unit u WHERE u.parent_id IS NOT NULL AND u.id BETWEEN %s AND %s",
                [ulo, uhi],
            ),
        ]
        for text, sql, params in statements:
            self.cursor.execute(sql, params)
            self.stdout.write("  " + text.format(*self.cursor.fetchone()))

    def _step(self, name, fn, *args):
        t = time.perf_counter()
        self.stdout.write(f"{name} …")
        self.stdout.flush()
        fn(*args)
        self.stdout.write(f"  {name}: {time.perf_counter() - t:.1f} s")

    def _next_id(self, table: str) -> int:
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 -- constant names
        return self.cursor.fetchone()[0]

    def _fix_sequence(self, table: str) -> None:
        self.cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
        )

    def _delete(self):
        c = self.cursor
        c.execute("SELECT id FROM units_jurisdiction WHERE name LIKE %s", ["%" + MARK])
        ids = [r[0] for r in c.fetchall()]
        c.execute("CREATE TEMP TABLE gone_units AS SELECT id FROM units_unit WHERE jurisdiction_id = ANY(%s)", [ids])
        tally.switch_triggers(enabled=False)
        try:
            c.execute("DELETE FROM campaigns_donation WHERE unit_id IN (SELECT id FROM gone_units)")
        finally:
            tally.switch_triggers(enabled=True)
        c.execute("DELETE FROM campaigns_donationtally WHERE unit_id IN (SELECT id FROM gone_units)")
        c.execute(
            "DELETE FROM quotas_quota_units WHERE quota_id IN (SELECT q.id FROM quotas_quota q "
            "JOIN quotas_annualplan p ON p.id = q.plan_id WHERE p.jurisdiction_id = ANY(%s))",
            [ids],
        )
        c.execute(
            "DELETE FROM quotas_quota WHERE plan_id IN "
            "(SELECT id FROM quotas_annualplan WHERE jurisdiction_id = ANY(%s))",
            [ids],
        )
        c.execute("DELETE FROM quotas_annualplan WHERE jurisdiction_id = ANY(%s)", [ids])
        c.execute("UPDATE units_unit SET parent_id = NULL WHERE id IN (SELECT id FROM gone_units)")
        c.execute("DELETE FROM units_unit WHERE id IN (SELECT id FROM gone_units)")
        c.execute("UPDATE units_jurisdiction SET parent_id = NULL WHERE id = ANY(%s)", [ids])
        c.execute("DELETE FROM units_jurisdiction WHERE id = ANY(%s)", [ids])
        c.execute("DROP TABLE gone_units")

    def _jurisdictions(self, scale: float):
        first = self._next_id("units_jurisdiction")
        rows, parents, pk = [], [], first
        for level, count in LEVELS:
            count = max(1, round(count * scale))
            current = []
            for i in range(count):
                parent = parents[i % len(parents)] if parents else None
                path = f"{parent[1] if parent else '/'}{pk}/"
                name = f"{'省市县镇'[level - 1]}{pk}{MARK}"
                rows.append((pk, name, level, "", parent[0] if parent else None, path))
                current.append((pk, path))
                pk += 1
            parents = current
        self._copy("units_jurisdiction", ["id", "name", "level", "code", "parent_id", "path"], rows)
        self._fix_sequence("units_jurisdiction")
        self.jurisdictions = (first, pk - 1)
        self.stdout.write(f"  {len(rows):,} jurisdictions")

    def _copy(self, table: str, columns: list[str], rows) -> None:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
        buffer.seek(0)
        self.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)

    def _units(self, n_units: int):
        """Units spread unevenly over the jurisdictions (every jurisdiction has at least one);
        subordinate units under an earlier top-level unit of their jurisdiction; the groups."""
        lo, hi = self.jurisdictions
        n_j = hi - lo + 1
        first = self._next_id("units_unit")
        places = list(range(n_j))
        self.rng.shuffle(places)  # which jurisdictions are the large ones: any level
        rows, top_by_place, self.group_members = [], {}, []
        for i in range(n_units):
            place = lo + (places[i] if i < n_j else places[skewed(self.rng, n_j)])
            pk, tops = first + i, top_by_place.setdefault(place, [])
            parent = tops[-1] if i % 20 == 19 and tops else None
            if parent is None:
                tops.append(pk)
            name = f"单位{pk}{MARK}"
            rows.append((pk, name, name, CATEGORIES[(i * 7) % 8], place, parent, 50 + (i * 37) % 2000, "", "", True))
        for tops in top_by_place.values():
            if len(tops) >= GROUP_MIN:
                for leader in range(0, len(tops), GROUP_EVERY):
                    size = GROUP_SIZES[len(self.group_members) % len(GROUP_SIZES)]
                    self.group_members += [(tops[leader], m) for m in tops[leader + 1 : leader + size]]
        columns = ["id", "name", "normalized_name", "category", "jurisdiction_id", "parent_id", "headcount"]
        self._copy("units_unit", [*columns, "contact_name", "contact_phone", "active"], rows)
        self._fix_sequence("units_unit")
        self.units = (first, first + n_units - 1)
        self.cursor.execute("CREATE TEMP TABLE scale_group (leader int, member int PRIMARY KEY)")
        self._copy("scale_group", ["leader", "member"], self.group_members)
        self.cursor.execute("CREATE INDEX ON scale_group (leader); ANALYZE scale_group")
        sizes = sorted(len(t) for t in top_by_place.values())
        self.stdout.write(
            f"  top-level units a jurisdiction: {sizes[0]}–{sizes[-1]} (median {sizes[len(sizes) // 2]}); "
            f"{len(self.group_members):,} units share a group quota"
        )

    def _plans_and_quotas(self):
        lo, hi = self.jurisdictions
        ulo, uhi = self.units
        c = self.cursor
        now = timezone.now()
        for year in self.years:
            c.execute(
                """
                INSERT INTO quotas_annualplan (jurisdiction_id, year, document_number, title, issuing_office,
                    issue_date, declared_total, total_measure, status, notes, created_at, updated_at)
                SELECT j.id, %(year)s, '模拟〔' || %(year)s || '〕' || j.id || '号',
                       j.name || %(year)s || '年无偿献血任务',
                       '', make_date(%(year)s, 2, 1), NULL, 'persons', 'published', '', %(now)s, %(now)s
                FROM units_jurisdiction j WHERE j.id BETWEEN %(lo)s AND %(hi)s
                """,
                {"year": year, "lo": lo, "hi": hi, "now": now},
            )
            # A unit's quota: 15-60 persons in one month (a tenth for the whole year, a fiftieth
            # advisory), a group's that times its number of units; held by every top-level unit outside
            # a group's tail and by one subordinate in three. position holds the (leading) unit
            # id until the memberships are written.
            c.execute(
                """
                INSERT INTO quotas_quota (plan_id, year, label, sub_jurisdiction_id, target, period_text,
                    period_start, period_end, location, headcount, advisory, seq, source_id, source_sheet,
                    source_cell, position)
                SELECT p.id, %(year)s, u.name || CASE WHEN g.n > 0 THEN '等' || (g.n + 1) || '家单位' ELSE '' END,
                       NULL, (15 + (u.id * 13 + %(year)s) %% 46) * (g.n + 1),
                       CASE WHEN u.id %% 10 = 0 THEN '全年' ELSE m.month || '月份' END,
                       CASE WHEN u.id %% 10 = 0 THEN NULL ELSE make_date(%(year)s, m.month, 1) END,
                       CASE WHEN u.id %% 10 = 0 THEN NULL
                            ELSE (make_date(%(year)s, m.month, 1) + interval '1 month' - interval '1 day')::date END,
                       '', u.headcount, u.id %% 50 = 7, NULL, NULL, '', '', u.id
                FROM units_unit u
                JOIN quotas_annualplan p ON p.jurisdiction_id = u.jurisdiction_id AND p.year = %(year)s
                CROSS JOIN LATERAL (SELECT (1 + (u.id * 5 + %(year)s) %% 12)::int AS month) m
                CROSS JOIN LATERAL (SELECT count(*) AS n FROM scale_group WHERE leader = u.id) g
                WHERE u.id BETWEEN %(ulo)s AND %(uhi)s AND (u.parent_id IS NULL OR u.id %% 3 = 0)
                  AND u.id NOT IN (SELECT member FROM scale_group)
                """,
                {"year": year, "ulo": ulo, "uhi": uhi},
            )
            c.execute(
                """
                INSERT INTO quotas_quota_units (quota_id, unit_id)
                SELECT q.id, m.unit_id FROM quotas_quota q JOIN quotas_annualplan p ON p.id = q.plan_id
                CROSS JOIN LATERAL (SELECT q.position AS unit_id
                                    UNION ALL SELECT member FROM scale_group WHERE leader = q.position) m
                WHERE p.year = %(year)s AND p.jurisdiction_id BETWEEN %(lo)s AND %(hi)s
                  AND q.sub_jurisdiction_id IS NULL
                """,
                {"year": year, "lo": lo, "hi": hi},
            )
            # Each jurisdiction's quota in its parent's plan: what its own plan asks, rounded down a little.
            c.execute(
                """
                INSERT INTO quotas_quota (plan_id, year, label, sub_jurisdiction_id, target, period_text,
                    period_start, period_end, location, headcount, advisory, seq, source_id, source_sheet,
                    source_cell, position)
                SELECT pp.id, %(year)s, j.name, j.id, (SUM(q.target) * 0.9)::int, '全年', NULL, NULL, '', NULL,
                       false, NULL, NULL, '', '', 0
                FROM units_jurisdiction j
                JOIN quotas_annualplan pp ON pp.jurisdiction_id = j.parent_id AND pp.year = %(year)s
                JOIN quotas_annualplan p ON p.jurisdiction_id = j.id AND p.year = %(year)s
                JOIN quotas_quota q ON q.plan_id = p.id AND NOT q.advisory
                WHERE j.id BETWEEN %(lo)s AND %(hi)s
                GROUP BY pp.id, j.id, j.name
                """,
                {"year": year, "lo": lo, "hi": hi},
            )
        c.execute("UPDATE quotas_quota SET position = 0 WHERE position >= %s AND year = ANY(%s)", [ulo, self.years])

    def _donors(self, n_donors: int):
        """A pool of synthetic people with valid ID numbers, stored as the portal stores them."""
        c = self.cursor
        c.execute(
            "CREATE TEMP TABLE scale_donor (idx int PRIMARY KEY, name text, enc text, hash text, masked text, "
            "sex text, birth date, unit int)"
        )
        ulo, uhi = self.units
        n_units = uhi - ulo + 1
        order = list(range(n_units))
        self.rng.shuffle(order)  # which units are the large ones
        rows = []
        for idx in range(n_donors):
            birth = dt.date(1968, 1, 1) + dt.timedelta(days=self.rng.randrange(365 * 36))
            first17 = f"{110000 + idx // 1000:06d}{birth:%Y%m%d}{idx % 1000:03d}"  # unique per idx
            number = first17 + check_character(first17)
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if idx % 3 else "")
            sex = "M" if int(number[16]) % 2 else "F"
            unit = ulo + (order[idx] if idx < n_units else order[skewed(self.rng, n_units)])
            rows.append((idx, name, encrypt(number), lookup_hash(number), mask_id_number(number), sex, birth, unit))
            if len(rows) == 100_000:
                self._copy("scale_donor", ["idx", "name", "enc", "hash", "masked", "sex", "birth", "unit"], rows)
                rows = []
        if rows:
            self._copy("scale_donor", ["idx", "name", "enc", "hash", "masked", "sex", "birth", "unit"], rows)

    def _donations(self, n_donations: int, n_donors: int):
        """Donation k: donor k mod P with the donor's unit, round k div P on one of that unit's
        four drive days in its own window of the years, so nobody gives twice a day."""
        ulo, _ = self.units
        c = self.cursor
        start = dt.date(self.years[0], 1, 1)
        last = self.today - dt.timedelta(days=1)
        rounds = max(1, -(-n_donations // n_donors))
        window = max(1, ((last - start).days + 1) // rounds)
        tally.switch_triggers(enabled=False)  # the tally is rebuilt after
        try:
            batch = 1_000_000
            for offset in range(0, n_donations, batch):
                t = time.perf_counter()
                with transaction.atomic():
                    c.execute(
                        """
                        INSERT INTO campaigns_donation (donor_name, id_number_encrypted, id_number_hash,
                            id_number_masked, sex, birth_date, phone_encrypted, unit_id, donated_on, kind,
                            volume_ml, doses, blood_units, drive_id, logged_by_id, logged_at, status, flags,
                            flag_resolution, reviewed_by_id, reviewed_at)
                        SELECT d.name, d.enc, d.hash, d.masked, d.sex, d.birth, '', d.unit,
                               LEAST(%(start)s::date + (k / %(n_donors)s) * %(window)s
                                     + ((d.unit - %(ulo)s) * 37 + (k / %(n_donors)s) * 11 + (d.idx %% 4) * 23)
                                       %% GREATEST(%(window)s - 5, 1),
                                     %(last)s::date),
                               CASE WHEN k %% 7 = 3 THEN 'platelets' ELSE 'whole' END,
                               CASE WHEN k %% 7 = 3 THEN NULL ELSE (ARRAY[200, 300, 400, 400])[1 + k %% 4] END,
                               CASE WHEN k %% 7 = 3 THEN 1 + k %% 2 END,
                               CASE WHEN k %% 7 = 3 THEN 1 + k %% 2 ELSE (ARRAY[1.0, 1.5, 2.0, 2.0])[1 + k %% 4] END,
                               NULL, NULL, %(now)s,
                               CASE WHEN k %% 100 = 0 THEN 'rejected' WHEN k %% 3 = 0 THEN 'verified' ELSE 'logged' END,
                               '[]', '', NULL, NULL
                        FROM generate_series(%(lo)s, %(hi)s) AS k
                        JOIN scale_donor d ON d.idx = k %% %(n_donors)s
                        """,
                        {
                            "ulo": ulo,
                            "n_donors": n_donors,
                            "start": start,
                            "window": window,
                            "last": last,
                            "now": timezone.now(),
                            "lo": offset,
                            "hi": min(offset + batch, n_donations) - 1,
                        },
                    )
                self.stdout.write(f"  {min(offset + batch, n_donations):,} donations ({time.perf_counter() - t:.0f} s)")
                self.stdout.flush()
        finally:
            tally.switch_triggers(enabled=True)

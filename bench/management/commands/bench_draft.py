"""Benchmark drafting a large allocation: start a draft from last year's plan, set rules and
demand, adjust one unit, export the attachment, publish — medians over runs.

    DATABASE_URL=postgres://… python manage.py bench_draft [--units 3000] [--runs 5] [--periods month]

Everything happens inside one transaction that is rolled back at the end: a jurisdiction with
`--units` units (mixed categories, each with a headcount), last year's plan with one quota
per unit (one in twenty split over two or three months, one in fifty a group of two to five
units) and counted donations for most units. "drafting" is the sum of the first two steps: what
staff wait for between choosing a jurisdiction and seeing every unit's number and month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import random
import statistics
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import DonationTally
from quotas.drafting.allocation import LAST_TASK, RATE
from quotas.drafting.publishing import draft_publish
from quotas.drafting.rows import draft_export
from quotas.drafting.services import draft_create, draft_update, line_update
from quotas.models import AnnualPlan, PlanDraft, Quota
from units.models import Jurisdiction, Unit
from units.naming import normalize_name
from units.services import jurisdiction_save

BASE_YEAR = 2030  # far from any real plan; rolled back anyway
CATEGORIES = ["party_gov"] * 3 + ["institution"] * 2 + ["enterprise"] * 4 + ["school", "health", "town"]
MONTHS = [(dt.date(BASE_YEAR, m, 1), dt.date(BASE_YEAR, m, calendar.monthrange(BASE_YEAR, m)[1])) for m in range(1, 13)]
CN = "一二三四五六七八九十"


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark drafting a large allocation (issue 22)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=3000)
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--periods", choices=["month", "dekad"], default="month")

    def handle(self, *args, **options):
        load_before = os.getloadavg()
        timings: dict[str, list[tuple[float, float]]] = {}
        try:
            with transaction.atomic():
                jurisdiction = self._world(options["units"])
                for run in range(options["runs"]):
                    for step, seconds in self._run(jurisdiction, options["periods"], run).items():
                        timings.setdefault(step, []).append(seconds)
                raise Rollback
        except Rollback:
            pass
        load_after = os.getloadavg()
        self.stdout.write(
            f"{options['units']} units, {options['periods']}s, {options['runs']} runs; "
            f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores, shared)"
        )
        self.stdout.write(f"{'step':<18}{'median':>9}{'min':>9}{'max':>9}{'cpu':>9}  (seconds; cpu: this process)")
        for step, pairs in timings.items():
            wall = [w for w, _ in pairs]
            cpu = statistics.median(c for _, c in pairs)
            self.stdout.write(f"{step:<18}{statistics.median(wall):>9.3f}{min(wall):>9.3f}{max(wall):>9.3f}{cpu:>9.3f}")

    def _run(self, jurisdiction: Jurisdiction, periods: str, run: int) -> dict[str, tuple[float, float]]:
        PlanDraft.objects.filter(jurisdiction=jurisdiction).delete()
        AnnualPlan.objects.filter(jurisdiction=jurisdiction, year=BASE_YEAR + 1).delete()
        today = dt.date(BASE_YEAR + 1, 1, 10)
        timings = {}
        began = (time.perf_counter(), time.process_time())
        draft = draft_create(jurisdiction=jurisdiction, year=BASE_YEAR + 1, today=today)
        timings["create"] = (time.perf_counter() - began[0], time.process_time() - began[1])
        rules = {c: {"kind": LAST_TASK, "value": 1} for c in draft.rules}
        rules["party_gov"] = rules["institution"] = {"kind": RATE, "value": "0.15"}
        demand = [820, 760, 850, 880, 900, 870, 910, 930, 880, 900, 860, 940]
        began = (time.perf_counter(), time.process_time())
        draft_update(draft=draft, rules=rules, demand=demand, total=draft.total + 500, period_kind=periods)
        timings["rules+demand"] = (time.perf_counter() - began[0], time.process_time() - began[1])
        timings["drafting"] = tuple(a + b for a, b in zip(timings["create"], timings["rules+demand"], strict=True))
        assert draft.result["exact"] and draft.result["within_bound"] and not draft.result["missing"], draft.result
        line = draft.lines.filter(sub_jurisdiction__isnull=True).order_by("pk")[run]
        began = (time.perf_counter(), time.process_time())
        line_update(line=line, override=(line.proposal or 0) + 7)
        timings["adjust one unit"] = (time.perf_counter() - began[0], time.process_time() - began[1])
        for fmt in ("xlsx", "docx"):
            began = (time.perf_counter(), time.process_time())
            draft_export(draft=draft, fmt=fmt)
            timings[f"export {fmt}"] = (time.perf_counter() - began[0], time.process_time() - began[1])
        began = (time.perf_counter(), time.process_time())
        draft_publish(draft=draft)
        timings["publish"] = (time.perf_counter() - began[0], time.process_time() - began[1])
        return timings

    def _world(self, n: int) -> Jurisdiction:
        rng = random.Random(22)
        root = jurisdiction_save(jurisdiction=Jurisdiction(name="基准市", level=Jurisdiction.Level.CITY))
        county = jurisdiction_save(jurisdiction=Jurisdiction(name="基准县", parent=root))
        units = Unit.objects.bulk_create(
            [
                Unit(
                    name=f"基准单位{i:05d}",
                    normalized_name=normalize_name(f"基准单位{i:05d}"),
                    category=rng.choice(CATEGORIES),
                    jurisdiction=county,
                    headcount=rng.randint(20, 2000),
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        plan = AnnualPlan.objects.create(jurisdiction=county, year=BASE_YEAR, status=AnnualPlan.Status.CLOSED)
        quotas, members = [], []
        i = 0
        while i < len(units):
            size = rng.randint(2, 5) if rng.random() < 0.02 else 1
            group = units[i : i + size]
            i += size
            label = "、".join(u.name for u in group)
            months = sorted(rng.sample(range(12), rng.choice([2, 3]))) if rng.random() < 0.05 else [rng.randrange(12)]
            for m in months:
                start, end = MONTHS[m]
                quotas.append(
                    Quota(
                        plan=plan,
                        year=BASE_YEAR,
                        label=label,
                        target=rng.choice([rng.randint(2, 30), rng.randint(20, 150), rng.randint(100, 600)]),
                        period_text=f"{CN[m] if m < 10 else '十' + CN[m - 10]}月",
                        period_start=start,
                        period_end=end,
                        position=len(quotas),
                    )
                )
                members.append(group)
        Quota.objects.bulk_create(quotas, batch_size=2000)
        Through = Quota.units.through
        Through.objects.bulk_create(
            [Through(quota_id=q.pk, unit_id=u.pk) for q, group in zip(quotas, members, strict=True) for u in group],
            batch_size=5000,
        )
        DonationTally.objects.bulk_create(
            [
                DonationTally(
                    unit=u, day=dt.date(BASE_YEAR, rng.randint(1, 12), rng.randint(1, 28)), persons=rng.randint(1, 40)
                )
                for u in units
                if rng.random() < 0.8
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
        return county

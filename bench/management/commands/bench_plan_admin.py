"""Benchmark the blood office's plan pages on a large plan: open it, list its quotas, save.

    python manage.py bench_plan_admin [--quotas 3000] [--runs 5]

Builds a plan of `--quotas` quotas (one unit each) in bulk, then reports the median over the
runs, through Django's test client as a signed-in superuser (no network, no browser), of:
  plan page     — GET the plan's change page (its counts and the link to its quotas)
  plan save     — POST the plan's form back unchanged (the fields a browser posts)
  quota list    — GET the first page of the plan's quota list (100 a page)
  quota search  — GET the list searched for one unit's name
  quota save    — POST one quota's change page with a new target
with each request's SQL query count and response size. Run it on PostgreSQL (DATABASE_URL) for
the figures in docs/performance.md; everything it writes is rolled back at the end.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction, Unit
from units.services import jurisdiction_save


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the plan page, the plan's quota list and saving one quota on a large plan."

    def add_arguments(self, parser):
        parser.add_argument("--quotas", type=int, default=3000)
        parser.add_argument("--runs", type=int, default=5)

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        try:
            with transaction.atomic():
                self._run(options["quotas"], options["runs"])
                raise _Rollback
        except _Rollback:
            pass

    def _plan(self, size: int):
        """A published plan of `size` quotas, one unit each, in a new city."""
        root = jurisdiction_save(jurisdiction=Jurisdiction(name="基准测试市", level=Jurisdiction.Level.CITY))
        plan = AnnualPlan.objects.create(jurisdiction=root, year=2026, status=AnnualPlan.Status.PUBLISHED)
        Unit.objects.bulk_create(
            Unit(name=f"基准单位{i:05d}", normalized_name=f"基准单位{i:05d}", jurisdiction=root) for i in range(size)
        )
        units = list(Unit.objects.filter(jurisdiction=root).order_by("pk"))
        Quota.objects.bulk_create(
            (
                Quota(
                    plan=plan,
                    year=2026,
                    label=unit.name,
                    target=10,
                    period_text=f"{i % 12 + 1}月",
                    period_start=dt.date(2026, i % 12 + 1, 1),
                    period_end=dt.date(2026, i % 12 + 1, 28),
                    position=i,
                )
                for i, unit in enumerate(units)
            ),
            batch_size=2000,
        )
        quotas = list(Quota.objects.filter(plan=plan).order_by("position"))
        Quota.units.through.objects.bulk_create(
            (Quota.units.through(quota_id=q.pk, unit_id=u.pk) for q, u in zip(quotas, units, strict=True)),
            batch_size=2000,
        )
        return root, plan, units, quotas

    def _run(self, size: int, runs: int) -> None:
        root, plan, units, quotas = self._plan(size)
        user = get_user_model().objects.create_superuser("bench-plan-admin", password="bench-pw-1")
        client = Client()
        client.force_login(user)
        plan_url = reverse("admin:quotas_annualplan_change", args=[plan.pk])
        list_url = reverse("admin:quotas_quota_changelist") + f"?plan={plan.pk}"
        quota = quotas[size // 2]
        quota_url = reverse("admin:quotas_quota_change", args=[quota.pk])
        plan_form = {
            "jurisdiction": root.pk,
            "year": 2026,
            "status": "published",
            "document_number": "",
            "title": "",
            "issuing_office": "",
            "issue_date": "",
            "declared_total": "",
            "total_measure": "persons",
            "notes": "",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        }

        def quota_form(target):
            return {
                "plan": plan.pk,
                "label": quota.label,
                "units": [units[size // 2].pk],
                "target": target,
                "period_text": quota.period_text,
                "period_start": quota.period_start.isoformat(),
                "period_end": quota.period_end.isoformat(),
                "location": "",
                "headcount": "",
                "seq": "",
                "position": quota.position,
            }

        steps = [
            ("plan page", lambda i: client.get(plan_url), 200),
            ("plan save", lambda i: client.post(plan_url, plan_form), 302),
            ("quota list", lambda i: client.get(list_url), 200),
            ("quota search", lambda i: client.get(list_url + f"&q={units[-1].name}"), 200),
            ("quota save", lambda i: client.post(quota_url, quota_form(11 + i)), 302),
        ]
        self._time(steps, runs, f"{size} quotas, median of {runs} runs ({connection.vendor})")

    def _time(self, steps, runs: int, title: str) -> None:
        """Each step `runs` times after a warm-up: median time, queries and response size."""
        self.stdout.write(title)
        self.stdout.write(f"{'step':<14}{'ms':>8}{'queries':>9}{'KB':>8}")
        for name, request, expected in steps:
            request(-1)  # warm: templates, translations, the session
            times, queries, size_kb = [], 0, 0
            for i in range(runs):
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = request(i)
                    times.append(time.perf_counter() - start)
                if response.status_code != expected:
                    raise SystemExit(f"{name}: HTTP {response.status_code}")
                queries, size_kb = len(captured), len(response.content) / 1024
                if self.verbosity > 1:  # -v 2: the slowest queries of each request
                    for q in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:3]:
                        self.stdout.write(f"    {q['time']}s {q['sql'][:300]}")
            self.stdout.write(f"{name:<14}{statistics.median(times) * 1000:>8.0f}{queries:>9}{size_kb:>8.1f}")

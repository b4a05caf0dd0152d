"""Time deleting a large plan: the bulk service against Django's cascade (one object at a time).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python manage.py bench_plan_delete

Builds a plan of `--quotas` quotas (each with one new unit) in a jurisdiction of its own, then
deletes it `--runs` times with `quotas.services.plan_delete`, each in a transaction rolled back,
and once with `AnnualPlan.delete()` (what the admin did: simple-history's signal writes the
history row of each quota in turn) at `--django-quotas` quotas. Medians, with the range.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from quotas.models import AnnualPlan, Quota
from quotas.services import plan_delete
from units.models import Jurisdiction, Unit


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark deleting a large plan (bulk history) against Django's cascade."

    def add_arguments(self, parser):
        parser.add_argument("--quotas", type=int, default=20_000)
        parser.add_argument("--django-quotas", type=int, default=2_000)
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args, quotas: int, django_quotas: int, runs: int, **options):
        bulk = [self._timed(quotas, lambda plan: plan_delete(plan=plan)) for _ in range(runs)]
        django = self._timed(django_quotas, lambda plan: plan.delete())
        med = statistics.median(bulk)
        self.stdout.write(
            f"plan_delete, {quotas:,} quotas: median {med:.2f} s [{min(bulk):.2f}-{max(bulk):.2f}] over {runs} runs; "
            f"Django's cascade, {django_quotas:,} quotas: {django:.2f} s "
            f"(per quota {django / django_quotas * 1000:.2f} ms against {med / quotas * 1000:.3f} ms)"
        )

    def _timed(self, n: int, delete) -> float:
        try:
            with transaction.atomic():
                plan = self._plan(n)
                t = time.perf_counter()
                delete(plan)
                took = time.perf_counter() - t
                raise Rollback
        except Rollback:
            return took

    def _plan(self, n: int) -> AnnualPlan:
        root = Jurisdiction.objects.filter(parent=None).first() or Jurisdiction.objects.create(name="基准", path="/")
        jurisdiction = Jurisdiction(name="删除基准区", parent=root, level=Jurisdiction.Level.COUNTY)
        jurisdiction.save()
        jurisdiction.path = f"{root.path}{jurisdiction.pk}/"
        jurisdiction.save(update_fields=["path"])
        plan = AnnualPlan.objects.create(jurisdiction=jurisdiction, year=2026, status=AnnualPlan.Status.PUBLISHED)
        names = [f"删除基准单位{i}" for i in range(n)]
        units = Unit.objects.bulk_create(
            [Unit(name=name, normalized_name=name, jurisdiction=jurisdiction) for name in names], batch_size=2000
        )
        quotas = Quota.objects.bulk_create(
            [Quota(plan=plan, year=2026, label=name, target=5, position=i) for i, name in enumerate(names)],
            batch_size=2000,
        )
        Through = Quota.units.through
        Through.objects.bulk_create(
            [Through(quota_id=q.pk, unit_id=u.pk) for q, u in zip(quotas, units, strict=True)], batch_size=2000
        )
        return plan

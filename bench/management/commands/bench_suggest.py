"""Benchmark unit-name suggestions: many unknown names against many similar units.

    python manage.py bench_suggest [--units 4000] [--names 20000] [--runs 3]

Creates `--units` units named like one another in a scratch jurisdiction, then suggests units
for `--names` unknown names that differ from them in a few characters (the hardest case: every
unit shares most of its two-character pieces with every name). Reports medians over the runs
of: loading the matcher (three queries) and suggesting for every name, with how many names got
their intended unit first. Everything it created is deleted afterwards. Run it on PostgreSQL
(DATABASE_URL) for docs/performance.md.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand
from django.db import connections, transaction

from units.models import Jurisdiction, Unit
from units.selectors import UnitMatcher
from units.services import jurisdiction_get_or_create, units_create_bulk

SCRATCH = "基准测试建议区"
WORDS = ["机械", "电子", "纺织", "化工", "建材", "物流", "商贸", "食品", "医药", "印刷"]


def unit_name(i: int) -> str:
    return f"扬州市{WORDS[i % 10]}{WORDS[i // 10 % 10]}基准测试{i:05d}有限公司"


SUFFIXES = ["分公司", "有限责任公司", "股份公司", "集团公司", "厂"]


def unknown_name(i: int, units: int) -> tuple[str, int]:
    """A distinct name a few characters away from unit i % units (a branch, another company
    form), and that unit."""
    target = i % units
    return unit_name(target).replace("有限公司", SUFFIXES[i // units % len(SUFFIXES)]), target


class Command(BaseCommand):
    help = "Benchmark suggestions for unknown unit names against many similar units."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=4000)
        parser.add_argument("--names", type=int, default=20_000)
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args, units: int, names: int, runs: int, **options):
        vendor = connections["default"].vendor
        self.stdout.write(f"database: {vendor}; units: {units}; names: {names}; runs: {runs} (medians)")
        _cleanup()
        jurisdiction = jurisdiction_get_or_create(name=SCRATCH)
        with transaction.atomic():
            created = units_create_bulk(names=[unit_name(i) for i in range(units)], jurisdiction=jurisdiction)
        pk_of = {unit.name: unit.pk for unit in created}
        queries = [unknown_name(i, units) for i in range(names)]
        load, suggest, suggest_cpu, hits = [], [], [], 0
        try:
            for _ in range(runs):
                began = time.perf_counter()
                matcher = UnitMatcher(jurisdiction)
                load.append(time.perf_counter() - began)
                began, cpu = time.perf_counter(), time.process_time()
                results = [matcher.match(name) for name, _ in queries]
                suggest.append(time.perf_counter() - began)
                suggest_cpu.append(time.process_time() - cpu)
                hits = sum(
                    1
                    for result, (_, target) in zip(results, queries, strict=True)
                    if result.suggestions and result.suggestions[0].unit_id == pk_of[unit_name(target)]
                )
        finally:
            _cleanup()
        self.stdout.write(
            f"load matcher {statistics.median(load):.2f} s; suggest for {names} names: "
            f"{statistics.median(suggest):.2f} s wall, {statistics.median(suggest_cpu):.2f} s CPU "
            f"({statistics.median(suggest_cpu) / names * 1e6:.0f} µs CPU a name); intended unit first: {hits}/{names}"
        )


def _cleanup() -> None:
    with transaction.atomic():
        for jurisdiction in Jurisdiction.objects.filter(name=SCRATCH):
            Unit.objects.filter(jurisdiction=jurisdiction).delete()
            jurisdiction.delete()

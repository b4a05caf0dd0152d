"""Benchmark a large donor roster: preview (every check) and commit, medians over runs.

DATABASE_URL=postgres://… python manage.py bench_roster [--rows 5000] [--runs 3]
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
import time

import openpyxl
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from campaigns.donors.identity import check_character
from campaigns.models import Donation
from campaigns.rosters.services import roster_commit, roster_preview
from units.models import Unit

from .bench_liaisons import Command as LiaisonBench


def make_roster(rows: int, unit_name: str, day: dt.date) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["无偿献血者人员名单"])
    sheet.append(["序号", "姓名", "性别", "身份证号", "献血日期", "献血量", "单位"])
    for i in range(rows):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i // 500)
        first17 = f"110101{birth:%Y%m%d}{i % 500:03d}"
        sheet.append([i + 1, f"献血者{i}", "", first17 + check_character(first17), day, 400, unit_name])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Benchmark previewing and committing a large donor roster."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=5000)
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args, **options):
        setup = LiaisonBench()
        username, unit_id = setup._setup(1)[0]
        unit = Unit.objects.get(pk=unit_id)
        data = make_roster(options["rows"], unit.name, timezone.localdate())
        previews, commits = [], []
        try:
            for _ in range(options["runs"]):
                Donation.objects.filter(unit=unit).delete()
                began = time.perf_counter()
                preview = roster_preview(
                    data=data, filename="roster.xlsx", units=[unit], default_unit=unit, logged_by=None
                )
                previews.append(time.perf_counter() - began)
                assert preview.ok, preview.errors or [c.errors for c in preview.rows if c.errors][:3]
                began = time.perf_counter()
                roster_commit(preview=preview)
                commits.append(time.perf_counter() - began)
        finally:
            setup._cleanup()
        p, c = statistics.median(previews), statistics.median(commits)
        self.stdout.write(
            f"database {connection.vendor}; {options['rows']} rows; medians of {options['runs']} runs\n"
            f"preview {p:.2f} s, commit {c:.2f} s, total {p + c:.2f} s"
        )

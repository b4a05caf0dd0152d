"""Benchmark a donor roster the way a liaison meets it: the preview request, then the confirm
request, through the web application (the Django test client, logged in with a session), at
several sizes, so the growth shows.

DATABASE_URL=postgres://… python manage.py bench_roster [--rows 5000 20000 50000] [--runs 3]

Each run uploads every size once (sizes alternate inside a run, so the machine's noise falls on
all of them alike), into an empty unit: `preview` is the upload's POST (read, check every row,
stage the file and the checked rows, render the page), `confirm` the token's POST (re-check what
may have changed, save every row). Printed per size: medians, the spread (min–max) of the total,
microseconds per row (linear growth: the same at every size), the preview page's size, and the
load average before and after.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import statistics
import time

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from campaigns.donors.identity import check_character
from campaigns.models import Donation
from units.models import Unit

from .bench_liaisons import PASSWORD
from .bench_liaisons import Command as LiaisonBench

URL = "/liaison/roster/"
TOKEN = re.compile(r'name="token" value="([0-9a-f-]{36})"')


def make_roster(rows: int, unit_name: str, day: dt.date) -> bytes:
    """An .xlsx roster of `rows` different people (born 1980 onward), all donating on `day`."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["无偿献血者人员名单"])
    sheet.append(["序号", "姓名", "性别", "身份证号", "献血日期", "献血量", "单位"])
    for i in range(rows):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i // 500)
        first17 = f"110101{birth:%Y%m%d}{i % 500:03d}"
        sheet.append([i + 1, f"献血者{i}", "", first17 + check_character(first17), day, 400, unit_name])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


class Command(BaseCommand):
    help = "Benchmark a roster's preview and confirm requests through the web flow, at several sizes."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, nargs="+", default=[5000, 20000, 50000])
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args, **options):
        sizes, runs = sorted(options["rows"]), options["runs"]
        setup = LiaisonBench()
        username, unit_id = setup._setup(1)[0]
        unit = Unit.objects.get(pk=unit_id)
        day = timezone.localdate()
        files = {n: make_roster(n, unit.name, day) for n in sizes}
        client = Client()
        signed_in = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
        if signed_in.status_code != 302:  # the login page again: refused
            raise CommandError("the benchmark liaison could not log in")
        timings = {n: {"preview": [], "confirm": [], "bytes": 0} for n in sizes}
        load_before = _load()
        try:
            for _ in range(runs):
                for n in sizes:
                    Donation.objects.filter(unit=unit).delete()
                    preview, confirm, size = self._flow(client, unit, files[n], n)
                    timings[n]["preview"].append(preview)
                    timings[n]["confirm"].append(confirm)
                    timings[n]["bytes"] = size
        finally:
            setup._cleanup()
        self.stdout.write(
            f"database {connection.vendor}; web flow (test client, logged in); medians of {runs} runs; "
            f"load average {load_before} before, {_load()} after"
        )
        self.stdout.write("rows     preview s  confirm s  total s  spread s       µs/row  page KB")
        for n in sizes:
            t = timings[n]
            totals = [p + c for p, c in zip(t["preview"], t["confirm"], strict=True)]
            total = statistics.median(totals)
            self.stdout.write(
                f"{n:<8} {statistics.median(t['preview']):9.2f}  {statistics.median(t['confirm']):9.2f}  "
                f"{total:7.2f}  {min(totals):5.2f}–{max(totals):<6.2f}  {total / n * 1e6:7.0f}  "
                f"{t['bytes'] / 1024:7.0f}"
            )

    def _flow(self, client: Client, unit: Unit, data: bytes, rows: int) -> tuple[float, float, int]:
        began = time.perf_counter()
        response = client.post(URL, {"unit": unit.pk, "file": SimpleUploadedFile("roster.xlsx", data)})
        preview = time.perf_counter() - began
        found = TOKEN.search(response.content.decode()) if response.status_code == 200 else None
        token = found and found.group(1)
        if not token:
            raise CommandError(f"the preview of {rows} rows was not confirmable (status {response.status_code})")
        began = time.perf_counter()
        done = client.post(URL, {"token": token})
        confirm = time.perf_counter() - began
        saved = Donation.objects.filter(unit=unit).count()
        if done.status_code != 302 or saved != rows:
            raise CommandError(f"the confirmation saved {saved} of {rows} rows (status {done.status_code})")
        return preview, confirm, len(response.content)

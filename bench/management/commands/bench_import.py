"""Benchmark the notice import on generated 20,000-row notices, one per layout, as staff do it.

    python manage.py bench_import [--rows 20000] [--runs 3] [--layouts simple,two_block,compound,csv_gbk]

For each layout it generates the file, then reports medians over the runs (and the spread,
max − min) of:
  bare    — a bare openpyxl read-only pass over every cell (the floor; CSV: decode + csv.reader)
  parse   — the notice reader (grid + layout) alone, in this process
  validate— matching the names and diffing against the stored plan (`compare_reading`) on a
            reading already made: timed directly, not by subtraction
  preview — the web flow's first request: the upload POSTed to the admin import page as a
            logged-in blood-office user (the file read in the upload sandbox, compared, staged
            with its reading, the preview page rendered)
  apply   — the web flow's second request: the confirmation (the kept reading compared again,
            plan, units, quotas, memberships, history written, committed)
  web     — preview + apply, what staff wait for; `web ÷ bare` is the ratio the goal is read against
  total   — `plan_import` end to end in a fresh process (no preview), with its peak RSS
Every import is into an empty jurisdiction, so 20,000 units are created too. Run it on
PostgreSQL (DATABASE_URL) for the figures in docs/performance.md, with the load average it
prints; every run's rows are deleted afterwards.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import resource
import statistics
import time

import openpyxl
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connections, transaction
from django.test import Client

from quotas.models import AnnualPlan, Quota
from quotas.notice.reader import read_notice
from quotas.services import compare_reading, plan_delete, plan_import
from units.models import Jurisdiction, StaffProfile, Unit
from units.roles import BLOOD_OFFICE
from units.services import jurisdiction_get_or_create

MONTHS = ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"]


def _name(i: int) -> str:
    return f"基准测试单位{i:06d}有限公司"


def generate(layout: str, rows: int) -> tuple[bytes, str]:
    """A notice of `rows` quotas laid out as `layout`."""
    if layout == "csv_gbk":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["序号", "单位名称", "任务数", "计划献血日期", "献血地点"])
        for i in range(rows):
            writer.writerow([i + 1, _name(i), 5 + i % 50, MONTHS[i * 12 // rows], "本单位"])
        return out.getvalue().encode("gbk"), "bench.csv"
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "附件1"
    ws.append(["附件1"])
    ws.append(["基准测试无偿献血任务分配表"])
    if layout == "simple":
        ws.append(["序号", "单位名称", "任务数（人）", "计划献血日期", "献血地点"])
        first = 4
        for i in range(rows):
            ws.append([f"{i + 1} ", _name(i), 5 + i % 50, MONTHS[i * 12 // rows], "本单位"])
        _merge_months(ws, column="D", first=first, rows=rows)
    elif layout == "two_block":
        half = rows // 2
        ws.append(["献血时间", "单 位", "目标数 (人)", "献血时间", "单 位", "目标数 (人)"])
        for i in range(half):
            ws.append([MONTHS[i * 6 // half], _name(i), 5 + i % 50, MONTHS[6 + i * 6 // half], _name(half + i), 7])
        _merge_months(ws, column="A", first=4, rows=half, months=6)
        _merge_months(ws, column="D", first=4, rows=half, months=6, offset=6)
    elif layout == "compound":
        per_cell = 20
        ws.append(["月份", "单位及计划数（人）", "合计"])
        for r in range(rows // per_cell):
            names = [_name(r * per_cell + k) for k in range(per_cell)]
            ws.append(
                [
                    f"{1 + r * 12 // (rows // per_cell)}月份",
                    "；".join(f"{n}{3 + k}" for k, n in enumerate(names)),
                    sum(3 + k for k in range(per_cell)),
                ]
            )
    else:
        raise ValueError(layout)
    ws.append(["说明：基准测试文件。"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), f"bench-{layout}.xlsx"


def _merge_months(ws, *, column: str, first: int, rows: int, months: int = 12, offset: int = 0) -> None:
    """Merge the period column down over each month's rows, as printed notices do."""
    start = first
    for m in range(months):
        count = sum(1 for i in range(rows) if i * months // rows == m)
        if count > 1:
            for r in range(start + 1, start + count):
                ws[f"{column}{r}"].value = None
            ws.merge_cells(f"{column}{start}:{column}{start + count - 1}")
        start += count


def bare_pass(data: bytes, filename: str) -> float:
    """The floor: read every cell once with openpyxl read-only (CSV: decode and split)."""
    began = time.perf_counter()
    if filename.endswith(".csv"):
        sum(1 for _ in csv.reader(io.StringIO(data.decode("gb18030"))))
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        for ws in workbook.worksheets:
            for _ in ws.iter_rows(values_only=True):
                pass
        workbook.close()
    return time.perf_counter() - began


def _whole_import(data: bytes, filename: str, year: int, name: str, pipe) -> None:
    """Child process: the whole import, end to end, then its time and peak RSS."""
    connections.close_all()
    began = time.perf_counter()
    jurisdiction = jurisdiction_get_or_create(name=name)
    report = plan_import(data=data, filename=filename, jurisdiction=jurisdiction, year=year)
    elapsed = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pipe.send((elapsed, peak_mb, len(report.rows), len(report.errors)))
    pipe.close()
    connections.close_all()


URL = "/admin/quotas/annualplan/import/"
BENCH_USER = "bench-import-office"
_TOKEN = re.compile(r'name="token" value="([0-9a-f-]{36})"')


def _staff_client(jurisdiction) -> Client:
    """A logged-in blood-office user of `jurisdiction`, as staff import a notice."""
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=BLOOD_OFFICE))
    StaffProfile.objects.update_or_create(user=user, defaults={"jurisdiction": jurisdiction})
    client = Client()
    client.force_login(user)
    return client


def web_flow(client, jurisdiction, data: bytes, filename: str, year: int) -> tuple[float, float]:
    """(preview, apply) seconds through the admin import page, as staff go through it."""
    upload = SimpleUploadedFile(filename, data)
    began = time.perf_counter()
    response = client.post(URL, {"jurisdiction": jurisdiction.pk, "year": year, "file": upload})
    preview = time.perf_counter() - began
    found = _TOKEN.search(response.content.decode())
    if response.status_code != 200 or not found:
        raise RuntimeError(f"preview failed: {response.status_code} {response.get('Location')}")
    began = time.perf_counter()
    response = client.post(URL, {"token": found.group(1)})
    apply = time.perf_counter() - began
    if response.status_code != 302 or "/change/" not in response["Location"]:
        raise RuntimeError(f"apply failed: {response.status_code} {response.get('Location')}")
    return preview, apply


def _cleanup(name: str) -> None:
    get_user_model().objects.filter(username=BENCH_USER).delete()
    for jurisdiction in Jurisdiction.objects.filter(name=name):
        for plan in AnnualPlan.objects.filter(jurisdiction=jurisdiction):
            plan_delete(plan=plan)
        with transaction.atomic():
            # The bench's own units, nothing refers to them once their plans are gone: one
            # statement instead of a history row per unit through the ORM (minutes for 20,000).
            units = Unit.objects.filter(jurisdiction=jurisdiction)
            units._raw_delete(units.db)
            jurisdiction.delete()


def _spread(values: list[float]) -> float:
    return max(values) - min(values)


class Command(BaseCommand):
    help = "Benchmark the notice import as staff go through it (preview + apply) against a bare openpyxl read."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20_000)
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--layouts", default="simple,two_block,compound,csv_gbk")

    def handle(self, *args, **options):
        rows, runs = options["rows"], options["runs"]
        vendor = connections["default"].vendor
        self.stdout.write(
            f"database: {vendor}; rows: {rows}; runs: {runs} (medians, seconds; ± spread max−min); "
            f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        keys = ("bare", "parse", "validate", "preview", "apply", "web", "total")
        self.stdout.write(
            f"{'layout':<10} " + " ".join(f"{k:>13}" for k in keys) + f" {'web/bare':>8} {'peakMB':>6} rows"
        )
        for layout in options["layouts"].split(","):
            data, filename = generate(layout, rows)
            # A web worker serves many requests: one small import first loads the templates, the
            # URL map and the upload sandbox's fork server, which the timed runs then reuse.
            _cleanup("基准测试区预热")
            warm = jurisdiction_get_or_create(name="基准测试区预热")
            web_flow(_staff_client(warm), warm, *generate(layout, 50), 2030)
            _cleanup("基准测试区预热")
            figures = {k: [] for k in (*keys, "peak")}
            count = 0
            for run in range(runs):
                name = f"基准测试区{run}"
                _cleanup(name)
                figures["bare"].append(bare_pass(data, filename))
                began = time.perf_counter()
                reading = read_notice(data, filename, year=2030)
                figures["parse"].append(time.perf_counter() - began)
                jurisdiction = jurisdiction_get_or_create(name=name)
                began = time.perf_counter()
                compare_reading(reading, jurisdiction=jurisdiction, year=2030)
                figures["validate"].append(time.perf_counter() - began)
                preview, apply = web_flow(_staff_client(jurisdiction), jurisdiction, data, filename, 2030)
                stored = Quota.objects.filter(plan__jurisdiction=jurisdiction).count()
                if stored != len(reading.rows):
                    raise RuntimeError(f"{layout}: {stored} quotas stored, {len(reading.rows)} read")
                figures["preview"].append(preview)
                figures["apply"].append(apply)
                figures["web"].append(preview + apply)
                _cleanup(name)
                connections.close_all()
                receive, send = multiprocessing.Pipe(duplex=False)
                child = multiprocessing.get_context("fork").Process(
                    target=_whole_import, args=(data, filename, 2030, name, send)
                )
                child.start()
                elapsed, peak, count, errors = receive.recv()
                child.join()
                if errors or count != len(reading.rows):
                    raise RuntimeError(f"{layout}: {errors} errors, {count} rows")
                figures["total"].append(elapsed)
                figures["peak"].append(peak)
                _cleanup(name)
            med = {k: statistics.median(v) for k, v in figures.items()}
            cells = " ".join(f"{med[k]:6.2f}±{_spread(figures[k]):<5.2f}" for k in keys)
            self.stdout.write(f"{layout:<10} {cells} {med['web'] / med['bare']:8.2f} {med['peak']:6.0f} {count}")
        self.stdout.write(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

"""Load benchmark: many liaisons logging donations at once against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://… python manage.py bench_liaisons [--clients 50] [--seconds 60]

It creates a jurisdiction with one unit, quota and liaison per client, starts gunicorn on
127.0.0.1 (loopback only), and runs the clients in several processes (the load generator must
not share one GIL). Every client signs in, then posts the "log a donor" form with a new person
each time, as fast as answers come back. It reports throughput, latency percentiles, and then
checks the database: it must hold exactly the donations that got a success answer (302) —
none lost, none doubled. Bounded in time and count; it cleans up after itself.

`--without-bookkeeping` runs the same load with the donation triggers off (no tally, no
dashboard marks), to compare logging with and without what keeps the dashboard real-time.
"""

from __future__ import annotations

import datetime as dt
import http.client
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from campaigns import tally
from campaigns.identity import check_character
from campaigns.models import Donation
from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction, Liaison, Unit
from units.services import jurisdiction_get_or_create, unit_create

PASSWORD = "bench-liaison-pw-1"
BENCH = "压测市"
PORT = 8765


def _cookie(headers, jar: dict) -> None:
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            # A browser shows the flash message on the page it is redirected to, and the cookie
            # goes; these clients skip that page, so they drop the cookie instead of letting
            # thousands of messages pile up in it.
            if key != "messages":
                jar[key] = rest.split(";", 1)[0]


def _request(conn, method, path, jar, body=None, headers=None):
    all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), "Host": f"127.0.0.1:{PORT}"}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    _cookie(response.getheaders(), jar)
    return response.status, data


def _client(args) -> tuple[list[float], list[str], int]:
    """One liaison: sign in, then log donors until the deadline. Returns latencies, ids saved, failures."""
    username, unit_id, offset, start_at, deadline, interval = args
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    jar: dict[str, str] = {}
    _request(conn, "GET", "/accounts/login/", jar)
    body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": jar["csrftoken"]})
    status, _ = _request(
        conn,
        "POST",
        "/accounts/login/",
        jar,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{PORT}/"},
    )
    if status != 302:
        raise RuntimeError(f"login failed for {username}: {status}")
    # Sign-ins (PBKDF2, deliberately slow) all happen before the measured window opens.
    time.sleep(max(0.0, start_at - time.time()))
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    today = dt.date.today().isoformat()
    latencies, saved, failures = [], [], 0
    counter = 0
    next_at = start_at
    while time.time() < deadline:
        if interval:  # paced: one donor every `interval` seconds, like people at a collection point
            next_at += interval
            time.sleep(max(0.0, next_at - time.time()))
        n = offset + counter
        counter += 1
        birth = dt.date(1975, 1, 1) + dt.timedelta(days=n // 1000)
        first17 = f"110101{birth:%Y%m%d}{n % 1000:03d}"
        number = first17 + check_character(first17)
        body = urllib.parse.urlencode(
            {
                "unit": unit_id,
                "donor_name": "压测",
                "id_number": number,
                "phone": "",
                "donated_on": today,
                "amount": "whole:400",
                "csrfmiddlewaretoken": jar["csrftoken"],
            }
        )
        began = time.perf_counter()
        status, _ = _request(
            conn,
            "POST",
            "/liaison/log/",
            jar,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{PORT}/liaison/log/"},
        )
        latencies.append(time.perf_counter() - began)
        if status == 302:
            saved.append(number)
        else:
            failures += 1
    return latencies, saved, failures


def _cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 for any that are gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postgres_pids() -> list[int]:
    """Every PostgreSQL process on this machine: the server's own and the portal's backends."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds spent by the server's workers, PostgreSQL and the clients within the window."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.used: dict[str, float] = {}

    def _groups(self) -> dict[str, list[int]]:
        workers = [self.server_pid, *_children(self.server_pid)]
        clients = [pid for pid in _children(os.getpid()) if pid not in workers]
        return {"gunicorn": workers, "postgres": _postgres_pids(), "clients": clients}

    def measure(self, start_at: float, deadline: float) -> threading.Thread:
        def run():
            time.sleep(max(0.0, start_at - time.time()))
            groups = self._groups()
            before = {name: _cpu_seconds(pids) for name, pids in groups.items()}
            time.sleep(max(0.0, deadline - time.time() - 0.5))  # before anyone exits
            self.used = {name: _cpu_seconds(groups[name]) - before[name] for name in groups}

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Command(BaseCommand):
    help = "Benchmark liaisons logging donations concurrently against gunicorn (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=50)
        parser.add_argument("--seconds", type=int, default=60)
        # 3 × 2 as in docs/deploy.md: on 2 cores it gave the most donations per CPU second
        # (4 × 4 spent ~25 % more gunicorn CPU per donation; docs/performance.md).
        parser.add_argument("--workers", type=int, default=3)
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--client-processes", type=int, default=4)
        parser.add_argument(
            "--rate",
            type=float,
            default=0,
            help="total donations per second to offer, spread over the clients (0: as fast as possible)",
        )
        parser.add_argument("--login-seconds", type=int, default=40, help="time allowed for every client to sign in")
        parser.add_argument(
            "--without-bookkeeping",
            action="store_true",
            help="log with the donation triggers off (no tally, no dashboard marks), to compare; "
            "they are switched back on and the tally recounted afterwards",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Run it on PostgreSQL: set DATABASE_URL.")
        clients, seconds = options["clients"], options["seconds"]
        users = self._setup(clients)
        without = options["without_bookkeeping"]
        connections.close_all()
        env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Connections outlive the window, so the PostgreSQL backends measured at its start
            # are the ones still working at its end (their CPU time is lost when they exit).
            "DATABASE_CONN_MAX_AGE": str(options["login_seconds"] + seconds + 60),
        }
        server = subprocess.Popen(  # noqa: S603 - fixed arguments, loopback only
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{PORT}",
                "-w",
                str(options["workers"]),
                "-k",
                "gthread",
                "--threads",
                str(options["threads"]),
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )
        try:
            if without:  # switched back on below, whatever happens
                tally.switch_triggers(enabled=False)
                connections.close_all()  # no connection open across the fork below
            self._wait_for_server()
            start_at = time.time() + options["login_seconds"]
            deadline = start_at + seconds
            interval = clients / options["rate"] if options["rate"] else 0
            jobs = [
                (u, unit_id, i * 10_000, start_at + i * interval / clients, deadline, interval)
                for i, (u, unit_id) in enumerate(users)
            ]
            processes = options["client_processes"]
            meter = CpuMeter(server.pid)
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                measuring = meter.measure(start_at, deadline)
                # Each process runs its share of the clients in threads.
                results = pool.map(_client_group, [jobs[i::processes] for i in range(processes)])
                measuring.join()
            elapsed = seconds
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            if without:
                tally.switch_triggers(enabled=True)
                tally.recount()  # the tally missed this run's donations
        self._report(results, elapsed, clients, seconds, options, meter.used)

    def _report(self, results, elapsed, clients, seconds, options, cpu):
        latencies = [x for group in results for x in group[0]]
        saved = [x for group in results for x in group[1]]
        failures = sum(group[2] for group in results)
        from core.crypto import lookup_hash

        stored = set(Donation.objects.filter(unit__jurisdiction__name=BENCH).values_list("id_number_hash", flat=True))
        expected = {lookup_hash(n) for n in saved}
        rows = Donation.objects.filter(unit__jurisdiction__name=BENCH).count()
        self.stdout.write(
            f"clients {clients}, {seconds} s, offered rate {options['rate'] or 'max'}/s, "
            f"gunicorn {options['workers']}×{options['threads']} gthread\n"
            f"requests {len(latencies)}, saved {len(saved)}, failed {failures}\n"
            f"throughput {len(saved) / elapsed:.0f} donations/s\n"
            f"latency ms: p50 {1000 * statistics.median(latencies):.0f}  p90 {1000 * _percentile(latencies, 0.9):.0f}  "
            f"p99 {1000 * _percentile(latencies, 0.99):.0f}  max {1000 * max(latencies):.0f}\n"
            f"database: {rows} rows; equal to the successes: {rows == len(saved) and stored == expected}"
        )
        if cpu and saved:
            window = seconds - 0.5
            per = {name: 1000 * used / (len(saved) * window / seconds) for name, used in cpu.items()}
            self.stdout.write(
                "CPU ms per donation: "
                + "  ".join(f"{name} {per[name]:.1f}" for name in ("gunicorn", "postgres", "clients"))
                + f"  (cores busy: {sum(cpu.values()) / window:.2f} of {os.cpu_count()})"
            )
        self._cleanup()

    def _wait_for_server(self):
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
                conn.request("GET", "/accounts/login/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError("gunicorn did not start")

    @transaction.atomic
    def _setup(self, clients: int):
        from django.contrib.auth import get_user_model

        self._cleanup()
        year = timezone.localdate().year
        jurisdiction = jurisdiction_get_or_create(name=BENCH)
        plan = AnnualPlan.objects.create(jurisdiction=jurisdiction, year=year, status=AnnualPlan.Status.PUBLISHED)
        group = Group.objects.get(name="联络员")
        User = get_user_model()
        users = []
        for i in range(clients):
            unit = unit_create(name=f"压测单位{i:03d}", jurisdiction=jurisdiction)
            quota = Quota.objects.create(plan=plan, year=year, label=unit.name, target=1000)
            quota.units.add(unit)
            user = User.objects.create_user(username=f"bench-liaison-{i:03d}", password=PASSWORD)
            user.groups.add(group)
            Liaison.objects.create(user=user).units.add(unit)
            users.append((user.username, unit.pk))
        return users

    @transaction.atomic
    def _cleanup(self):
        from django.contrib.auth import get_user_model

        Donation.objects.filter(unit__jurisdiction__name=BENCH).delete()
        AnnualPlan.objects.filter(jurisdiction__name=BENCH).delete()
        get_user_model().objects.filter(username__startswith="bench-liaison-").delete()
        Unit.objects.filter(jurisdiction__name=BENCH).delete()
        Jurisdiction.objects.filter(name=BENCH).delete()


def _client_group(jobs):
    """Run several clients in threads inside one process."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(jobs)) as executor:
        parts = list(executor.map(_client, jobs))
    return [x for p in parts for x in p[0]], [x for p in parts for x in p[1]], sum(p[2] for p in parts)

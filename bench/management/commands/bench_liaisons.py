"""Load benchmark: many liaisons logging donations at once against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://… python manage.py bench_liaisons [--clients 50] [--seconds 60] [--rate 200]

It creates a jurisdiction with one unit, quota and liaison per client, starts gunicorn on
127.0.0.1 (loopback only), and runs the clients in several processes (the load generator must
not share one GIL). Every client signs in, then posts the "log a donor" form with a new person
each time. It reports throughput, latency percentiles, CPU, and then checks the database: it
must hold exactly the donations that got a success answer (302) — none lost, none doubled.
Bounded in time and count; it cleans up after itself.

Measured honestly (issue 23):

- With `--rate` each client has a schedule (one donor every clients/rate seconds) and latency
  is timed **from when the request was due**, not from when it was sent: a client that falls
  behind sends its late requests at once, and their wait shows in the figures (queueing is
  not hidden by a client that slows down with the server). Requests still unsent 30 s after
  the window are counted as not sent. Without `--rate` the clients post as fast as answers
  come back (closed loop) and latency is timed from the send.
- CPU is read from /proc for the gunicorn workers, for the PostgreSQL backends that serve
  gunicorn's own connections (found by their `application_name`, not every postgres process on
  the machine), and for the load clients, which share the cores; "server" is workers + their
  backends, per logged donation, and the clients are reported apart.

Realistic load: `--units N` lets the clients share N units (several liaisons of one unit logging
at once; default one unit each), and `--repeat F` makes that share of the donors people who gave
before: drawn from the database's own donations (on the scale set, `generate_scale_data`'s
donors with years of history), their ID numbers decrypted, each person at most once in the run,
so the interval rule reads a real history and flags those who gave too recently.

`--without-bookkeeping` runs the same load with the donation triggers off (no tally, no
dashboard marks), to compare logging with and without what keeps the dashboard real-time.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.db.models import Max, Min
from django.utils import timezone

from bench import liaison_client
from campaigns import tally
from campaigns.models import Donation
from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction, Liaison, Unit
from units.services import jurisdiction_get_or_create, unit_create

PASSWORD = "bench-liaison-pw-1"
BENCH = "压测市"
PORT = 8765  # --port's default


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


def _backend_pids(application_name: str) -> set[int]:
    """The PostgreSQL backends serving connections opened under this application name: the
    benchmark's gunicorn workers' own, not the rest of the server or other users' sessions."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return {pid for (pid,) in cursor.fetchall()}


class CpuMeter:
    """CPU seconds spent within the window by the gunicorn workers, the PostgreSQL backends of
    their connections, and the load clients (reported apart: they share the machine's cores)."""

    def __init__(self, server_pid: int, application_name: str):
        self.server_pid = server_pid
        self.application_name = application_name
        self.used: dict[str, float] = {}
        self.lost_backends = 0
        self._before: dict[str, dict[int, float]] = {}

    def _pids(self) -> dict[str, set[int]]:
        workers = {self.server_pid, *_children(self.server_pid)}
        clients = {pid for pid in _children(os.getpid()) if pid not in workers}
        return {"gunicorn": workers, "postgres": _backend_pids(self.application_name), "clients": clients}

    def start(self, start_at: float) -> threading.Thread:
        def run():
            time.sleep(max(0.0, start_at - time.time()))
            self._before = {name: {pid: _cpu_seconds([pid]) for pid in pids} for name, pids in self._pids().items()}
            connections.close_all()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Read the CPU now; a process that appeared within the window counts from zero."""
        now = self._pids()
        for name, before in self._before.items():
            pids = now[name] | set(before)
            after = {pid: _cpu_seconds([pid]) for pid in pids}
            self.used[name] = sum(after[pid] - before.get(pid, 0.0) for pid in pids if pid in now[name])
            if name == "postgres":
                self.lost_backends = len(set(before) - now[name])


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
        parser.add_argument("--units", type=int, default=0, help="units the clients share (0: one each)")
        parser.add_argument(
            "--repeat",
            type=float,
            default=0.0,
            help="share of donors who gave before (people of the database's donations, each once)",
        )
        parser.add_argument("--port", type=int, default=PORT, help="gunicorn's port on 127.0.0.1")
        parser.add_argument(
            "--without-bookkeeping",
            action="store_true",
            help="log with the donation triggers off (no tally, no dashboard marks), to compare; "
            "they are switched back on and the tally recounted afterwards",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Run it on PostgreSQL: set DATABASE_URL.")
        global PORT
        PORT = liaison_client.PORT = options["port"]  # set before the clients are forked
        clients, seconds = options["clients"], options["seconds"]
        users = self._setup(clients, options["units"] or clients)
        repeats = self._repeat_donors(clients, options)
        application_name = f"bench_liaisons_{os.getpid()}"
        url = os.environ.get("DATABASE_URL", "")
        without = options["without_bookkeeping"]
        repeat = options["repeat"]
        connections.close_all()
        env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Connections outlive the window, so the PostgreSQL backends measured at its start
            # are the ones still working at its end (their CPU time is lost when they exit).
            "DATABASE_CONN_MAX_AGE": str(options["login_seconds"] + seconds + liaison_client.DRAIN_SECONDS + 60),
            # Names the workers' connections, so their PostgreSQL backends can be told apart.
            "DATABASE_URL": url + ("&" if "?" in url else "?") + f"application_name={application_name}",
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
                (u, PASSWORD, unit_id, i * 10_000, start_at + i * interval / clients, deadline, interval)
                + (repeats[i], repeat)
                for i, (u, unit_id) in enumerate(users)
            ]
            processes = options["client_processes"]
            meter = CpuMeter(server.pid, application_name)
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                measuring = meter.start(start_at)
                # Each process runs its share of the clients in threads.
                results = pool.map(liaison_client.run_group, [jobs[i::processes] for i in range(processes)])
                measuring.join()
                meter.stop()  # the clients' processes are still there to be read
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            if without:
                tally.switch_triggers(enabled=True)
                tally.recount()  # the tally missed this run's donations
        self._report(results, start_at, clients, seconds, options, meter)

    def _report(self, results, start_at, clients, seconds, options, meter):
        timings = [x for group in results for x in group[0]]
        saved = [x for group in results for x in group[1]]
        failures = Counter(x for group in results for x in group[2])
        unsent = sum(group[3] for group in results)
        unanswered = [x for group in results for x in group[4]]
        from core.crypto import lookup_hash

        stored = list(Donation.objects.filter(unit__jurisdiction__name=BENCH).values_list("id_number_hash", flat=True))
        expected = {lookup_hash(n) for n in saved}
        # A request left unanswered may have been saved: its row is not a doubled one.
        maybe = {lookup_hash(n) for n in unanswered}
        late = set(stored) - expected
        exact = len(stored) == len(set(stored)) and expected <= set(stored) and late <= maybe
        flagged = Donation.objects.filter(unit__jurisdiction__name=BENCH).exclude(flags=[]).count()
        repeated = len(expected & self.repeat_hashes)
        # The window ends when the last answer came, if the server was still catching up then.
        window = max(seconds, max((t[2] for t in timings), default=start_at) - start_at)
        scheduled, sent = [t[0] for t in timings], [t[1] for t in timings]
        paced = bool(options["rate"])

        def line(values):
            return (
                f"p50 {1000 * statistics.median(values):.0f}  p90 {1000 * _percentile(values, 0.9):.0f}  "
                f"p99 {1000 * _percentile(values, 0.99):.0f}  max {1000 * max(values):.0f}"
            )

        self.stdout.write(
            f"clients {clients}, {seconds} s, offered rate {options['rate'] or 'max (closed loop)'}/s, "
            f"gunicorn {options['workers']}×{options['threads']} gthread, "
            f"{options['units'] or clients} units, repeat donors {options['repeat']:.0%}\n"
            f"requests {len(timings)}, saved {len(saved)}, refused or failed {failures.total()}, "
            f"unanswered in 30 s {len(unanswered)} (stored all the same: {len(late)}), "
            f"not sent (behind schedule) {unsent}\n"
            f"throughput {len(saved) / window:.0f} donations/s (over {window:.1f} s)"
        )
        for reason, count in failures.most_common(5):
            self.stdout.write(f"  not saved ×{count}: {reason}")
        if timings:
            if paced:
                self.stdout.write(f"latency ms from the schedule: {line(scheduled)}")
            self.stdout.write(f"latency ms from the send: {line(sent)}")
        self.stdout.write(
            f"database: {len(stored)} rows, {len(set(stored))} people; "
            f"none lost or doubled (every success stored once, nothing else but unanswered ones): {exact}\n"
            f"saved donors who gave before: {repeated}; flagged by a donor rule: {flagged}"
        )
        cpu = meter.used
        if cpu and saved:
            per = {name: 1000 * used / len(saved) for name, used in cpu.items()}
            lost = meter.lost_backends
            self.stdout.write(
                f"CPU ms per donation: server {per['gunicorn'] + per['postgres']:.1f} "
                f"(gunicorn {per['gunicorn']:.1f} + its PostgreSQL backends {per['postgres']:.1f}); "
                f"load clients {per['clients']:.1f} apart"
                f"  (cores busy: {sum(cpu.values()) / window:.2f} of {os.cpu_count()}"
                + (f"; {lost} backends exited within the window, their CPU lost" if lost else "")
                + ")"
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
    def _setup(self, clients: int, n_units: int = 0):
        from django.contrib.auth import get_user_model

        self._cleanup()
        year = timezone.localdate().year
        jurisdiction = jurisdiction_get_or_create(name=BENCH)
        plan = AnnualPlan.objects.create(jurisdiction=jurisdiction, year=year, status=AnnualPlan.Status.PUBLISHED)
        group = Group.objects.get(name="联络员")
        User = get_user_model()
        units = []
        for i in range(min(n_units or clients, clients)):
            unit = unit_create(name=f"压测单位{i:03d}", jurisdiction=jurisdiction)
            quota = Quota.objects.create(plan=plan, year=year, label=unit.name, target=1000)
            quota.units.add(unit)
            units.append(unit)
        users = []
        for i in range(clients):
            unit = units[i % len(units)]
            user = User.objects.create_user(username=f"bench-liaison-{i:03d}", password=PASSWORD)
            user.groups.add(group)
            Liaison.objects.create(user=user).units.add(unit)
            users.append((user.username, unit.pk))
        return users

    def _repeat_donors(self, clients: int, options) -> list[list[str]]:
        """Per client, ID numbers of people who gave before (none repeated across clients)."""
        share = options["repeat"]
        self.repeat_hashes: set[str] = set()
        if not share:
            return [[] for _ in range(clients)]
        from core.crypto import decrypt

        # Enough for the run at its offered rate (closed loop: as if 200/s), with a margin.
        wanted = int((options["rate"] or 200) * options["seconds"] * share * 1.2) + 10 * clients
        bounds = Donation.objects.exclude(unit__jurisdiction__name=BENCH).aggregate(lo=Min("pk"), hi=Max("pk"))
        if bounds["lo"] is None:
            raise CommandError("--repeat needs donations in the database (generate_scale_data)")
        rng = random.Random(7)
        people: dict[str, str] = {}
        for _ in range(5):  # a small database may hold fewer people: then fewer repeat donors
            sample = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(2 * wanted)]
            for digest, token in Donation.objects.filter(pk__in=sample).values_list(
                "id_number_hash", "id_number_encrypted"
            ):
                people.setdefault(digest, token)
            if len(people) >= wanted:
                break
        chosen = list(people.items())[:wanted]
        numbers = [decrypt(token) for _, token in chosen]
        self.repeat_hashes = {digest for digest, _ in chosen}
        self.stdout.write(f"repeat donors: {len(numbers)} people drawn from the database's donations")
        return [numbers[i::clients] for i in range(clients)]

    @transaction.atomic
    def _cleanup(self):
        from django.contrib.auth import get_user_model

        Donation.objects.filter(unit__jurisdiction__name=BENCH).delete()
        AnnualPlan.objects.filter(jurisdiction__name=BENCH).delete()
        get_user_model().objects.filter(username__startswith="bench-liaison-").delete()
        Unit.objects.filter(jurisdiction__name=BENCH).delete()
        Jurisdiction.objects.filter(name=BENCH).delete()

"""The server's cost of logging one donation, in CPU instructions: a figure noise does not move.

    DATABASE_URL=postgres://… python manage.py bench_log_cost [--requests 100]

On a shared 2-core machine the load benchmark's CPU seconds swing by a third from run to run,
which hides changes of a few per cent. This command runs the liaison's "log a donor" request in
process (Django's test client: the same middleware, view, form, rules and SQL as under
gunicorn) under valgrind's callgrind twice — a short run and one `--requests` longer — and
reports the difference per request: the instructions one more donation costs this process,
without start-up. PostgreSQL's own work is not counted there. Needs valgrind (Debian package
`valgrind`).

    DATABASE_URL=postgres://… python manage.py bench_log_cost --database-cpu [--requests 200] [--rounds 5]

runs the same requests without valgrind and reports, per logged donation, the CPU time of this
process's thread and of the PostgreSQL backend serving its connection (both from /proc, in
nanoseconds: `schedstat`; the database must run on this machine), each round's and the median.
CPU time still grows when other processes share the cores (caches), so compare changes in
alternating runs, not against another day's figure.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from campaigns.donors.identity import check_character

from .bench_liaisons import Command as LoadBenchmark

WARM_UP = 20


class Command(BaseCommand):
    help = "Instructions the server spends on logging one donation (callgrind, in process)."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=100)
        parser.add_argument("--run", type=int, default=0, help=" (internal) log this many donations and stop")
        parser.add_argument(
            "--database-cpu",
            action="store_true",
            help="instead of callgrind: CPU ms per donation of this process and of its PostgreSQL backend",
        )
        parser.add_argument("--rounds", type=int, default=5, help="with --database-cpu: rounds of --requests")

    def handle(self, *args, **options):
        if options["run"]:
            self._log(options["run"])
            return
        if options["database_cpu"]:
            self._database_cpu(options["requests"], options["rounds"])
            return
        valgrind = shutil.which("valgrind")
        if not valgrind:
            raise CommandError("valgrind is not installed (apt-get install valgrind).")
        short = self._instructions(valgrind, WARM_UP)
        long = self._instructions(valgrind, WARM_UP + options["requests"])
        per = (long - short) / options["requests"]
        self.stdout.write(f"instructions per logged donation: {per / 1e6:.2f} million ({options['requests']} requests)")

    def _instructions(self, valgrind: str, requests: int) -> int:
        completed = subprocess.run(  # noqa: S603 - fixed arguments
            [
                valgrind,
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                str(settings.BASE_DIR / "manage.py"),
                "bench_log_cost",
                "--run",
                str(requests),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        found = re.search(r"Collected : (\d+)", completed.stderr)
        if not found:
            raise CommandError(completed.stderr[-2000:])
        return int(found.group(1))

    def _database_cpu(self, requests: int, rounds: int) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Run it on PostgreSQL: set DATABASE_URL.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
        if not backend.exists():
            raise CommandError("The PostgreSQL server is not on this machine: its backend's CPU cannot be read.")
        own = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        figures = {"this process": [], "its PostgreSQL backend": []}

        def cpu() -> tuple[int, int]:
            return int(own.read_text().split()[0]), int(backend.read_text().split()[0])

        def measure(log_round):
            for _ in range(rounds):
                before = cpu()
                log_round(requests)
                after = cpu()
                for name, start, end in zip(figures, before, after, strict=True):
                    figures[name].append((end - start) / requests / 1e6)

        started = time.monotonic()
        self._log(WARM_UP, then=measure)
        self.stdout.write(f"{rounds} rounds of {requests} donations ({time.monotonic() - started:.0f} s)")
        for name, values in figures.items():
            rounds_text = " ".join(f"{v:.2f}" for v in values)
            self.stdout.write(f"CPU ms per donation, {name}: median {statistics.median(values):.2f} ({rounds_text})")

    @override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"])
    def _log(self, requests: int, then=None) -> None:
        """Log `requests` donations; then, if given, call `then` with a function logging more."""
        setup = LoadBenchmark()
        users = setup._setup(1)
        try:
            client = Client()
            client.force_login(get_user_model().objects.get(username=users[0][0]))
            today = dt.date.today().isoformat()
            counter = iter(range(10**6))

            def log(count: int) -> None:
                for _ in range(count):
                    self._post(client, users[0][1], next(counter), today)

            log(requests)
            if then:
                then(log)
        finally:
            setup._cleanup()

    @staticmethod
    def _post(client, unit_id, n: int, today: str) -> None:
        birth = dt.date(1975, 1, 1) + dt.timedelta(days=n // 1000)
        first17 = f"110101{birth:%Y%m%d}{n % 1000:03d}"
        # Urlencoded, as a browser sends this form (no file field) and as the load
        # benchmark's clients do; the test client's default is multipart.
        response = client.post(
            "/liaison/log/",
            urlencode(
                {
                    "unit": unit_id,
                    "donor_name": "压测",
                    "id_number": first17 + check_character(first17),
                    "phone": "",
                    "donated_on": today,
                    "amount": "whole:400",
                }
            ),
            content_type="application/x-www-form-urlencoded",
        )
        if response.status_code != 302:
            raise CommandError(f"logging failed: {response.status_code}")
        client.cookies.pop("messages", None)  # as the load benchmark's clients do

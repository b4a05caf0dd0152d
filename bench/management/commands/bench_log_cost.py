"""The server's cost of logging one donation, in CPU instructions: a figure noise does not move.

    DATABASE_URL=postgres://… python manage.py bench_log_cost [--requests 100]

On a shared 2-core machine the load benchmark's CPU seconds swing by a third from run to run,
which hides changes of a few per cent. This command runs the liaison's "log a donor" request in
process (Django's test client: the same middleware, view, form, rules and SQL as under
gunicorn) under valgrind's callgrind twice — a short run and one `--requests` longer — and
reports the difference per request: the instructions one more donation costs this process,
without start-up. PostgreSQL's own work is not counted (see bench_liaisons for that).
Needs valgrind (Debian package `valgrind`).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
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

    def handle(self, *args, **options):
        if options["run"]:
            self._log(options["run"])
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

    @override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"])
    def _log(self, requests: int) -> None:
        setup = LoadBenchmark()
        users = setup._setup(1)
        try:
            client = Client()
            client.force_login(get_user_model().objects.get(username=users[0][0]))
            today = dt.date.today().isoformat()
            for n in range(requests):
                birth = dt.date(1975, 1, 1) + dt.timedelta(days=n // 1000)
                first17 = f"110101{birth:%Y%m%d}{n % 1000:03d}"
                # Urlencoded, as a browser sends this form (no file field) and as the load
                # benchmark's clients do; the test client's default is multipart.
                response = client.post(
                    "/liaison/log/",
                    urlencode(
                        {
                            "unit": users[0][1],
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
        finally:
            setup._cleanup()

"""Benchmark a city's year of station records: preview, confirm (apply), re-apply of the same file.

DATABASE_URL=postgres://… python manage.py bench_station [--rows 100000] [--runs 3] [--units 400]

Builds its own jurisdiction (基准血站市) with `--units` units and a few aliases, and generated
data for one year (2025, whatever today is): of every 20 rows of the export, 13 are reported
donations (one of them with another volume), 4 station-only rows naming a unit exactly, 1 by
an alias, 1 whose workplace only resembles a unit (a suggestion in the preview, unattributed on
apply) and 1 matching nothing. The export is a GBK CSV as the station's system writes it.

Measured, as medians of `--runs` (each apply rolled back):
- preview: `station_preview` with suggestions, what the upload page runs;
- apply: `station_apply` of the preview read without suggestions;
- confirm: what the confirm request runs in its transaction — the file read again without
  suggestions, `station_apply`, `rematch`;
- re-apply: after one committed apply, the same file previewed and applied again: no record and
  no donation is written (only the StationExport row that records the covered range). Rows whose
  records are linked to a donation (nine in ten) are skipped by their code before any check; the
  unattributed tenth is checked again (an alias added since would attribute it).
Peak memory: the process's maximum resident set (ru_maxrss) before and after the measured steps,
and that of the reader's child processes. The benchmark drops each preview once measured, so it
holds one at a time as a request does (until 2026-12-02 it held up to four at once).
Everything it created is deleted at the end.
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from campaigns import tally
from campaigns.donors.identity import check_character, mask_id_number
from campaigns.models import Donation, VerifiedTally
from core import crypto
from stations.models import CollectionRecord, StationExport
from stations.preview import station_preview
from stations.services import rematch, station_apply
from units.models import Jurisdiction, Unit, UnitAlias
from units.naming import normalize_name
from units.services import jurisdiction_save

NAME = "基准血站市"
YEAR = 2025
TODAY = dt.date(2026, 1, 15)
BENCH_USER = "bench-station"


class _Rollback(Exception):
    pass


def _person(i: int) -> str:
    birth = dt.date(1975, 1, 1) + dt.timedelta(days=i // 900)
    first17 = f"321081{birth:%Y%m%d}{i % 900:03d}"
    return first17 + check_character(first17)


def _day(i: int) -> dt.date:
    return dt.date(YEAR, 1, 1) + dt.timedelta(days=(i * 7) % 365)


def _peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark previewing and applying a large blood-station export (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--units", type=int, default=400)

    def handle(self, *args, **options):
        rows, runs = options["rows"], options["runs"]
        self._cleanup()
        began = time.perf_counter()
        self.user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
        root, units = self._setup(rows, options["units"])
        data = self._export(rows, units)
        self.stdout.write(
            f"setup {time.perf_counter() - began:.1f} s: {len(units)} units, "
            f"{Donation.objects.filter(unit__jurisdiction=root).count()} reported donations, "
            f"export {len(data) / 1e6:.1f} MB GBK CSV of {rows} rows"
        )
        before = _peak_mb()
        previews, applies, confirms = [], [], []
        try:
            for _ in range(runs):
                t0 = time.perf_counter()
                preview = station_preview(data=data, filename="station.csv", jurisdiction=root, today=TODAY)
                previews.append(time.perf_counter() - t0)
                self._step(f"preview {previews[-1]:.2f} s")
                assert preview.ok, (preview.errors, [c.errors for c in preview.error_rows[:3]])
                counts = preview.counts
                preview = None  # held no longer than a request holds it (one preview at a time)
                try:
                    with transaction.atomic():
                        t0 = time.perf_counter()
                        again = station_preview(
                            data=data, filename="station.csv", jurisdiction=root, today=TODAY, suggest=False
                        )
                        t1 = time.perf_counter()
                        station_apply(
                            preview=again, jurisdiction=root, user=self.user, filename="station.csv", sha256="0"
                        )
                        t2 = time.perf_counter()
                        rematch(jurisdiction=root)
                        t3 = time.perf_counter()
                        applies.append(t2 - t1)
                        confirms.append(t3 - t0)
                        again = None
                        self._step(f"apply {applies[-1]:.2f} s, confirm {confirms[-1]:.2f} s")
                        raise _Rollback
                except _Rollback:
                    pass
            # One apply kept, then the same file again: nothing new.
            again = station_preview(data=data, filename="station.csv", jurisdiction=root, today=TODAY, suggest=False)
            station_apply(preview=again, jurisdiction=root, user=self.user, filename="station.csv", sha256="0")
            again = None
            kept = (CollectionRecord.objects.filter(jurisdiction=root).count(), Donation.objects.count())
            reapplies = []
            for _ in range(runs):
                t0 = time.perf_counter()
                repeat = station_preview(
                    data=data, filename="station.csv", jurisdiction=root, today=TODAY, suggest=False
                )
                export = station_apply(
                    preview=repeat, jurisdiction=root, user=self.user, filename="station.csv", sha256="0"
                )
                reapplies.append(time.perf_counter() - t0)
                self._step(f"re-apply {reapplies[-1]:.2f} s")
                assert export.new_records == 0 and export.already_imported == rows, export.new_records
                repeat = None
            assert (CollectionRecord.objects.filter(jurisdiction=root).count(), Donation.objects.count()) == kept
            verified = list(
                VerifiedTally.objects.filter(jurisdiction=root, year=YEAR).values_list("persons", flat=True)
            )
            after = _peak_mb()
            children = _peak_mb(resource.RUSAGE_CHILDREN)
        finally:
            self._cleanup()
        med = statistics.median
        self.stdout.write(
            f"database {connection.vendor}; {rows} rows; medians of {runs} runs\n"
            f"preview counts {counts}\n"
            f"preview {med(previews):.2f} s (runs {', '.join(f'{t:.2f}' for t in previews)})\n"
            f"apply {med(applies):.2f} s; confirm (read again + apply + rematch) {med(confirms):.2f} s\n"
            f"re-apply of the same file {med(reapplies):.2f} s, nothing written "
            f"(records {kept[0]}, donations {kept[1]} unchanged)\n"
            f"station-verified kept for {YEAR}: {list(verified)}\n"
            f"peak RSS: process {before:.0f} MB after setup, {after:.0f} MB after the runs; "
            f"reader child processes {children:.0f} MB"
        )

    def _step(self, text: str) -> None:
        self.stdout.write(f"  {text} (peak RSS {_peak_mb():.0f} MB)")
        self.stdout.flush()

    def _setup(self, rows: int, unit_count: int):
        root = jurisdiction_save(jurisdiction=Jurisdiction(name=NAME, level=Jurisdiction.Level.CITY))

        units = Unit.objects.bulk_create(
            [
                Unit(name=f"基准单位{i:04d}", normalized_name=normalize_name(f"基准单位{i:04d}"), jurisdiction=root)
                for i in range(unit_count)
            ]
        )
        UnitAlias.objects.bulk_create(
            [
                UnitAlias(
                    unit=units[i],
                    jurisdiction=root,
                    name=f"别称{i:04d}",
                    normalized_name=normalize_name(f"别称{i:04d}"),
                )
                for i in range(min(unit_count, 50))
            ]
        )
        # A bulk load as generate_scale_data does it: the tally's triggers off, a recount after.
        postgresql = connection.vendor == "postgresql"
        if postgresql:
            tally.switch_triggers(enabled=False)
        batch = []
        for i in range(rows):
            if i % 20 >= 13:
                continue
            number = _person(i)
            volume = 300 if i % 20 == 12 else 400
            identity_birth = dt.date(1975, 1, 1) + dt.timedelta(days=i // 900)
            batch.append(
                Donation(
                    donor_name=f"献血者{i}",
                    id_number_encrypted=crypto.encrypt(number),
                    id_number_hash=crypto.lookup_hash(number),
                    id_number_masked=mask_id_number(number),
                    sex="M" if int(number[16]) % 2 else "F",
                    birth_date=identity_birth,
                    unit=units[i % len(units)],
                    donated_on=_day(i),
                    volume_ml=volume,
                    blood_units=Donation.blood_units_for("whole", volume),
                )
            )
            if len(batch) == 5000:
                Donation.objects.bulk_create(batch)
                batch = []
        Donation.objects.bulk_create(batch)
        if postgresql:
            tally.switch_triggers(enabled=True)
            tally.recount()
            # What autovacuum does after a bulk load: without fresh statistics the planner walks
            # every unit's donations for each batch's 2,000 ID hashes (1.7 s a batch, measured).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return root, units

    def _export(self, rows: int, units) -> bytes:
        lines = ["献血码,姓名,性别,证件号码,献血日期,献血类型,献血量(ml),采血点,工作单位"]
        n = len(units)
        for i in range(rows):
            kind = i % 20
            if kind < 13 or kind < 17:
                workplace = units[i % n].name
            elif kind == 17:
                workplace = f"别称{i % min(n, 50):04d}"
            elif kind == 18:
                workplace = f"{units[i % n].name}分部"
            else:
                workplace = f"个体经营{i}"
            lines.append(f"XM{i:08d},献血者{i},,{_person(i)},{_day(i).isoformat()},全血,400,献血屋,{workplace}")
        return ("\r\n".join(lines) + "\r\n").encode("gbk")

    def _cleanup(self) -> None:
        root = Jurisdiction.objects.filter(name=NAME, parent=None).first()
        if root is None:
            return
        with transaction.atomic():
            CollectionRecord.objects.filter(jurisdiction=root).delete()
            StationExport.objects.filter(jurisdiction=root).delete()
            donations = Donation.objects.filter(unit__jurisdiction=root)
            unit_ids = list(Unit.objects.filter(jurisdiction=root).values_list("pk", flat=True))
            donations.delete()
            UnitAlias.objects.filter(jurisdiction=root).delete()
            Unit.objects.filter(jurisdiction=root).delete()
            # after the deletes: simple-history records each deleted row ("-")
            Donation.history.filter(unit_id__in=unit_ids).delete()
            Unit.history.filter(id__in=unit_ids).delete()
            UnitAlias.history.filter(unit_id__in=unit_ids).delete()
            VerifiedTally.objects.filter(jurisdiction=root).delete()
            root.delete()
            get_user_model().objects.filter(username=BENCH_USER).delete()

"""Benchmark reading notices from PDF and legacy Word files: seconds per page and peak memory.

    python manage.py bench_formats [FILE ...] [--runs 3] [--scans]

Without files it prints the three real notices (fixtures/notices/) to text PDFs (the tests'
printer, reportlab) — as one page of body text and their tables, and again at 25 rows a page —
and, when LibreOffice is installed, saves them as .doc. Each file is read by the notice reader
(the same `read_notice` the upload's sandbox runs) in a fresh forked process; reported are the
median seconds, seconds per PDF page, and the peak resident memory of that process and of the
converter it started. With --scans it reads scans instead: the same three notices printed,
rendered at 150–200 dpi, turned by up to 2°, noisy and JPEG-compressed, as picture-only PDFs
(`tests/quotas/scans.py`), read by OCR — seconds per scanned page and peak memory.
"""

from __future__ import annotations

import io
import multiprocessing
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from quotas.notice.legacy import soffice_path
from quotas.notice.reader import read_notice


def _measure(data: bytes, filename: str, year: int, conn) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    reading = read_notice(data, filename, year=year)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    conn.send((elapsed, len(reading.rows), len(reading.errors), own // 1024, children // 1024, cpu))
    conn.close()


def _pages(data: bytes) -> int:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


class Command(BaseCommand):
    help = "Seconds per page and peak memory reading text PDFs and .doc notices."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*")
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--year", type=int, default=2024, help="plan year for FILEs given")
        parser.add_argument("--scans", action="store_true", help="scanned notices, read by OCR")

    def handle(self, *args, **options):
        cases = [(Path(f).name, Path(f).read_bytes(), options["year"]) for f in options["files"]]
        if not cases:
            cases = self._scanned() if options["scans"] else self._generated()
        self.stdout.write(
            f"{'file':34} {'pages':>5} {'rows':>5} {'s':>6} {'s/page':>7} {'MB':>6} {'conv MB':>7} {'CPU s/page':>10}"
        )
        context = multiprocessing.get_context("fork")
        for name, data, year in cases:
            times, result = [], None
            for _ in range(options["runs"]):
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_measure, args=(data, name, year, send))
                process.start()
                send.close()
                result = receive.recv()
                process.join()
                times.append(result[0])
            elapsed = statistics.median(times)
            pages = _pages(data) if data.lstrip()[:5] == b"%PDF-" else 0
            per_page = f"{elapsed / pages:7.2f}" if pages else f"{'-':>7}"
            cpu_page = f"{result[5] / pages:10.2f}" if pages else f"{'-':>10}"
            self.stdout.write(
                f"{name:34} {pages or '-':>5} {result[1]:>5} {elapsed:6.2f} {per_page} {result[3]:6d} {result[4]:7d}"
                f" {cpu_page}" + (f"  ({result[2]} errors)" if result[2] else "")
            )

    def _scanned(self):
        from tests.quotas import scans
        from tests.quotas.test_notice_ocr import VARIANTS

        cases = []
        for name, dpi, angle, noise, quality in VARIANTS:
            pages = scans.scanned_pages(scans.printed(name), dpi=dpi, angle=angle, noise=noise, quality=quality)
            year = int(name.split("-")[-1])
            cases.append((f"{name}-scan-{dpi}dpi.pdf", scans.scanned_pdf(pages, dpi), year))
        return cases

    def _generated(self):
        from quotas.notice.grid import read_grids
        from tests.quotas.pdfs import notice_pdf, table_from_sheet
        from tests.quotas.workbooks import docx_notice

        notices = Path(settings.BASE_DIR) / "fixtures" / "notices"
        cases = []
        docs = []
        for path in sorted(notices.glob("*.xlsx")):
            year = int(path.stem.split("-")[-1])
            sheets = read_grids(path.read_bytes(), path.name)
            tables = [table_from_sheet(sheet, sheet.name) for sheet in sheets]
            body = ["关于做好无偿献血工作的通知", "全年总量确定为12500人份。"]
            cases.append((f"{path.stem}.pdf", notice_pdf(tables, body=body), year))
            cases.append((f"{path.stem}-25-rows-a-page.pdf", notice_pdf(tables, body=body, max_rows_per_page=25), year))
            docs.append((path.stem, docx_notice(sheets, body=body), year))
        program = soffice_path()
        if program:
            with tempfile.TemporaryDirectory() as work:
                folder = Path(work)
                for stem, data, _ in docs:
                    (folder / f"{stem}.docx").write_bytes(data)
                profile = f"-env:UserInstallation={(folder / 'profile').as_uri()}"
                for target, sources in (("odt", "docx"), ("doc:MS Word 97", "odt")):
                    subprocess.run(  # noqa: S603 - LibreOffice on files this command wrote
                        [program, profile, "--headless", "--convert-to", target, "--outdir", str(folder)]
                        + [str(folder / f"{stem}.{sources}") for stem, _, _ in docs],
                        check=True,
                        capture_output=True,
                        timeout=300,
                    )
                cases += [(f"{stem}.doc", (folder / f"{stem}.doc").read_bytes(), year) for stem, _, year in docs]
        return cases

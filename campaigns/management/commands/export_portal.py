"""Export everything into one archive: python manage.py export_portal backup.zip"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from campaigns.backup import export_everything


class Command(BaseCommand):
    help = (
        "Write plans, quotas, units, donations (ID numbers still encrypted), users, the audit trail "
        "and the notice files to a zip archive."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="the .zip file to write")

    def handle(self, *args, archive: Path, **options):
        summary = export_everything(archive)
        rows = sum(summary.counts.values())
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {archive}: {rows} rows of {len(summary.counts)} models, {summary.files} files.")
        )
        for label, count in sorted(summary.counts.items()):
            if count:
                self.stdout.write(f"  {label}: {count}")

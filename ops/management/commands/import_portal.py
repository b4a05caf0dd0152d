"""Load an archive from export_portal into an empty, migrated database:

python manage.py migrate && python manage.py import_portal backup.zip
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, import_everything


class Command(BaseCommand):
    help = "Load an export_portal archive into an empty database, all or nothing, and check what was loaded."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="the .zip file written by export_portal")

    def handle(self, *args, archive: Path, **options):
        try:
            summary = import_everything(archive)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(summary.counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {rows} rows of {len(summary.counts)} models and {summary.files} files; "
                "counts and tally checked."
            )
        )

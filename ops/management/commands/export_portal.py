"""Export everything into one archive: python manage.py export_portal backup.zip"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, export_everything


class Command(BaseCommand):
    help = (
        "Write plans, quotas, units, donations (ID numbers still encrypted), users, the audit trail "
        "and the notice files to a zip archive."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="the .zip file to write")
        parser.add_argument(
            "--skip-missing-files",
            action="store_true",
            help="write the archive even if notice files that plans refer to are missing (they are listed)",
        )

    def handle(self, *args, archive: Path, skip_missing_files: bool, **options):
        try:
            summary = export_everything(archive, skip_missing_files=skip_missing_files)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(summary.counts.values())
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {archive}: {rows} rows of {len(summary.counts)} models, {summary.files} files.")
        )
        for name in summary.missing:
            self.stderr.write(self.style.WARNING(f"  missing, left out: {name}"))
        for label, count in sorted(summary.counts.items()):
            if count:
                self.stdout.write(f"  {label}: {count}")

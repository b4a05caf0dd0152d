"""Delete what abandoned or interrupted uploads left: python manage.py purge_uploads

Staged uploads past their expiry (`UPLOAD_STAGING_HOURS`) with their encrypted files, staged
files no row names, and notice files no plan refers to (an import whose worker was killed before
its transaction committed). It lives with the notices it knows about (core knows only
staged uploads). Run it from cron, e.g. hourly (docs/deploy.md).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.uploads import purge_expired
from quotas.services import purge_orphan_sources


class Command(BaseCommand):
    help = "Delete expired staged uploads and files that no row refers to."

    def handle(self, *args, **options):
        rows, files = purge_expired()
        sources = purge_orphan_sources()
        self.stdout.write(f"Purged {rows} expired staged uploads, {files} staged files, {sources} orphan notice files.")

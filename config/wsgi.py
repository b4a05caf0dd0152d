"""WSGI entry point (gunicorn config.wsgi).

On start: refuse to serve with weak keys (the `keys` system checks, which production settings
turn on), and purge staged uploads that expired while the portal was down (cheap: one indexed
DELETE and one directory listing).
"""

import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _on_start() -> None:
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    errors = [e for e in checks.run_checks(tags=["keys"]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))
    from core.uploads import purge_expired

    try:
        purge_expired()
    except DatabaseError as exc:  # not migrated yet: the next start or cron purges
        logging.getLogger(__name__).warning("purging staged uploads at start-up failed: %s", exc)


_on_start()

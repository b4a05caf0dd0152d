"""Database sessions, read in plain SQL.

Every signed-in request reads its session first. Django's database backend reads it through the
ORM, whose query building cost more than PostgreSQL's answer (bench_log_cost); this backend
reads the same row with the same conditions (the key, not expired) and leaves writing, expiry
and clearing to Django's. On PostgreSQL the read is a prepared statement (`core.prepared`).
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

from core.prepared import prepared


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        connection = connections[router.db_for_read(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(
                prepared(
                    "portal_session",
                    f"SELECT session_data FROM {self.model._meta.db_table} "  # noqa: S608 - the model's table name
                    "WHERE session_key = %s AND expire_date > %s",
                    2,
                    using=connection,
                ),
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0])

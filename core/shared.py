"""Readers of the same expensive page at the same moment share one computation.

Six leaders opening the national dashboard together each used to compute it: every view is
~0.4–0.8 s of CPU, and six of them queue on two cores for seconds. With `shared`, the first
reader computes while holding a PostgreSQL advisory lock on the page's key; readers arriving
meanwhile wait on that lock and then take its result instead of computing again. The result is
as fresh as their own would have been, give or take the computation they waited for: it began
before they arrived and ended after, so they see what a request served a moment earlier saw.

Nothing is cached between views that do not overlap: a reader who finds no computation under
way computes, so a donation logged before a view is always in it. The result is written to
`SharedResult` only when someone is waiting for it (`pg_locks` says so), and a waiter takes it
only if a computation finished while it waited (`generation`) for the same `variant` (e.g. the
day, whose date the figures depend on).

On SQLite (the demo, one process) every call computes: there are no concurrent readers to share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import SharedResult

# The first key of the two-key advisory locks this module takes (the second is the page's).
LOCK_SPACE = 0x5EA7  # "SEAT": arbitrary, distinct from other advisory locks of the project

_WAITING_SQL = """
    SELECT EXISTS (
        SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
        AND classid = %s AND objid = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    )
"""


def _lock_key(key: str) -> int:
    """A 31-bit number for `key` (non-negative, so it reads back from pg_locks' oid columns as is)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF


def _generation(key: str, variant: str) -> int | None:
    return SharedResult.objects.filter(key=key, variant=variant).values_list("generation", flat=True).first()


def _publish(key: str, variant: str, result: Any) -> None:
    """Store `result` for the waiters (under the key's lock: no other writer of this row)."""
    fields = {"variant": variant, "data": json.dumps(result), "computed_at": timezone.now()}
    if not SharedResult.objects.filter(key=key).update(generation=F("generation") + 1, **fields):
        SharedResult.objects.create(key=key, generation=1, **fields)


def shared(key: str, variant: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, or the result of the same computation another reader finished while this one
    waited for it. `key` names the page (its scope and options), `variant` what else the result
    depends on (the day); the result must survive a JSON round trip unchanged."""
    if connection.vendor != "postgresql":
        return compute()
    lock = _lock_key(key)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_SPACE, lock])
        if not cursor.fetchone()[0]:
            # Someone is computing this page: wait for them, then take what they found.
            seen = _generation(key, variant)
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, lock])
            row = SharedResult.objects.filter(key=key, variant=variant).values_list("generation", "data").first()
            if row is not None and row[0] != seen:
                return json.loads(row[1])
        result = compute()
        cursor.execute(_WAITING_SQL, [LOCK_SPACE, lock])
        if cursor.fetchone()[0]:
            _publish(key, variant, result)
        return result

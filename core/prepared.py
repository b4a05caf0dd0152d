"""Server-side prepared statements for the few fixed statements every donation logged runs.

psycopg2 sends each statement as text, so PostgreSQL parses and plans it on every request: for
the liaison's "log a donor" POST that was about 2 of its ~4 ms of PostgreSQL CPU (planning the
user-and-role read alone 0.6 ms; docs/performance.md, "Liaisons logging donations").
`prepared(name, sql, count)` PREPAREs the statement once per database connection (connections
persist: `CONN_MAX_AGE`) and returns the `EXECUTE` to run in its place with the same
parameters, so after its first runs PostgreSQL reuses the plan. On other databases (SQLite) it
returns the statement unchanged.

The PREPARE goes through the driver's own cursor: it is the connection's set-up, not one of the
request's queries (tests pin those). A statement prepared inside a transaction that rolls back
stays prepared (PostgreSQL's prepared statements are per session, not transactional).
Statements given here name their result columns (no `*`), so a migration that adds a column
does not change what a prepared statement returns; workers restart on every deploy.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections


def prepared(name: str, sql: str, count: int, *, using=None) -> str:
    """The SQL to run for `sql` (with `count` `%s` placeholders, no literal `%`): `EXECUTE name(…)`
    on PostgreSQL, after preparing it on this connection if needed; `sql` itself elsewhere.
    `using`: the connection (the default one if not given)."""
    # The wrapper itself, not `django.db.connection`: each attribute read through that proxy
    # first fails on the proxy (an AttributeError built and dropped; callgrind showed it).
    db = using or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return sql
    raw = db.connection
    if raw is None:  # (ensure_connection's own checks cost more than this test, on every call)
        db.ensure_connection()
        raw = db.connection
    done = getattr(db, "_portal_prepared", None)
    if done is None or done[0] is not raw:  # a new connection: nothing prepared on it yet
        done = db._portal_prepared = (raw, set())
    if name not in done[1]:
        text = sql % tuple(f"${i}" for i in range(1, count + 1))
        with raw.cursor() as cursor:
            cursor.execute(f"PREPARE {name} AS {text}")
        done[1].add(name)
    return f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"

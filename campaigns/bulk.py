"""Many donations at once, each with its history row: a roster's confirmation, a station apply.

`insert_donations` is the one home of that write. PostgreSQL: the ids drawn from the donation
sequence first, then two COPYs (`core.bulk.copy_rows`), one for the donations and one for their
history rows, instead of `bulk_create_with_history`: preparing every field of 5,000 roster
donations (or 25,000 station-only ones) and as many history rows through the ORM was about half
of a confirmation and most of a station apply (docs/performance.md). COPY fires the same row
triggers (the tally, the dashboard's marks) and the database checks the same constraints.
Elsewhere (SQLite) `bulk_create_with_history`.
"""

from __future__ import annotations

import json

from django.db import connection
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.bulk import copy_rows

from .models import Donation


def insert_donations(rows: list[dict], *, template: Donation, user, reason: str) -> list[int]:
    """Insert one donation per row, each with its history row ("+", by `user`, for `reason`),
    and return their ids in the rows' order.

    A row holds what differs from one donation to the next ({attribute name: value}, the same
    names in every row, as a service built and checked them); every other column is
    `template`'s, as the ORM would write it (`pre_save`, `get_db_prep_save`), prepared once.
    Call inside the caller's transaction (and its person locks).
    """
    if not rows:
        return []
    meta = Donation._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    own = list(rows[0])
    if connection.vendor != "postgresql":
        common = {f.attname: getattr(template, f.attname) for f in fields if f.attname not in own}
        created = bulk_create_with_history(
            [Donation(**common, **row) for row in rows],
            Donation,
            batch_size=1000,
            default_user=user,
            default_change_reason=reason,
        )
        return [donation.pk for donation in created]
    common = {f.attname: _prepared(f, template) for f in fields if f.attname not in own}
    as_json = [f.attname for f in fields if f.attname in own and f.get_internal_type() == "JSONField"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    written = [
        {meta.pk.attname: pk, **common, **row, **{name: _json(meta.get_field(name), row[name]) for name in as_json}}
        for pk, row in zip(ids, rows, strict=True)
    ]
    history = Donation.history.model
    extra = {
        "history_date": timezone.now(),
        "history_change_reason": reason,
        "history_type": "+",
        "history_user_id": user.pk if user is not None else None,
    }
    names = [f.attname for f in history._meta.concrete_fields if not f.primary_key]
    unknown = set(names) - set(written[0]) - set(extra)
    if unknown:  # a history column this path does not know how to fill
        raise RuntimeError(f"{history._meta.label}: no value for {sorted(unknown)}")
    copy_rows(Donation, written)
    copy_rows(history, [{name: extra[name] if name in extra else row[name] for name in names} for row in written])
    return ids


def _json(field, value) -> str:
    """A JSON field's value as COPY takes it (the field's own encoder)."""
    return json.dumps(value, cls=field.encoder, ensure_ascii=False)


def _prepared(field, instance):
    """A field's value as the ORM would insert it for `instance`, in a form COPY takes."""
    value = field.pre_save(instance, True)
    if field.get_internal_type() == "JSONField":
        return _json(field, value)
    return field.get_db_prep_save(value, connection)

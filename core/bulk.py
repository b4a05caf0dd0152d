"""Fast bulk writes for imports and drafts: PostgreSQL COPY and UPDATE … FROM, else plain SQL.

Django's bulk_create builds a model instance and compiles every value through the ORM: for a
20,000-row notice that was most of the import's time. Rows here are plain dicts of values the
service has already validated; the database's constraints remain the last word.
"""

from __future__ import annotations

import csv
import io
import json

from django.db import connection


class _Null:
    """COPY's NULL (`\\N`), written unquoted: csv's QUOTE_NONNUMERIC leaves numbers unquoted and
    this passes for one, while every string is quoted, so a text that reads `\\N` stays text."""

    def __float__(self) -> float:
        return 0.0

    def __str__(self) -> str:
        return NULL


NULL = r"\N"
_NULL = _Null()


def _csv_value(value):
    if value is None:
        return _NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    return value


def copy_rows(model, rows: list[dict]) -> None:
    """Insert rows (attribute name → value): COPY on PostgreSQL, bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    fields = list(rows[0])
    meta = model._meta
    columns = ", ".join(
        connection.ops.quote_name(
            meta.get_field(name.removesuffix("_id")).column
            if name.endswith("_id") and name != "id"
            else meta.get_field(name).column
        )
        for name in fields
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerows([_csv_value(row[name]) for name in fields] for row in rows)
    buffer.seek(0)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor, connection.wrap_database_errors:  # IntegrityError as Django's
        cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buffer)


def update_rows(model, rows: list[dict], fields: list[str]) -> None:
    """Set `fields` of many rows at once (each row: "pk" and the fields by attribute name).

    Django's bulk_update writes one CASE WHEN per field and compiles an expression per value:
    for a 3,000-line draft that was most of a recomputation (docs/performance.md, "Drafting").
    On PostgreSQL it is one UPDATE … FROM a JSON array; on SQLite, executemany.
    """
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [meta.get_field(name) for name in fields]
    pk = quote(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            assignments = ", ".join(
                f"{quote(f.column)} = "
                + (
                    f"v.value->'{f.attname}'"
                    if f.get_internal_type() == "JSONField"
                    else f"(v.value->>'{f.attname}')::{f.db_type(connection)}"
                )
                for f in columns
            )
            document = json.dumps([{"pk": row["pk"], **{f.attname: row[f.name] for f in columns}} for row in rows])
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM jsonb_array_elements(%s::jsonb) AS v(value) "  # noqa: S608
                f"WHERE {table}.{pk} = (v.value->>'pk')::bigint",
                [document],
            )
        else:
            assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                [[f.get_db_prep_save(row[f.name], connection) for f in columns] + [row["pk"]] for row in rows],
            )

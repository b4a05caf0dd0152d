"""Fast bulk writes for imports: PostgreSQL COPY, else Django's bulk_create.

Django's bulk_create builds a model instance and compiles every value through the ORM: for a
20,000-row notice that was most of the import's time. Rows here are plain dicts of values the
service has already validated; the database's constraints remain the last word.
"""

from __future__ import annotations

import csv
import io

from django.db import connection

NULL = r"\N"


def _csv_value(value):
    if value is None:
        return NULL
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
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([_csv_value(row[name]) for name in fields] for row in rows)
    buffer.seek(0)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buffer)

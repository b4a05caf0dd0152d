"""The tally's own index on unit_id duplicated the unique (unit_id, day) index, which starts with
the unit and serves every lookup by unit; it only cost a write on each new unit-day.

Dropped with plain SQL: Django's AlterField rebuilds the table on SQLite, which would drop the
dashboard's mark triggers on it (migrations 0010, 0011), and on PostgreSQL drops and re-adds
the foreign key (a scan of the whole tally).
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "campaigns_donationtally_unit_id_a95c9689"


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0014_summaries_keep_targets"),
        ("units", "0002_history"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON campaigns_donationtally (unit_id)",
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="donationtally",
                    name="unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="units.unit",
                        verbose_name="单位",
                    ),
                ),
            ],
        ),
    ]

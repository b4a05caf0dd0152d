"""Indexes no query uses, dropped (issue 23): each was one more write per donation logged.

- the donation's `unit_id` index: `donation_unit_date` (unit_id, donated_on) starts with the
  unit and serves every lookup by unit;
- the `varchar_pattern_ops` copy of the `id_number_hash` index that Django adds on PostgreSQL
  for LIKE: a keyed hash is only ever matched exactly. The plain index stays (a person's every
  donation, rejected ones too, `selectors.donor_history`), renamed `donation_id_hash` as the
  model now declares it;
- four indexes of the donation history: `id_number_hash` (and its LIKE copy), `drive_id`,
  `logged_by_id`, `reviewed_by_id` (the history is read by donation, time and author).

Plain SQL, as migration 0015: Django's AlterField rebuilds the table on SQLite, which would drop
the tally's triggers, and a rename keeps PostgreSQL from building the hash index again over a
large table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


DONATION_HASH = "campaigns_donation_id_number_hash_6e5ac2de"
DONATION_UNIT = "campaigns_donation_unit_id_9b565c0c"
HISTORY = {
    "campaigns_historicaldonation_id_number_hash_0fe4b45f": "id_number_hash",
    "campaigns_historicaldonation_drive_id_4eddde20": "drive_id",
    "campaigns_historicaldonation_logged_by_id_a6e20016": "logged_by_id",
    "campaigns_historicaldonation_reviewed_by_id_0357d833": "reviewed_by_id",
}


def forwards(apps, schema_editor):
    run = schema_editor.execute
    postgresql = schema_editor.connection.vendor == "postgresql"
    run(f"DROP INDEX IF EXISTS {DONATION_UNIT}")
    if postgresql:
        run(f"DROP INDEX IF EXISTS {DONATION_HASH}_like")
        run(f"ALTER INDEX {DONATION_HASH} RENAME TO donation_id_hash")
    else:  # SQLite cannot rename an index
        run(f"DROP INDEX IF EXISTS {DONATION_HASH}")
        run("CREATE INDEX donation_id_hash ON campaigns_donation (id_number_hash)")
    for name in HISTORY:
        run(f"DROP INDEX IF EXISTS {name}")
        if postgresql:
            run(f"DROP INDEX IF EXISTS {name}_like")


def backwards(apps, schema_editor):
    run = schema_editor.execute
    postgresql = schema_editor.connection.vendor == "postgresql"
    run(f"CREATE INDEX {DONATION_UNIT} ON campaigns_donation (unit_id)")
    if postgresql:
        run(f"ALTER INDEX donation_id_hash RENAME TO {DONATION_HASH}")
        run(f"CREATE INDEX {DONATION_HASH}_like ON campaigns_donation (id_number_hash varchar_pattern_ops)")
    else:
        run("DROP INDEX donation_id_hash")
        run(f"CREATE INDEX {DONATION_HASH} ON campaigns_donation (id_number_hash)")
    for name, column in HISTORY.items():
        run(f"CREATE INDEX {name} ON campaigns_historicaldonation ({column})")
    if postgresql:
        hash_index = next(iter(HISTORY))
        run(f"CREATE INDEX {hash_index}_like ON campaigns_historicaldonation (id_number_hash varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0020_donation_source_station_verified"),
        ("units", "0003_clean_stored_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="donation",
                    name="id_number_hash",
                    field=models.CharField(editable=False, max_length=64, verbose_name="身份证号散列"),
                ),
                migrations.AlterField(
                    model_name="donation",
                    name="unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="donations",
                        to="units.unit",
                        verbose_name="单位",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicaldonation",
                    name="drive",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="campaigns.donationdrive",
                        verbose_name="献血活动",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicaldonation",
                    name="id_number_hash",
                    field=models.CharField(editable=False, max_length=64, verbose_name="身份证号散列"),
                ),
                migrations.AlterField(
                    model_name="historicaldonation",
                    name="logged_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="登记人",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicaldonation",
                    name="reviewed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="审核人",
                    ),
                ),
                migrations.AddIndex(
                    model_name="donation",
                    index=models.Index(fields=["id_number_hash"], name="donation_id_hash"),
                ),
            ],
        ),
    ]

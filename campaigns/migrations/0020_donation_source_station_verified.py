# ruff: noqa: E501 -- frozen SQL text
"""Where a donation came from, whether the blood station's record confirms it, and the kept
count of station-verified donations per jurisdiction and year (`VerifiedTally`) with its triggers.

SQLite adds the two columns by rebuilding the donation table, which drops its triggers: the
tally's (unchanged since 0017) and the staff marks' are put back, then the new ones installed.
The SQL is frozen here, as in 0006 and 0013: never edit these constants.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models


SQLITE_TALLY_TRIGGERS = importlib.import_module("campaigns.migrations.0017_blood_units_derived").SQLITE_TALLY_TRIGGERS

# A donation counts here when it is station-verified and not rejected; its jurisdiction is its
# unit's. The unit's move to another jurisdiction carries its counts along (per year).

SQL = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION campaigns_donation_verified() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.station_verified AND OLD.status <> 'rejected' THEN
        UPDATE campaigns_verifiedtally SET persons = persons - 1
        WHERE year = CAST(EXTRACT(YEAR FROM OLD.donated_on) AS integer)
          AND jurisdiction_id = (SELECT jurisdiction_id FROM units_unit WHERE id = OLD.unit_id);
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.station_verified AND NEW.status <> 'rejected' THEN
        INSERT INTO campaigns_verifiedtally (jurisdiction_id, year, persons)
        SELECT jurisdiction_id, CAST(EXTRACT(YEAR FROM NEW.donated_on) AS integer), 1 FROM units_unit WHERE id = NEW.unit_id
        ON CONFLICT (jurisdiction_id, year) DO UPDATE SET persons = campaigns_verifiedtally.persons + 1;
      END IF;
      RETURN NULL;
    END $$""",
        """CREATE TRIGGER campaigns_donation_verified_ins AFTER INSERT ON campaigns_donation
        FOR EACH ROW WHEN (NEW.station_verified) EXECUTE FUNCTION campaigns_donation_verified()""",
        """CREATE TRIGGER campaigns_donation_verified_del AFTER DELETE ON campaigns_donation
        FOR EACH ROW WHEN (OLD.station_verified) EXECUTE FUNCTION campaigns_donation_verified()""",
        # Updates once per statement, over its transition tables: an apply marks thousands of
        # donations verified in one statement, and one row per jurisdiction and year is written
        # (a row trigger upserting the same row thousands of times in one transaction grows its
        # version chain: quadratic). Inserts and deletes stay row triggers filtered by WHEN, so
        # a liaison's logging (never station-verified) fires nothing.
        """CREATE OR REPLACE FUNCTION campaigns_donation_verified_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO campaigns_verifiedtally (jurisdiction_id, year, persons)
      SELECT s.jurisdiction_id, s.y, SUM(s.d) FROM (
        SELECT u.jurisdiction_id, CAST(EXTRACT(YEAR FROM n.donated_on) AS integer) AS y, 1 AS d
        FROM new_rows n JOIN units_unit u ON u.id = n.unit_id WHERE n.station_verified AND n.status <> 'rejected'
        UNION ALL
        SELECT u.jurisdiction_id, CAST(EXTRACT(YEAR FROM o.donated_on) AS integer), -1
        FROM old_rows o JOIN units_unit u ON u.id = o.unit_id WHERE o.station_verified AND o.status <> 'rejected'
      ) s GROUP BY s.jurisdiction_id, s.y HAVING SUM(s.d) <> 0
      ON CONFLICT (jurisdiction_id, year) DO UPDATE SET persons = campaigns_verifiedtally.persons + excluded.persons;
      RETURN NULL;
    END $$""",
        """CREATE TRIGGER campaigns_donation_verified_upd AFTER UPDATE ON campaigns_donation
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION campaigns_donation_verified_rows()""",
        """CREATE OR REPLACE FUNCTION campaigns_unit_verified_moves() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE campaigns_verifiedtally t SET persons = t.persons - s.n FROM (
        SELECT CAST(EXTRACT(YEAR FROM donated_on) AS integer) AS y, COUNT(*) AS n FROM campaigns_donation
        WHERE unit_id = NEW.id AND station_verified AND status <> 'rejected' GROUP BY 1) s
      WHERE t.jurisdiction_id = OLD.jurisdiction_id AND t.year = s.y;
      INSERT INTO campaigns_verifiedtally (jurisdiction_id, year, persons)
      SELECT NEW.jurisdiction_id, CAST(EXTRACT(YEAR FROM donated_on) AS integer), COUNT(*) FROM campaigns_donation
      WHERE unit_id = NEW.id AND station_verified AND status <> 'rejected' GROUP BY 2
      ON CONFLICT (jurisdiction_id, year) DO UPDATE SET persons = campaigns_verifiedtally.persons + excluded.persons;
      RETURN NULL;
    END $$""",
        """CREATE TRIGGER campaigns_unit_verified_moves AFTER UPDATE OF jurisdiction_id ON units_unit
        FOR EACH ROW WHEN (OLD.jurisdiction_id IS DISTINCT FROM NEW.jurisdiction_id) EXECUTE FUNCTION campaigns_unit_verified_moves()""",
    ],
    "sqlite": [
        """CREATE TRIGGER campaigns_donation_verified_ins AFTER INSERT ON campaigns_donation
        WHEN NEW.station_verified AND NEW.status <> 'rejected' BEGIN
          INSERT INTO campaigns_verifiedtally (jurisdiction_id, year, persons)
          SELECT jurisdiction_id, CAST(strftime('%Y', NEW.donated_on) AS integer), 1 FROM units_unit WHERE id = NEW.unit_id
          ON CONFLICT (jurisdiction_id, year) DO UPDATE SET persons = campaigns_verifiedtally.persons + 1;
        END""",
        """CREATE TRIGGER campaigns_donation_verified_del AFTER DELETE ON campaigns_donation
        WHEN OLD.station_verified AND OLD.status <> 'rejected' BEGIN
          UPDATE campaigns_verifiedtally SET persons = persons - 1
          WHERE year = CAST(strftime('%Y', OLD.donated_on) AS integer)
            AND jurisdiction_id = (SELECT jurisdiction_id FROM units_unit WHERE id = OLD.unit_id);
        END""",
        """CREATE TRIGGER campaigns_donation_verified_upd AFTER UPDATE ON campaigns_donation
        WHEN (OLD.station_verified OR NEW.station_verified) AND (OLD.station_verified IS NOT NEW.station_verified
          OR OLD.unit_id IS NOT NEW.unit_id OR OLD.donated_on IS NOT NEW.donated_on
          OR (OLD.status = 'rejected') IS NOT (NEW.status = 'rejected')) BEGIN
          UPDATE campaigns_verifiedtally SET persons = persons - 1
          WHERE OLD.station_verified AND OLD.status <> 'rejected' AND year = CAST(strftime('%Y', OLD.donated_on) AS integer)
            AND jurisdiction_id = (SELECT jurisdiction_id FROM units_unit WHERE id = OLD.unit_id);
          INSERT INTO campaigns_verifiedtally (jurisdiction_id, year, persons)
          SELECT jurisdiction_id, CAST(strftime('%Y', NEW.donated_on) AS integer), 1 FROM units_unit
          WHERE id = NEW.unit_id AND NEW.station_verified AND NEW.status <> 'rejected'
          ON CONFLICT (jurisdiction_id, year) DO UPDATE SET persons = campaigns_verifiedtally.persons + 1;
        END""",
        """CREATE TRIGGER campaigns_unit_verified_moves AFTER UPDATE OF jurisdiction_id ON units_unit
        WHEN OLD.jurisdiction_id IS NOT NEW.jurisdiction_id BEGIN
          UPDATE campaigns_verifiedtally SET persons = persons - (
            SELECT COUNT(*) FROM campaigns_donation WHERE unit_id = NEW.id AND station_verified AND status <> 'rejected'
              AND CAST(strftime('%Y', donated_on) AS integer) = campaigns_verifiedtally.year)
          WHERE jurisdiction_id = OLD.jurisdiction_id;
          INSERT INTO campaigns_verifiedtally (jurisdiction_id, year, persons)
          SELECT NEW.jurisdiction_id, CAST(strftime('%Y', donated_on) AS integer) AS y, COUNT(*) FROM campaigns_donation
          WHERE unit_id = NEW.id AND station_verified AND status <> 'rejected' GROUP BY y
          ON CONFLICT (jurisdiction_id, year) DO UPDATE SET persons = campaigns_verifiedtally.persons + excluded.persons;
        END""",
    ],
}
REMOVE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS campaigns_donation_verified_ins ON campaigns_donation",
        "DROP TRIGGER IF EXISTS campaigns_donation_verified_del ON campaigns_donation",
        "DROP TRIGGER IF EXISTS campaigns_donation_verified_upd ON campaigns_donation",
        "DROP TRIGGER IF EXISTS campaigns_unit_verified_moves ON units_unit",
        "DROP FUNCTION IF EXISTS campaigns_donation_verified()",
        "DROP FUNCTION IF EXISTS campaigns_donation_verified_rows()",
        "DROP FUNCTION IF EXISTS campaigns_unit_verified_moves()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS campaigns_donation_verified_ins",
        "DROP TRIGGER IF EXISTS campaigns_donation_verified_del",
        "DROP TRIGGER IF EXISTS campaigns_donation_verified_upd",
        "DROP TRIGGER IF EXISTS campaigns_unit_verified_moves",
    ],
}


def restore_sqlite_triggers(apps, schema_editor):
    """The tally's triggers on the donation table, after SQLite's rebuild (as 0018)."""
    if schema_editor.connection.vendor == "sqlite":
        for name in ("campaigns_donation_tally_ins", "campaigns_donation_tally_del", "campaigns_donation_tally_upd"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for sql in SQLITE_TALLY_TRIGGERS:
            schema_editor.execute(sql)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in SQL.get(vendor, []):
        schema_editor.execute(sql)


def remove(apps, schema_editor):
    for sql in REMOVE.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)



class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0019_role_permissions'),
        ('units', '0002_history'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_triggers),  # after a rebuild going back
        migrations.AddField(
            model_name='donation',
            name='source',
            field=models.CharField(choices=[('reported', '单位上报'), ('station', '血站记录')], db_default='reported', default='reported', max_length=10, verbose_name='来源'),
        ),
        migrations.AddField(
            model_name='donation',
            name='station_verified',
            field=models.BooleanField(db_default=False, default=False, verbose_name='血站核实'),
        ),
        migrations.AddField(
            model_name='historicaldonation',
            name='source',
            field=models.CharField(choices=[('reported', '单位上报'), ('station', '血站记录')], db_default='reported', default='reported', max_length=10, verbose_name='来源'),
        ),
        migrations.AddField(
            model_name='historicaldonation',
            name='station_verified',
            field=models.BooleanField(db_default=False, default=False, verbose_name='血站核实'),
        ),
        migrations.CreateModel(
            name='VerifiedTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('year', models.PositiveSmallIntegerField()),
                ('persons', models.IntegerField(default=0)),
                ('jurisdiction', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='units.jurisdiction')),
            ],
            options={
                'verbose_name': '血站核实统计',
                'verbose_name_plural': '血站核实统计',
                'constraints': [models.UniqueConstraint(fields=('jurisdiction', 'year'), name='verified_tally_year')],
            },
        ),
        migrations.RunPython(restore_sqlite_triggers, migrations.RunPython.noop),
        migrations.RunPython(install, remove),
    ]

# ruff: noqa: E501 -- frozen SQL text
"""The tally counts inserted donations once per statement, not once per row (PostgreSQL).

A roster's confirmation COPYs all its donations in one statement, nearly all of them into the
same unit and day: the row trigger of 0006 updated that one tally row once per donation, and the
tally's own row triggers (0013's marks) fired as often. Every update of a row in one transaction
adds a version to a chain the next update must walk, so a 50,000-row roster's confirmation grew
with the square of its rows (`bench_roster`: 238 µs a row at 5,000, 551 at 50,000;
docs/performance.md). Now the insert trigger is a statement trigger over the statement's new
rows (a transition table): one upsert per (unit, day) and statement, in (unit, day) order
within the statement (a transaction of several statements locks its days statement by
statement, as before). A liaison's single insert still upserts one row. Deletes and updates
keep 0006's row trigger.

Trigger order on an insert is now: the row triggers first (0020's station-verified count, for a
donation inserted already verified, which no path does today: station-only donations are
inserted unverified and verified by an UPDATE), then this statement trigger (the tally, whose
own triggers mark plans and jurisdictions).

SQLite has no transition tables: its row triggers (0006, put back by 0017 and 0020) stay.
"""

from django.db import migrations

# Frozen as it ran: never edit (tests/campaigns/test_frozen_triggers.py reads it).
SQL = {
    "install": [
        "DROP TRIGGER IF EXISTS campaigns_donation_tally_ins ON campaigns_donation",
        """CREATE OR REPLACE FUNCTION campaigns_donation_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO campaigns_donationtally (unit_id, day, persons, blood_units)
      SELECT unit_id, donated_on, COUNT(*), SUM(blood_units) FROM inserted_donations
      WHERE status <> 'rejected' GROUP BY unit_id, donated_on ORDER BY unit_id, donated_on
      ON CONFLICT (unit_id, day) DO UPDATE SET persons = campaigns_donationtally.persons + excluded.persons,
        blood_units = campaigns_donationtally.blood_units + excluded.blood_units;
      RETURN NULL;
    END $$""",
        """CREATE TRIGGER campaigns_donation_tally_ins AFTER INSERT ON campaigns_donation
        REFERENCING NEW TABLE AS inserted_donations
        FOR EACH STATEMENT EXECUTE FUNCTION campaigns_donation_tally_inserted()""",
        """CREATE TRIGGER campaigns_donation_tally_del AFTER DELETE ON campaigns_donation
        FOR EACH ROW EXECUTE FUNCTION campaigns_donation_tally()""",
    ],
    "remove": [
        "DROP TRIGGER IF EXISTS campaigns_donation_tally_del ON campaigns_donation",
        "DROP TRIGGER IF EXISTS campaigns_donation_tally_ins ON campaigns_donation",
        "DROP FUNCTION IF EXISTS campaigns_donation_tally_inserted()",
        """CREATE TRIGGER campaigns_donation_tally_ins AFTER INSERT OR DELETE ON campaigns_donation
        FOR EACH ROW EXECUTE FUNCTION campaigns_donation_tally()""",
    ],
}


def _run(key):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in SQL[key]:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0021_alter_donation_id_number_hash_alter_donation_unit_and_more")]

    operations = [migrations.RunPython(_run("install"), _run("remove"))]

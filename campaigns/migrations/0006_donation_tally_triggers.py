# ruff: noqa: E501 -- frozen SQL text
"""Triggers that keep the donation tally, and the tally of the donations already stored."""

from django.db import migrations


# The SQL this migration runs, frozen as it ran (generated once from campaigns/tally.py and
# campaigns/progress.py as they stood on 2026-12-02): a migration never imports live code, so a
# later change there cannot change what an old migration does. Never edit these constants.
SQL = {'postgresql': {'install': ['\n'
                            '    CREATE OR REPLACE FUNCTION campaigns_donation_tally() RETURNS '
                            'trigger LANGUAGE plpgsql AS $$\n'
                            '    BEGIN\n'
                            "      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'rejected' "
                            'THEN\n'
                            '        UPDATE campaigns_donationtally SET persons = persons - 1, '
                            'blood_units = blood_units - OLD.blood_units WHERE unit_id = '
                            'OLD.unit_id AND day = OLD.donated_on;\n'
                            '      END IF;\n'
                            "      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status <> 'rejected' "
                            'THEN\n'
                            '        INSERT INTO campaigns_donationtally (unit_id, day, persons, '
                            'blood_units) VALUES (NEW.unit_id, NEW.donated_on, 1, NEW.blood_units) '
                            'ON CONFLICT (unit_id, day) DO UPDATE SET persons = '
                            'campaigns_donationtally.persons + 1, blood_units = '
                            'campaigns_donationtally.blood_units + excluded.blood_units;\n'
                            '      END IF;\n'
                            '      RETURN NULL;\n'
                            '    END $$\n'
                            '    ',
                            'CREATE TRIGGER campaigns_donation_tally_ins AFTER INSERT OR DELETE ON '
                            'campaigns_donation\n'
                            '        FOR EACH ROW EXECUTE FUNCTION campaigns_donation_tally()',
                            'CREATE TRIGGER campaigns_donation_tally_upd AFTER UPDATE ON '
                            'campaigns_donation\n'
                            '        FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id '
                            'OR OLD.donated_on IS DISTINCT FROM NEW.donated_on OR OLD.blood_units '
                            "IS DISTINCT FROM NEW.blood_units OR (OLD.status = 'rejected') IS "
                            "DISTINCT FROM (NEW.status = 'rejected')) EXECUTE FUNCTION "
                            'campaigns_donation_tally()'],
                'remove': ['DROP TRIGGER IF EXISTS campaigns_donation_tally_ins ON '
                           'campaigns_donation',
                           'DROP TRIGGER IF EXISTS campaigns_donation_tally_upd ON '
                           'campaigns_donation',
                           'DROP FUNCTION IF EXISTS campaigns_donation_tally()']},
 'sqlite': {'install': ['CREATE TRIGGER campaigns_donation_tally_ins AFTER INSERT ON '
                        'campaigns_donation\n'
                        "        WHEN NEW.status <> 'rejected' BEGIN INSERT INTO "
                        'campaigns_donationtally (unit_id, day, persons, blood_units) VALUES '
                        '(NEW.unit_id, NEW.donated_on, 1, NEW.blood_units) ON CONFLICT (unit_id, '
                        'day) DO UPDATE SET persons = campaigns_donationtally.persons + 1, '
                        'blood_units = campaigns_donationtally.blood_units + excluded.blood_units; '
                        'END',
                        'CREATE TRIGGER campaigns_donation_tally_del AFTER DELETE ON '
                        'campaigns_donation\n'
                        "        WHEN OLD.status <> 'rejected' BEGIN UPDATE "
                        'campaigns_donationtally SET persons = persons - 1, blood_units = '
                        'blood_units - OLD.blood_units WHERE unit_id = OLD.unit_id AND day = '
                        'OLD.donated_on; END',
                        'CREATE TRIGGER campaigns_donation_tally_upd AFTER UPDATE ON '
                        'campaigns_donation\n'
                        '        WHEN OLD.unit_id IS NOT NEW.unit_id OR OLD.donated_on IS NOT '
                        'NEW.donated_on OR OLD.blood_units IS NOT NEW.blood_units OR (OLD.status = '
                        "'rejected') IS NOT (NEW.status = 'rejected') BEGIN\n"
                        '          UPDATE campaigns_donationtally SET persons = persons - 1, '
                        'blood_units = blood_units - OLD.blood_units WHERE unit_id = OLD.unit_id '
                        "AND day = OLD.donated_on AND OLD.status <> 'rejected';\n"
                        '          INSERT INTO campaigns_donationtally (unit_id, day, persons, '
                        'blood_units) SELECT NEW.unit_id, NEW.donated_on, 1, NEW.blood_units WHERE '
                        "NEW.status <> 'rejected' ON CONFLICT (unit_id, day) DO UPDATE SET persons "
                        '= campaigns_donationtally.persons + 1, blood_units = '
                        'campaigns_donationtally.blood_units + excluded.blood_units;\n'
                        '        END'],
            'remove': ['DROP TRIGGER IF EXISTS campaigns_donation_tally_ins',
                       'DROP TRIGGER IF EXISTS campaigns_donation_tally_del',
                       'DROP TRIGGER IF EXISTS campaigns_donation_tally_upd']}}
RECOUNT = ['DELETE FROM campaigns_donationtally',
 'INSERT INTO campaigns_donationtally (unit_id, day, persons, blood_units)\n'
 '        SELECT unit_id, donated_on, COUNT(*), SUM(blood_units) FROM campaigns_donation\n'
 "        WHERE status <> 'rejected' GROUP BY unit_id, donated_on"]

def forward(apps, schema_editor):
    for sql in SQL.get(schema_editor.connection.vendor, {}).get("install", []) + RECOUNT:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    for sql in SQL.get(schema_editor.connection.vendor, {}).get("remove", []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_donation_tally")]

    operations = [migrations.RunPython(forward, backward)]

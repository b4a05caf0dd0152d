"""Triggers that keep the donation tally, and the tally of the donations already stored."""

from django.db import migrations

from campaigns import tally


def forward(apps, schema_editor):
    tally.install_triggers(schema_editor)
    for sql in tally.RECOUNT:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    tally.remove_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_donation_tally")]

    operations = [migrations.RunPython(forward, backward)]

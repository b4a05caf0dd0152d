"""Kept plan summaries now also hold the plan's targets by due month and per sub-jurisdiction:
every kept one is stale."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0013_staff_edits_mark_plans")]

    operations = [
        migrations.RunSQL(
            "UPDATE campaigns_progressversion SET n = n + 1 WHERE id = 1",
            "UPDATE campaigns_progressversion SET n = n + 1 WHERE id = 1",
        )
    ]

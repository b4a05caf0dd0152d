"""The dashboard's lists now break ties (equal shortfall) by due date, then quota id; a kept
summary chose its ten by shortfall alone: every kept one is stale."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0015_tally_unit_index_dropped")]

    operations = [
        migrations.RunSQL(
            "UPDATE campaigns_progressversion SET n = n + 1 WHERE id = 1",
            "UPDATE campaigns_progressversion SET n = n + 1 WHERE id = 1",
        )
    ]

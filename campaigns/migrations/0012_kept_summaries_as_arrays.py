"""Kept plan summaries now list quotas as JSON arrays, not objects: every kept one is stale."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0011_jurisdiction_progress")]

    operations = [
        migrations.RunSQL(
            "UPDATE campaigns_progressversion SET n = n + 1 WHERE id = 1",
            "UPDATE campaigns_progressversion SET n = n + 1 WHERE id = 1",
        )
    ]

"""The station-verified basis read from an index alone (issue 23, on the uneven scale set).

A partial covering index of the verified, counted donations by unit and day: the unit table's
血站核实 column and `?basis=verified` sum exactly these rows. Without it the largest county's
unit table read 52,000 heap pages to find none verified. New donations are not verified, so
logging never writes to it; a station apply's verification does.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0022_tally_insert_per_statement'),
        ('units', '0003_clean_stored_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='donation',
            index=models.Index(condition=models.Q(('station_verified', True), models.Q(('status', 'rejected'), _negated=True)), fields=['unit', 'donated_on'], include=('blood_units',), name='donation_verified_unit_date'),
        ),
    ]

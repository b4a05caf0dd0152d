"""Blood-office staff may read the access log; nobody may change it through the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def forward(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff = Group.objects.filter(name="献血办").first()
    if staff:
        staff.permissions.add(
            *Permission.objects.filter(content_type__app_label="campaigns", codename="view_accessevent")
        )


def reverse(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_donation_doses_access_events")]

    operations = [migrations.RunPython(forward, reverse)]

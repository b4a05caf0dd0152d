"""Blood-office staff draft allocations; leadership and liaisons do not see drafts."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["plandraft", "draftline"]


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
            *Permission.objects.filter(content_type__app_label="quotas", content_type__model__in=MODELS)
        )


def reverse(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    staff = Group.objects.filter(name="献血办").first()
    if staff:
        staff.permissions.remove(
            *Permission.objects.filter(content_type__app_label="quotas", content_type__model__in=MODELS)
        )


class Migration(migrations.Migration):
    dependencies = [("quotas", "0003_plan_drafts"), ("campaigns", "0002_roles")]

    operations = [migrations.RunPython(forward, reverse)]

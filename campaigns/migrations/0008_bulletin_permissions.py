"""Staff freeze bulletins and may delete a mistaken one; leadership reads them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def forward(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    grants = {"献血办": ["add_bulletin", "view_bulletin", "delete_bulletin"], "领导": ["view_bulletin"]}
    for group_name, codenames in grants.items():
        group = Group.objects.filter(name=group_name).first()
        if group:
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0007_bulletin")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]

"""Blood-office staff import the station's records and reconcile them (units.roles.RECONCILE_STATION)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {"献血办": ["reconcile_station", "view_stationexport", "view_collectionrecord"]}


def forward(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions are normally created after migrate
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="stations", codename__in=codenames)
            )


def backward(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="stations", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("stations", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="collectionrecord",
            options={
                "ordering": ["-collected_on", "-id"],
                "permissions": [("reconcile_station", "导入血站记录并核对")],
                "verbose_name": "血站采血记录",
                "verbose_name_plural": "血站采血记录",
            },
        ),
        migrations.RunPython(forward, backward),
    ]

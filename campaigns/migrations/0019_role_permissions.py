"""The portal pages check permissions, not group names: liaisons log donations, staff and
leadership read the dashboard (units.roles). The grants are frozen here, as every data migration's."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {"联络员": ["log_donation"], "献血办": ["view_dashboard"], "领导": ["view_dashboard"]}


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
            group.permissions.add(*Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames))


def backward(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames))


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0018_donation_declared_history_and_more'),
        ('campaigns', '0002_roles'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='donation',
            options={'ordering': ['-donated_on', '-id'], 'permissions': [('log_donation', '登记本单位献血者（联络员页面）'), ('view_dashboard', '查看完成情况、导出与通报')], 'verbose_name': '献血记录', 'verbose_name_plural': '献血记录'},
        ),
        migrations.RunPython(forward, backward),
    ]

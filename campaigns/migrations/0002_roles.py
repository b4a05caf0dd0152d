"""Create the three roles as groups with their permissions.

Blood-office staff: add/change/delete/view on every portal model. Leadership: view only,
and nothing of donations (numbers, never names). Liaisons: no admin permission at all; their
pages check their units on the server.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

BLOOD_OFFICE, LEADERSHIP, LIAISON = "献血办", "领导", "联络员"
MODELS = [
    ("units", "jurisdiction"),
    ("units", "unit"),
    ("units", "unitalias"),
    ("units", "liaison"),
    ("units", "staffprofile"),
    ("quotas", "annualplan"),
    ("quotas", "quota"),
    ("quotas", "plansource"),
    ("campaigns", "donationdrive"),
    ("campaigns", "donation"),
]
LEADERSHIP_HIDDEN = {("campaigns", "donation")}


def forward(apps, schema_editor):
    # Permissions are normally created after migrate; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff, _ = Group.objects.get_or_create(name=BLOOD_OFFICE)
    leadership, _ = Group.objects.get_or_create(name=LEADERSHIP)
    Group.objects.get_or_create(name=LIAISON)
    for app_label, model in MODELS:
        perms = Permission.objects.filter(content_type__app_label=app_label, content_type__model=model)
        staff.permissions.add(*perms)
        if (app_label, model) not in LEADERSHIP_HIDDEN:
            leadership.permissions.add(*perms.filter(codename__startswith="view_"))


def reverse(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[BLOOD_OFFICE, LEADERSHIP, LIAISON]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("quotas", "0001_initial"),
        ("units", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, reverse)]

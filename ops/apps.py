from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations over the whole portal: backup and restore, recounts, the demo data."""

    name = "ops"
    verbose_name = _("运维")

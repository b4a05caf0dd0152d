from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Plumbing every app shares: upload staging and bounded parsing, workbook writing, key checks."""

    name = "core"
    verbose_name = _("公共组件")

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks

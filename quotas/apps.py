from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotasConfig(AppConfig):
    name = "quotas"
    verbose_name = _("年度计划与任务")

    def ready(self):
        from units.merge import register_merge_check

        from .services import unit_merge_conflicts

        register_merge_check(unit_merge_conflicts)  # two quotas of one plan on one unit and period

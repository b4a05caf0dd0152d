from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("献血活动与献血记录")

    def ready(self):
        # Drafting (quotas, a layer below) proposes next year's plan from last year's completed
        # figures, which only the counting core here knows: it asks through its hook.
        from quotas.drafting.selectors import register_completed_reader

        from .dashboard.figures import plan_completed

        register_completed_reader(plan_completed)

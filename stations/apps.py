from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    name = "stations"
    verbose_name = _("血站采血记录")

    def ready(self):
        # The liaison's donor lists (campaigns) show what the station's records say of each
        # donation, through campaigns' hook: campaigns never imports this app.
        from campaigns.extensions import register_donation_marks

        from .selectors import station_marks

        register_donation_marks(station_marks)

from django.urls import path

from .dashboard import views as dashboard_views
from .liaison import views as liaison_views

app_name = "campaigns"

urlpatterns = [
    path("liaison/", liaison_views.liaison_home, name="liaison_home"),
    path("liaison/log/", liaison_views.log_donation, name="log_donation"),
    path("liaison/donations/", liaison_views.donor_list, name="donor_list"),
    path("liaison/donations/<int:pk>/edit/", liaison_views.edit_donation, name="edit_donation"),
    path("liaison/donations/<int:pk>/withdraw/", liaison_views.withdraw_donation, name="withdraw_donation"),
    path("liaison/roster/", liaison_views.upload_roster, name="upload_roster"),
    path("liaison/roster/template.xlsx", liaison_views.roster_template, name="roster_template"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/export.xlsx", dashboard_views.dashboard_export, name="dashboard_export"),
    path("dashboard/bulletins/new/", dashboard_views.bulletin_create, name="bulletin_create"),
    path("dashboard/bulletins/<int:pk>/", dashboard_views.bulletin_detail, name="bulletin"),
    path("dashboard/bulletins/<int:pk>/export.xlsx", dashboard_views.bulletin_export, name="bulletin_export"),
    path("dashboard/bulletins/<int:pk>/compare/", dashboard_views.bulletin_compare, name="bulletin_compare"),
]

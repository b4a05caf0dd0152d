from django.urls import path

from . import liaison_views, views

app_name = "campaigns"

urlpatterns = [
    path("liaison/", views.liaison_home, name="liaison_home"),
    path("liaison/log/", liaison_views.log_donation, name="log_donation"),
    path("liaison/donations/<int:pk>/edit/", liaison_views.edit_donation, name="edit_donation"),
    path("liaison/donations/<int:pk>/withdraw/", liaison_views.withdraw_donation, name="withdraw_donation"),
    path("liaison/roster/", liaison_views.upload_roster, name="upload_roster"),
    path("liaison/roster/template.xlsx", liaison_views.roster_template, name="roster_template"),
    path("dashboard/", views.dashboard, name="dashboard"),
]

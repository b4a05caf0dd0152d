from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("liaison/", views.liaison_home, name="liaison_home"),
    path("dashboard/", views.dashboard, name="dashboard"),
]

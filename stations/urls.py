from django.urls import path

from . import views

app_name = "stations"

urlpatterns = [
    path("stations/", views.overview, name="overview"),
    path("stations/import/", views.upload, name="upload"),
    path("stations/export.xlsx", views.export, name="export"),
    path("stations/units/<int:pk>/", views.unit_detail, name="unit"),
]

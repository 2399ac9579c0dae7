from __future__ import annotations

from django.urls import path

from coachloop.ingest import views

app_name = "ingest"
urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.batch_detail, name="batch"),
    path("imports/<int:pk>/errors.csv", views.batch_errors, name="errors"),
]

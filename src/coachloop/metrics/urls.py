from __future__ import annotations

from django.urls import path

from coachloop.metrics import views

app_name = "metrics"
urlpatterns = [
    path("teams/<int:pk>/kpis.csv", views.team_csv, name="team-csv"),
    path("programs/<int:pk>/targets/", views.targets_page, name="targets"),
    path("programs/<int:pk>/exclusions/", views.exclusions_page, name="exclusions"),
    path("exclusions/<int:pk>/revert/", views.exclusion_revert, name="exclusion-revert"),
]

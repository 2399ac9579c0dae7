"""The URL map. Every route is checked by the route crawler test (core/tests/test_routes.py):
public routes must be on its allowlist, and routes taking an id must be registered there."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from coachloop.api import api

urlpatterns = [
    path("", include("coachloop.core.urls")),
    path("", include("coachloop.org.urls")),
    path("", include("coachloop.ingest.urls")),
    path("", include("coachloop.interactions.urls")),
    path("", include("coachloop.metrics.urls")),
    path("", include("coachloop.quality.urls")),
    path("", include("coachloop.insights.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler403 = "coachloop.core.views.error_403"
handler404 = "coachloop.core.views.error_404"
handler500 = "coachloop.core.views.error_500"

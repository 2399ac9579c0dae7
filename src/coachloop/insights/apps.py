from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "coachloop.insights"
    label = "insights"
    verbose_name = "Insights"

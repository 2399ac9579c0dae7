from __future__ import annotations

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "coachloop.metrics"
    label = "metrics"
    verbose_name = "Metrics"

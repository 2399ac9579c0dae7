from __future__ import annotations

from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "coachloop.interactions"
    label = "interactions"

from __future__ import annotations

from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "coachloop.simulator"
    label = "simulator"

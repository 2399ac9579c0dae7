"""Admin for QA: a read of scorecards, evaluations and calibration sessions (they change through
the QA pages and the API, so events are written and KPIs recomputed), and the programs' QA
policies, saved through the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from coachloop.metrics.admin import ReadOnlyAdmin
from coachloop.quality import services
from coachloop.quality.models import Calibration, Evaluation, QaPolicy, Scorecard


@admin.register(Scorecard)
class ScorecardAdmin(ReadOnlyAdmin):
    list_display = ["key", "version", "name", "critical_scope", "is_current"]
    list_filter = ["is_current", "critical_scope"]
    search_fields = ["key", "name"]


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "program", "agent", "evaluator", "local_date", "status", "score"]
    list_filter = ["program", "status"]
    search_fields = ["agent__name", "agent__external_id", "external_id"]


@admin.register(Calibration)
class CalibrationAdmin(ReadOnlyAdmin):
    list_display = ["name", "program", "status", "external_id", "created_at"]
    list_filter = ["program", "status"]


@admin.register(QaPolicy)
class QaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "program",
        "per_agent_per_week",
        "targeted_per_agent_per_week",
        "acknowledge_within_days",
    ]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.qa_policy_set(
            program=obj.program,
            by=request.user,
            **{field: getattr(obj, field) for field in services.POLICY_FIELDS},
        )

"""Admin for insights: a read of the leads' decisions on opportunities (they are made on the
diagnosis page through the services, which check who may decide and record the events)."""

from __future__ import annotations

from django.contrib import admin

from coachloop.insights.models import OpportunityDecision
from coachloop.metrics.admin import ReadOnlyAdmin


@admin.register(OpportunityDecision)
class OpportunityDecisionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "program", "agent", "key", "decision", "until", "created_at", "undone_at"]
    list_filter = ["program", "decision"]
    search_fields = ["agent__name", "agent__external_id", "key"]
    list_select_related = ["program", "agent"]

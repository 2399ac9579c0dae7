"""Admin for coaching: a read of sessions (they arrive by import and through the services,
which date them and keep them with the team of the time)."""

from __future__ import annotations

from django.contrib import admin

from coachloop.coaching.models import CoachingSession
from coachloop.metrics.admin import ReadOnlyAdmin


@admin.register(CoachingSession)
class CoachingSessionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "program", "agent", "lead", "local_date", "type", "focus_skill"]
    list_filter = ["program", "type"]
    search_fields = ["agent__name", "agent__external_id", "external_id"]
    list_select_related = ["program", "agent", "lead", "focus_skill"]

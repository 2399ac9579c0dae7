from __future__ import annotations

from django.contrib import admin

from coachloop.learning.models import Skill


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "kind", "call_type")
    list_filter = ("kind",)
    search_fields = ("key", "name")

from __future__ import annotations

from django.contrib import admin

from coachloop.core.models import ApiToken, Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "verb", "target_label", "actor", "program", "person"]
    list_filter = ["verb", "program"]
    search_fields = ["verb", "target_label"]
    list_select_related = ["actor", "program", "person"]

    def has_add_permission(self, request: object) -> bool:
        return False  # events are written by services only

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False  # the audit trail is append-only


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request: object) -> bool:
        return False  # tokens are created with `coachloop token create`, which shows them once

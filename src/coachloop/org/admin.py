"""Admin for the organization (org admins only; see core/admin_site.py). The admin edits rows
directly; imports and the app's pages go through services."""

from __future__ import annotations

from django.contrib import admin

from coachloop.org.models import (
    ExternalId,
    Membership,
    Organization,
    Person,
    Program,
    RoleAssignment,
    Site,
    Team,
)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "client", "timezone", "first_weekday"]
    search_fields = ["code", "name", "client"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "program", "site", "coaching_cadence_days"]
    list_filter = ["program"]
    search_fields = ["code", "name"]
    list_select_related = ["program", "site"]


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ["program", "team"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["team"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "email", "hire_date", "termination_date"]
    search_fields = ["external_id", "name", "email", "external_ids__external_id"]
    list_filter = ["roles__role", "roles__program"]
    inlines = [ExternalIdInline, RoleInline, MembershipInline]
    raw_id_fields = ["user"]

"""Admin for metric definitions (org admins add "Billing FCR" here without code) and a read of
targets and exclusions. Targets and exclusions are changed on the program's pages, through the
services, so that events are written and KPIs recomputed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from coachloop.metrics.kpis import FILTER_DIMENSIONS, terms
from coachloop.metrics.measures import MEASURE_INDEX
from coachloop.metrics.models import Exclusion, MetricDefinition, Target


class MetricDefinitionForm(forms.ModelForm):
    class Meta:
        model = MetricDefinition
        fields = [
            "program",
            "slug",
            "label",
            "description",
            "kind",
            "level",
            "numerator",
            "denominator",
            "square",
            "denominator_square",
            "cross",
            "count",
            "scale",
            "unit",
            "direction",
            "display",
            "filters",
            "case_mix",
            "min_n",
            "position",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("numerator", "square"):
            if data.get(name):
                try:
                    terms(data[name])
                except ValueError as exc:
                    self.add_error(name, str(exc))
        for name in ("denominator", "denominator_square", "cross", "count"):
            if data.get(name) and data[name] not in MEASURE_INDEX:
                self.add_error(name, f"Not a measure: {data[name]!r}")
        filters = data.get("filters") or {}
        if not isinstance(filters, dict) or any(
            key not in FILTER_DIMENSIONS or not isinstance(values, list)
            for key, values in filters.items()
        ):
            self.add_error(
                "filters",
                "A mapping of queue, channel or call_type to a list, "
                'e.g. {"call_type": ["billing"]}',
            )
        return data


@admin.register(MetricDefinition)
class MetricDefinitionAdmin(admin.ModelAdmin):
    form = MetricDefinitionForm
    list_display = ["slug", "label", "program", "kind", "unit", "direction", "active"]
    list_filter = ["program", "kind"]
    search_fields = ["slug", "label"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin):
    list_display = ["program", "metric", "team", "value", "upper", "threshold", "effective_from"]
    list_filter = ["program", "metric"]


@admin.register(Exclusion)
class ExclusionAdmin(ReadOnlyAdmin):
    list_display = ["program", "kind", "start", "end", "queue", "reason", "reverted_at"]
    list_filter = ["program", "kind"]

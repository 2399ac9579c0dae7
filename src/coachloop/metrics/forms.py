"""The managers' forms: a target from a date on, and an exclusion with its reason."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from coachloop.interactions.models import Interaction
from coachloop.metrics.models import ExclusionKind, MetricDefinition
from coachloop.org.models import Program, Team


class _Errors:
    def errors_text(self: Any) -> str:
        return "; ".join(
            f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in self.errors.items()
        )


class ExclusionForm(_Errors, forms.Form):
    kind = forms.ChoiceField(label=_("Exclude"), choices=ExclusionKind.choices)
    start = forms.DateField(
        label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    queue = forms.CharField(label=_("Queue"), required=False, max_length=100)
    contacts = forms.CharField(
        label=_("Contact ids"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For single contacts: their external ids, separated by spaces or commas"),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        needs_days = kind in (ExclusionKind.DAY, ExclusionKind.QUEUE)
        if needs_days and (not data.get("start") or not data.get("end")):
            raise forms.ValidationError(_("Give the first and last day."))
        if kind == ExclusionKind.QUEUE and not data.get("queue"):
            self.add_error("queue", _("Name the queue."))
        if kind == ExclusionKind.CONTACTS and not data.get("contacts", "").strip():
            self.add_error("contacts", _("List the contacts' ids."))
        return data

    def service_arguments(self, program: Program) -> dict[str, Any]:
        data = self.cleaned_data
        ids: list[int] = []
        if data["kind"] == ExclusionKind.CONTACTS:
            wanted = [token for token in re.split(r"[\s,;]+", data["contacts"]) if token]
            ids = list(
                Interaction.objects.filter(program=program, external_id__in=wanted).values_list(
                    "pk", flat=True
                )
            )
        first = data.get("start")
        return {
            "kind": data["kind"],
            "start": first,
            "end": data.get("end") or first,
            "queue": data.get("queue", ""),
            "reason": data["reason"],
            "interaction_ids": ids,
        }


class TargetForm(_Errors, forms.Form):
    metric = forms.ChoiceField(label=_("Metric"))
    value = forms.FloatField(
        label=_("Target"), help_text=_("Rates as 0-1 (0.75 = 75%), durations in seconds")
    )
    upper = forms.FloatField(label=_("Range high end"), required=False)
    threshold = forms.FloatField(
        label=_("Well-off-target threshold"),
        required=False,
        help_text=_("Beyond this, on the worse side, a flagged value reads 'well off target'"),
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    tenure_min_days = forms.IntegerField(label=_("Tenure from (days)"), required=False, min_value=0)
    tenure_max_days = forms.IntegerField(
        label=_("Tenure below (days)"), required=False, min_value=1
    )
    effective_from = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, program: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        metric_field = self.fields["metric"]
        assert isinstance(metric_field, forms.ChoiceField)
        metric_field.choices = [
            (d.slug, d.label) for d in MetricDefinition.objects.for_program(program)
        ]
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ModelChoiceField)
        team_field.queryset = Team.objects.filter(program=program).order_by("code")

    def service_arguments(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

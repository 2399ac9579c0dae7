"""The QA pages' forms. The evaluation form is built per scorecard, so it is read from the post
by ``evaluation_input`` rather than declared as a Form class; the others are plain forms."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coachloop.org.models import Person, Program
from coachloop.quality.models import QaPolicy, Scorecard

# --- the evaluation form -------------------------------------------------------------------------


def field_name(prefix: str, key: str) -> str:
    """``answer-greets``; the comment box of the whole contact has no key (``comment``)."""
    return f"{prefix}-{key}" if key else prefix


@dataclass
class PendingComment:
    """A comment typed in a box and not saved yet."""

    key: str  # criterion key; "" = the whole contact
    text: str = ""
    turn: int | None = None
    offset_s: float | None = None
    offset_text: str = ""


@dataclass
class EvaluationInput:
    answers: dict[str, str] = field(default_factory=dict)
    feedback: str | None = None
    comments: dict[str, PendingComment] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # comment box key -> problem


def parse_offset(text: str) -> float | None:
    """A recording offset as typed: ``75``, ``1:15`` or ``1:02:03``; empty is none."""
    text = text.strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) > 3:
        raise ValueError(text)
    seconds = 0.0
    for index, part in enumerate(parts):
        value = float(part)
        if value < 0 or (index > 0 and value >= 60):
            raise ValueError(text)
        seconds = seconds * 60 + value
    return seconds


def evaluation_input(data: QueryDict, keys: list[str]) -> EvaluationInput:
    """Answers (only those posted: an unanswered radio group sends nothing), the overall
    feedback and the comment boxes of the posted evaluation form."""
    entry = EvaluationInput()
    for key in keys:
        name = field_name("answer", key)
        if name in data:
            entry.answers[key] = data.get(name, "")
    if "feedback" in data:
        entry.feedback = data.get("feedback", "")
    for key in ["", *keys]:
        pending = PendingComment(key=key, text=data.get(field_name("comment", key), "").strip())
        turn = data.get(field_name("turn", key), "").strip()
        if turn:
            try:
                pending.turn = int(turn)
            except ValueError:
                entry.errors[key] = _("Pick a turn of the transcript")
        pending.offset_text = data.get(field_name("offset", key), "").strip()
        try:
            pending.offset_s = parse_offset(pending.offset_text)
        except ValueError:
            entry.errors[key] = _(
                "'%(value)s' is not a recording offset: write m:ss (1:15) or seconds (75)"
            ) % {"value": pending.offset_text}
        if pending.text or pending.turn is not None or pending.offset_text:
            entry.comments[key] = pending
    return entry


# --- acknowledgement ---------------------------------------------------------------------------


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Your comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- scorecards --------------------------------------------------------------------------------


class ScorecardImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Scorecard file (JSON)"),
        help_text=gettext_lazy(
            "The format of the scorecard export: key, name, version, sections with criteria."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            self.document = json.loads(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text")) from None
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not valid JSON: %(problem)s at line %(line)d, column %(column)d")
                % {"problem": exc.msg, "line": exc.lineno, "column": exc.colno}
            ) from None
        return upload


# --- the queue ---------------------------------------------------------------------------------


class QueueFillForm(forms.Form):
    program = forms.ModelChoiceField(label=gettext_lazy("Program"), queryset=Program.objects.none())
    week = forms.DateField(
        label=gettext_lazy("Week of"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Any day of the week; the program's week start is used."),
    )

    def __init__(self, *args: Any, programs: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]
        self.fields["week"].initial = today


# --- calibration -------------------------------------------------------------------------------


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, *args: Any, labels: dict[int, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = labels or {}

    def label_from_instance(self, obj: Any) -> str:
        return self.labels.get(obj.pk, str(obj))


class CalibrationForm(forms.Form):
    program = forms.ModelChoiceField(label=gettext_lazy("Program"), queryset=Program.objects.none())
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    contacts = forms.CharField(
        label=gettext_lazy("Contacts"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Contact ids (the number in the contact's address) or their external ids, "
            "separated by commas, spaces or new lines."
        ),
    )
    evaluators = PersonChoiceField(
        label=gettext_lazy("Evaluators"),
        queryset=Person.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("At least two QA analysts, managers or leads of the program."),
    )
    reference_evaluator = forms.ModelChoiceField(
        label=gettext_lazy("Reference evaluator (optional)"),
        queryset=Person.objects.none(),
        required=False,
        help_text=gettext_lazy(
            "Their answers are the expert answer the others are compared with; "
            "without one, each evaluator is compared with the others."
        ),
    )
    scorecard = forms.ModelChoiceField(
        label=gettext_lazy("Scorecard (optional)"),
        queryset=Scorecard.objects.none(),
        required=False,
        empty_label=gettext_lazy("The one that applies to the first contact"),
    )

    def __init__(
        self,
        *args: Any,
        programs: Any,
        people: Any,
        labels: dict[int, str],
        scorecards: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]
        evaluators = self.fields["evaluators"]
        evaluators.queryset = people  # type: ignore[attr-defined]
        evaluators.labels = labels  # type: ignore[attr-defined]
        self.fields["reference_evaluator"].queryset = people  # type: ignore[attr-defined]
        self.fields["scorecard"].queryset = scorecards  # type: ignore[attr-defined]

    def contact_ids(self) -> list[str]:
        raw = self.cleaned_data.get("contacts", "")
        return list(dict.fromkeys(part for part in raw.replace(",", " ").split() if part))


# --- policy ------------------------------------------------------------------------------------


class PolicyForm(forms.ModelForm):
    """A program's QA policy; saved through ``services.qa_policy_set``."""

    class Meta:
        model = QaPolicy
        fields = [
            "per_agent_per_week",
            "targeted_per_agent_per_week",
            "target_low_csat",
            "target_unresolved",
            "target_long_aht",
            "target_long_hold",
            "acknowledge_within_days",
        ]
        labels = {
            "per_agent_per_week": gettext_lazy("Routine samples per agent per week"),
            "targeted_per_agent_per_week": gettext_lazy("Targeted samples per agent per week"),
            "target_low_csat": gettext_lazy("Target low CSAT (1-2 of 5)"),
            "target_unresolved": gettext_lazy("Target unresolved contacts"),
            "target_long_aht": gettext_lazy(
                "Target long handle time (above the week's 90th percentile)"
            ),
            "target_long_hold": gettext_lazy("Target long hold (above the week's 90th percentile)"),
            "acknowledge_within_days": gettext_lazy(
                "Days agents have to acknowledge an evaluation"
            ),
        }

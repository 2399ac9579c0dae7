"""Template helpers of the QA pages: offsets as m:ss, scores and answers in words, and the
evaluations panel other pages (the contact page) include."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from coachloop.quality import selectors
from coachloop.quality.models import Criterion, CriterionType

register = template.Library()


@register.filter
def mss(seconds: float | None) -> str:
    """75.4 -> 1:15; an hour or more -> 1:02:03."""
    if seconds is None or seconds == "":
        return "—"
    whole = int(float(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def score(value: float | None) -> str:
    """A 0-100 score with one decimal; a dash when there is none (all N/A)."""
    return "—" if value is None else f"{value:.1f}"


@register.filter
def percent(credit: float | None) -> str:
    return "—" if credit is None else f"{100 * credit:.0f}%"


@register.filter
def answer_label(value: str | None, criterion: Criterion) -> str:
    """An answer in words: Yes, No, N/A, 4 of 5, 3 of 4 points."""
    if not value:
        return _("not answered")
    if value == "na":
        return _("N/A")
    if criterion.type == CriterionType.YES_NO:
        return _("Yes") if value == "yes" else _("No")
    if criterion.type == CriterionType.SCALE:
        return _("%(value)s of 5") % {"value": value}
    weight = f"{criterion.weight:g}"
    return _("%(value)s of %(weight)s points") % {"value": value, "weight": weight}


@register.filter
def weight(value: float) -> str:
    return f"{value:g}"


@register.inclusion_tag("quality/_contact_evaluations.html", takes_context=True)
def contact_evaluations(context: template.Context, contact: Any) -> dict[str, Any]:
    """The contact page's QA panel: its evaluations the reader may see and, for QA staff, the
    Evaluate button."""
    request = context["request"]
    return {
        "contact": contact,
        "evaluations": list(
            selectors.evaluation_list(user=request.user, interaction=contact.pk).filter(
                calibration__isnull=True
            )
        ),
        "can_evaluate": contact.answered
        and selectors.can_evaluate(user=request.user, program=contact.program),
        "csrf_token": context.get("csrf_token"),
    }

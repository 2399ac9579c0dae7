"""Helpers every QA page uses: permission checks, service errors as field errors, the
transcript's turns and the answer choices of a criterion."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _

from coachloop.core.errors import CoachloopError, ErrorDetail
from coachloop.interactions.models import Interaction
from coachloop.org.scope import scope_for
from coachloop.quality.models import (
    Criterion,
    CriterionType,
)

# --- helpers -----------------------------------------------------------------------------------


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def is_qa_staff(request: HttpRequest) -> bool:
    scope = scope_for(request.user)
    return scope.is_admin or bool(scope.program_role_program_ids)


def require_qa_staff(request: HttpRequest) -> None:
    require(
        is_qa_staff(request),
        _("These pages are for QA analysts, program managers and org admins."),
    )


def detail_text(detail: ErrorDetail) -> str:
    if detail.value is None or detail.value == "":
        return _("Needed: %(expected)s") % {"expected": detail.expected}
    return _("%(value)s is not %(expected)s") % {
        "value": json.dumps(detail.value, ensure_ascii=False, default=str),
        "expected": detail.expected,
    }


def errors_by_field(exc: CoachloopError) -> dict[str, str]:
    """The first problem of each field a service error names; '' holds the message when no
    field is named."""
    errors: dict[str, str] = {}
    for detail in exc.details:
        errors.setdefault(detail.column or "", detail_text(detail))
    return errors or {"": exc.message}


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def user_name(user: Any) -> str:
    """Who did it, by their person's name where they have one."""
    if user is None:
        return "—"
    person = getattr(user, "person", None)
    return str(person.name) if person is not None else str(user.get_username())


def transcript_turns(interaction: Interaction) -> list[dict[str, Any]]:
    """The contact's transcript turns with their index (what a comment pins to)."""
    try:
        turns = interaction.transcript.turns
    except ObjectDoesNotExist:
        return []
    return [
        {
            "index": index,
            "speaker": str(turn.get("speaker", "")),
            "offset_s": turn.get("offset_s"),
            "text": str(turn.get("text", "")),
        }
        for index, turn in enumerate(turns or [])
    ]


def answer_choices(criterion: Criterion) -> tuple[list[tuple[str, str, str]], bool]:
    na = ("na", _("N/A"), "a")
    if criterion.type == CriterionType.YES_NO:
        return [("yes", _("Yes"), "y"), ("no", _("No"), "n"), na], False
    if criterion.type == CriterionType.SCALE:
        return [(str(v), str(v), str(v)) for v in range(1, 6)] + [na], False
    top = criterion.weight
    if float(top).is_integer() and top <= 9:
        return [(str(v), str(v), str(v)) for v in range(int(top) + 1)] + [na], False
    return [], True

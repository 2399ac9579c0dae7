"""The analyst's queue (samples, drafts, disputes, calibration sessions) and starting an
evaluation of a contact."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from coachloop.core.errors import CoachloopError, NotAllowed
from coachloop.interactions import selectors as contact_selectors
from coachloop.metrics.selectors import week_start
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Person
from coachloop.org.scope import scope_for
from coachloop.quality import forms, selectors, services
from coachloop.quality.models import (
    CalibrationStatus,
    EvaluationStatus,
)
from coachloop.quality.views.common import (
    require,
    require_qa_staff,
)

# --- the queue ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The analyst's day: open samples, drafts, disputes to review, calibration sessions."""
    require_qa_staff(request)
    scope = scope_for(request.user)
    person = Person.objects.filter(pk=scope.person_id).first() if scope.person_id else None
    programs = org_selectors.programs_overseen(user=request.user)
    fill = forms.QueueFillForm(request.POST or None, programs=programs, today=timezone.localdate())
    if request.method == "POST" and fill.is_valid():
        program = fill.cleaned_data["program"]
        start = week_start(fill.cleaned_data["week"], program)
        try:
            created = services.samples_fill(program=program, week_start=start, by=request.user)
        except CoachloopError as exc:
            fill.add_error(None, exc.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)d contact added to the %(program)s queue for the week of %(week)s.",
                    "%(n)d contacts added to the %(program)s queue for the week of %(week)s.",
                    len(created),
                )
                % {"n": len(created), "program": program.name, "week": start.isoformat()},
            )
            return redirect("quality:home")
    mine = Q(evaluator=person) if person else Q(created_by=request.user)
    drafts = selectors.evaluation_list(user=request.user, status=EvaluationStatus.DRAFT).filter(
        mine
    )
    calibrations = selectors.calibration_list(user=request.user).filter(
        status=CalibrationStatus.OPEN
    )
    if person is not None:
        calibrations = calibrations.filter(evaluators=person)
    return render(
        request,
        "quality/home.html",
        {
            "samples": selectors.sample_queue(user=request.user, analyst=person)
            .select_related("agent", "interaction")
            .order_by("week_start", "interaction__started_at")[:200],
            "drafts": drafts.order_by("-updated_at")[:100],
            "disputes": selectors.dispute_list(user=request.user)
            .annotate(n_items=Count("items"))
            .order_by("created_at")[:100],
            "calibrations": calibrations.annotate(n_contacts=Count("interactions", distinct=True))[
                :50
            ],
            "fill": fill,
            "has_programs": programs.exists(),
            "programs": programs,
        },
    )


# --- starting an evaluation --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    """Start (or continue) the user's evaluation of a contact; GET shows what will be used."""
    contact = contact_selectors.interaction_get(user=request.user, pk=pk)
    require(
        selectors.can_evaluate(user=request.user, program=contact.program),
        _("Only the program's QA analysts, managers and org admins evaluate its contacts."),
    )
    error = ""
    if request.method == "POST":
        try:
            evaluation = services.evaluation_start(interaction=contact, by=request.user)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except CoachloopError as exc:
            error = exc.message
        else:
            return redirect("quality:evaluation-edit", pk=evaluation.pk)
    return render(
        request,
        "quality/evaluate.html",
        {
            "contact": contact,
            "scorecard": selectors.scorecard_for(contact) if contact.answered else None,
            "evaluations": selectors.evaluation_list(user=request.user, interaction=contact.pk),
            "error": error,
        },
    )

"""Calibration sessions: the list, the create form, the blind session page and the
agreement report."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from coachloop.core.errors import CoachloopError, NotAllowed
from coachloop.interactions import selectors as contact_selectors
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Person, Role
from coachloop.org.scope import scope_for
from coachloop.quality import calibration as calibration_reports
from coachloop.quality import forms, selectors, services
from coachloop.quality.models import (
    Calibration,
    CalibrationStatus,
    EvaluationStatus,
)
from coachloop.quality.views.common import (
    errors_by_field,
    require_qa_staff,
)

# --- calibration -------------------------------------------------------------------------------


@login_required
@require_GET
def calibration_list(request: HttpRequest) -> HttpResponse:
    require_qa_staff(request)
    scope = scope_for(request.user)
    calibrations = selectors.calibration_list(user=request.user).annotate(
        n_contacts=Count("interactions", distinct=True),
        n_evaluators=Count("evaluators", distinct=True),
        n_submitted=Count(
            "evaluations",
            filter=Q(evaluations__status=EvaluationStatus.SUBMITTED),
            distinct=True,
        ),
    )
    # Across sessions: criteria evaluators keep disagreeing on, evaluators whose bias drifts.
    flags = [
        {
            "program": program,
            "ambiguous": calibration_reports.ambiguous_criteria(program),
            "drifting": calibration_reports.drifting_evaluators(program),
        }
        for program in org_selectors.programs_overseen(user=request.user)
    ]
    return render(
        request,
        "quality/calibrations.html",
        {
            "calibrations": calibrations,
            "person_id": scope.person_id,
            "flags": [f for f in flags if f["ambiguous"] or f["drifting"]],
        },
    )


def _evaluator_choices(programs: list[Any]) -> tuple[QuerySet[Person], dict[int, str]]:
    labels: dict[int, list[str]] = {}
    role_names = dict(Role.choices)
    for role in selectors.calibration_evaluator_roles(programs=programs):
        where = role.team.code if role.team else role.program.code if role.program else ""
        labels.setdefault(role.person_id, [role.person.name]).append(
            f"{role_names.get(role.role, role.role)}, {where}"
        )
    people = Person.objects.filter(pk__in=list(labels)).order_by("name")
    return people, {pk: f"{parts[0]} ({'; '.join(parts[1:])})" for pk, parts in labels.items()}


_CALIBRATION_FIELDS = {
    "name": "name",
    "interactions": "contacts",
    "evaluators": "evaluators",
    "scorecard": "scorecard",
}


@login_required
@require_http_methods(["GET", "POST"])
def calibration_new(request: HttpRequest) -> HttpResponse:
    require_qa_staff(request)
    programs = org_selectors.programs_overseen(user=request.user)
    chosen = request.POST.get("program") or request.GET.get("program")
    narrowed = [p for p in programs if str(p.pk) == chosen] or list(programs)
    people, labels = _evaluator_choices(narrowed)
    form = forms.CalibrationForm(
        request.POST or None,
        programs=programs,
        people=people,
        labels=labels,
        scorecards=selectors.scorecard_list(user=request.user, current_only=True),
        initial={"program": narrowed[0].pk if len(narrowed) == 1 else None},
    )
    if request.method == "POST" and form.is_valid():
        program = form.cleaned_data["program"]
        ids = form.contact_ids()
        found = list(
            contact_selectors.interaction_list(
                user=request.user, filters=contact_selectors.InteractionFilters(program=program.pk)
            ).filter(Q(external_id__in=ids) | Q(pk__in=[int(i) for i in ids if i.isdigit()]))
        )
        known = {c.external_id for c in found} | {str(c.pk) for c in found}
        unknown = [i for i in ids if i not in known]
        if unknown:
            form.add_error(
                "contacts",
                _("Not contacts of %(program)s you can see: %(ids)s")
                % {"program": program.name, "ids": ", ".join(unknown)},
            )
        else:
            try:
                calibration = services.calibration_create(
                    program=program,
                    name=form.cleaned_data["name"],
                    interactions=found,
                    evaluators=list(form.cleaned_data["evaluators"]),
                    reference_evaluator=form.cleaned_data["reference_evaluator"],
                    scorecard=form.cleaned_data["scorecard"],
                    by=request.user,
                )
            except NotAllowed as exc:
                form.add_error("program", exc.message)
            except CoachloopError as exc:
                for column, text in errors_by_field(exc).items():
                    form.add_error(_CALIBRATION_FIELDS.get(column), text)
            else:
                messages.success(request, _("Calibration session created."))
                return redirect("quality:calibration", pk=calibration.pk)
    return render(request, "quality/calibration_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def calibration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    calibration = selectors.calibration_get(user=request.user, pk=pk)
    scope = scope_for(request.user)
    action = request.POST.get("action", "")
    error = ""
    try:
        if action == "close":
            services.calibration_close(calibration=calibration, by=request.user)
            messages.success(request, _("Session closed: every answer is now visible."))
            return redirect("quality:calibration", pk=calibration.pk)
        if action == "evaluate":
            raw = request.POST.get("interaction", "")
            contact = calibration.interactions.filter(pk=int(raw) if raw.isdigit() else 0).first()
            if contact is None:
                error = _("That contact is not part of this session.")
            else:
                evaluation = services.evaluation_start(
                    interaction=contact, by=request.user, calibration=calibration
                )
                return redirect("quality:evaluation-edit", pk=evaluation.pk)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except CoachloopError as exc:
        error = exc.message
    return render(
        request,
        "quality/calibration.html",
        _calibration_context(request, calibration, scope, error),
    )


def _calibration_context(
    request: HttpRequest, calibration: Calibration, scope: Any, error: str
) -> dict[str, Any]:
    evaluators = list(calibration.evaluators.order_by("name"))
    units = list(calibration.interactions.select_related("agent").order_by("local_date", "pk"))
    visible = {
        (e.evaluator_id, e.interaction_id): e
        for e in selectors.evaluations_visible(user=request.user).filter(calibration=calibration)
    }
    me = scope.person_id
    participant = any(p.pk == me for p in evaluators)
    is_open = calibration.status == CalibrationStatus.OPEN
    rows = []
    done = 0
    for unit in units:
        mine = visible.get((me, unit.pk)) if me else None
        done += mine is not None and mine.status == EvaluationStatus.SUBMITTED
        blind = (
            participant and is_open and (mine is None or mine.status != EvaluationStatus.SUBMITTED)
        )
        cells = []
        for person in evaluators:
            evaluation = visible.get((person.pk, unit.pk))
            cells.append(
                {
                    "person": person,
                    "evaluation": evaluation,
                    "is_me": person.pk == me,
                    "hidden": blind and person.pk != me,
                }
            )
        rows.append({"contact": unit, "cells": cells, "mine": mine})
    return {
        "calibration": calibration,
        "evaluators": evaluators,
        "rows": rows,
        "participant": participant,
        "is_open": is_open,
        "done": done,
        "can_close": is_open
        and selectors.can_evaluate(user=request.user, program=calibration.program),
        "report_visible": selectors.calibration_report_visible(
            user=request.user, calibration=calibration
        ),
        "error": error,
    }


@login_required
@require_GET
def calibration_report(request: HttpRequest, pk: int) -> HttpResponse:
    calibration = selectors.calibration_get(user=request.user, pk=pk)
    if not selectors.calibration_report_visible(user=request.user, calibration=calibration):
        context = _calibration_context(request, calibration, scope_for(request.user), "")
        raise PermissionDenied(
            _(
                "The report shows how the other evaluators leaned, so it opens for you once you "
                "have submitted every contact of this session (%(done)d of %(total)d so far) or "
                "when the session is closed."
            )
            % {"done": context["done"], "total": len(context["rows"])}
        )
    report = calibration_reports.calibration_report(calibration)
    questions = dict(calibration.scorecard.criteria.values_list("key", "question"))
    for row in report["per_criterion"]:
        row["question"] = questions.get(row["criterion"], row["criterion"])
    return render(
        request,
        "quality/calibration_report.html",
        {"calibration": calibration, "report": report, "reliable": 0.8, "tentative": 0.667},
    )

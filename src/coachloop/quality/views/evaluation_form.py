"""The evaluation form: answers by criterion, comments pinned to a transcript turn or a
recording offset, the live score (htmx saves on every change; a plain post works without JS),
submit and discard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from coachloop.core.errors import InvalidInput, NotAllowed
from coachloop.quality import forms, scoring, selectors, services
from coachloop.quality.models import (
    Comment,
    Criterion,
    Evaluation,
    EvaluationStatus,
)
from coachloop.quality.views.common import (
    answer_choices,
    errors_by_field,
    is_htmx,
    require,
    transcript_turns,
)

# --- the evaluation form -----------------------------------------------------------------------


@dataclass
class CommentBox:
    """A criterion's comments (or the whole contact's) and the box to add one."""

    key: str
    dom_id: str
    comments: list[Comment] = field(default_factory=list)
    pending: forms.PendingComment | None = None
    error: str = ""

    @property
    def names(self) -> dict[str, str]:
        return {p: forms.field_name(p, self.key) for p in ("comment", "turn", "offset")}


@dataclass
class CriterionRow:
    criterion: Criterion
    number: str
    dom_id: str
    value: str
    choices: list[tuple[str, str, str]]  # value, label, shortcut
    free: bool  # points too many for radios: a text box
    box: CommentBox
    error: str = ""


@dataclass
class FormState:
    """What the form shows: the saved state, or what was posted with its errors."""

    answers: dict[str, str]
    feedback: str
    errors: dict[str, str] = field(default_factory=dict)  # criterion key -> problem
    comment_errors: dict[str, str] = field(default_factory=dict)
    pending: dict[str, forms.PendingComment] = field(default_factory=dict)
    message: str = ""


def _boxes(evaluation: Evaluation, criteria: list[Criterion]) -> dict[str, CommentBox]:
    boxes = {"": CommentBox(key="", dom_id="comments-general")}
    for index, criterion in enumerate(criteria):
        boxes[criterion.key] = CommentBox(key=criterion.key, dom_id=f"comments-{index}")
    for comment in evaluation.comments.select_related("criterion"):
        key = comment.criterion.key if comment.criterion else ""
        if key in boxes:
            boxes[key].comments.append(comment)
    return boxes


def _score_context(evaluation: Evaluation, criteria: list[Criterion]) -> dict[str, Any]:
    answers = selectors.evaluation_answers(evaluation)
    live = scoring.score(
        selectors.scorecard_rules(criteria), answers, evaluation.scorecard.critical_scope
    )
    sections = {c.section.key: c.section.name for c in criteria}
    return {
        "live": live,
        "answered": sum(1 for c in criteria if c.key in answers),
        "total": len(criteria),
        "failed": [c for c in criteria if c.key in live.failed_critical],
        "section_scores": [(sections[key], value) for key, value in live.sections.items()],
        "critical_scope": evaluation.scorecard.critical_scope,
        "saved_at": evaluation.updated_at,
        "evaluation": evaluation,
    }


def _form_context(
    request: HttpRequest, evaluation: Evaluation, criteria: list[Criterion], state: FormState
) -> dict[str, Any]:
    boxes = _boxes(evaluation, criteria)
    for key, pending in state.pending.items():
        if key in boxes:
            boxes[key].pending = pending
    for key, error in state.comment_errors.items():
        if key in boxes:
            boxes[key].error = error
    sections: list[dict[str, Any]] = []
    for index, criterion in enumerate(criteria):
        if not sections or sections[-1]["section"].pk != criterion.section_id:
            sections.append({"section": criterion.section, "rows": []})
        choices, free = answer_choices(criterion)
        rows = sections[-1]["rows"]
        rows.append(
            CriterionRow(
                criterion=criterion,
                number=f"{len(sections)}.{len(rows) + 1}",
                dom_id=f"crit-{index}",
                value=state.answers.get(criterion.key, ""),
                choices=choices,
                free=free,
                box=boxes[criterion.key],
                error=state.errors.get(criterion.key, ""),
            )
        )
    missing = [row for section in sections for row in section["rows"] if row.error]
    return {
        "evaluation": evaluation,
        "edit_url": reverse("quality:evaluation-edit", args=[evaluation.pk]),
        "contact": evaluation.interaction,
        "turns": transcript_turns(evaluation.interaction),
        "sections": sections,
        "general_box": boxes[""],
        "feedback": state.feedback,
        "with_errors": missing,
        "form_message": state.message,
        **_score_context(evaluation, criteria),
    }


def _saved_state(evaluation: Evaluation) -> FormState:
    return FormState(answers=selectors.evaluation_answers(evaluation), feedback=evaluation.feedback)


def _add_comments(
    request: HttpRequest,
    evaluation: Evaluation,
    entry: forms.EvaluationInput,
    state: FormState,
    only: str | None = None,
) -> None:
    """Save the typed comments (one box's with ``only``); what fails stays typed, with its
    error."""
    for key, pending in entry.comments.items():
        if only is not None and key != only:
            continue
        if key in entry.errors:
            state.comment_errors[key], state.pending[key] = entry.errors[key], pending
            continue
        if not pending.text:
            if pending.turn is not None or pending.offset_s is not None:
                state.pending[key] = pending
                if only is not None or pending.offset_text:
                    state.comment_errors[key] = _("Write the comment to pin it")
            continue
        try:
            services.evaluation_comment_add(
                evaluation=evaluation,
                by=request.user,
                text=pending.text,
                criterion_key=key or None,
                turn=pending.turn,
                offset_s=pending.offset_s,
            )
        except InvalidInput as exc:
            state.pending[key] = pending
            state.comment_errors[key] = next(iter(errors_by_field(exc).values()))


def _editable(request: HttpRequest, pk: int) -> Evaluation:
    evaluation = selectors.evaluation_get(user=request.user, pk=pk)
    require(
        selectors.can_edit_evaluation(user=request.user, evaluation=evaluation),
        _("Only its evaluator may change this evaluation."),
    )
    return evaluation


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = _editable(request, pk)
    if evaluation.status != EvaluationStatus.DRAFT:
        if request.method == "POST":
            messages.error(
                request, _("This evaluation is submitted: it changes only through a dispute.")
            )
        return redirect("quality:evaluation", pk=evaluation.pk)
    criteria = selectors.scorecard_criteria(evaluation.scorecard)
    if request.method == "GET":
        context = _form_context(request, evaluation, criteria, _saved_state(evaluation))
        return render(request, "quality/edit.html", context)
    return _edit_post(request, evaluation, criteria)


def _edit_post(
    request: HttpRequest, evaluation: Evaluation, criteria: list[Criterion]
) -> HttpResponse:
    action = request.POST.get("action", "save")
    entry = forms.evaluation_input(request.POST, [c.key for c in criteria])
    state = FormState(
        answers={**selectors.evaluation_answers(evaluation), **entry.answers},
        feedback=entry.feedback if entry.feedback is not None else evaluation.feedback,
    )
    edit_url = reverse("quality:evaluation-edit", args=[evaluation.pk])
    try:
        if action == "discard":
            services.evaluation_discard(evaluation=evaluation, by=request.user)
            messages.success(request, _("Draft discarded."))
            return redirect("quality:home")
        if action.startswith("delete-comment:"):
            return _comment_delete(request, evaluation, criteria, action.partition(":")[2])
        try:
            services.evaluation_save(
                evaluation=evaluation,
                by=request.user,
                answers=entry.answers,
                feedback=entry.feedback,
            )
        except InvalidInput as exc:
            state.errors = errors_by_field(exc)
        if action == "autosave" and is_htmx(request):
            context = {**_score_context(evaluation, criteria), "score_errors": state.errors}
            return render(request, "quality/_score.html", context)
        if action.startswith("comment:"):
            key = action.partition(":")[2]
            _add_comments(request, evaluation, entry, state, only=key)
            if is_htmx(request):
                context = _form_context(request, evaluation, criteria, state)
                box = context["general_box"] if not key else _box_of(context, key)
                return render(request, "quality/_comments.html", {**context, "box": box})
        else:
            _add_comments(request, evaluation, entry, state)
        if not state.errors and not state.comment_errors and action == "submit":
            services.evaluation_submit(evaluation=evaluation, by=request.user)
            messages.success(
                request,
                _("Evaluation submitted: score %(score)s.")
                % {"score": "—" if evaluation.score is None else f"{evaluation.score:.1f}"},
            )
            return redirect("quality:evaluation", pk=evaluation.pk)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except InvalidInput as exc:
        state.errors = errors_by_field(exc)
        state.message = exc.message
    if state.errors or state.comment_errors:
        evaluation.refresh_from_db()
        context = _form_context(request, evaluation, criteria, state)
        return render(request, "quality/edit.html", context)
    evaluation.refresh_from_db()
    messages.success(
        request,
        _("Saved. Score so far %(score)s (not counted until submitted).")
        % {"score": "—" if evaluation.score is None else f"{evaluation.score:.1f}"},
    )
    anchor = ""
    if action.startswith("comment:"):
        key = action.partition(":")[2]
        keys = [c.key for c in criteria]
        anchor = f"#comments-{keys.index(key)}" if key in keys else "#comments-general"
    return redirect(edit_url + anchor)


def _box_of(context: dict[str, Any], key: str) -> CommentBox:
    for section in context["sections"]:
        for row in section["rows"]:
            if row.criterion.key == key:
                box: CommentBox = row.box
                return box
    general: CommentBox = context["general_box"]
    return general


def _comment_delete(
    request: HttpRequest, evaluation: Evaluation, criteria: list[Criterion], raw_id: str
) -> HttpResponse:
    comment = (
        evaluation.comments.select_related("criterion")
        .filter(pk=int(raw_id) if raw_id.isdigit() else 0)
        .first()
    )
    key = ""
    if comment is not None:
        key = comment.criterion.key if comment.criterion else ""
        services.evaluation_comment_delete(comment=comment, by=request.user)
    if is_htmx(request):
        context = _form_context(request, evaluation, criteria, _saved_state(evaluation))
        box = context["general_box"] if not key else _box_of(context, key)
        return render(request, "quality/_comments.html", {**context, "box": box})
    return redirect("quality:evaluation-edit", pk=evaluation.pk)

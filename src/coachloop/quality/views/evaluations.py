"""Reading evaluations: the evaluation page (acknowledgement, disputes), resolving a dispute,
and an agent's evaluations with their QA score."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from coachloop.core.errors import CoachloopError, InvalidInput, NotAllowed
from coachloop.metrics import display, stats
from coachloop.metrics import selectors as kpi_selectors
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Program, Team
from coachloop.org.scope import scope_for
from coachloop.quality import analytics, forms, scoring, selectors, services
from coachloop.quality.models import (
    Comment,
    Criterion,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
)
from coachloop.quality.views.common import (
    answer_choices,
    errors_by_field,
    require,
    transcript_turns,
    user_name,
)

# --- the evaluation page -----------------------------------------------------------------------


def _answer_sections(evaluation: Evaluation, criteria: list[Criterion]) -> list[dict[str, Any]]:
    answers = {a.criterion_id: a for a in evaluation.answers.all()}
    values = {c.key: answers[c.pk].value for c in criteria if c.pk in answers}
    live = scoring.score(
        selectors.scorecard_rules(criteria), values, evaluation.scorecard.critical_scope
    )
    comments: dict[int | None, list[Comment]] = {}
    for comment in evaluation.comments.all():
        if comment.turn is None and comment.offset_s is None:
            comments.setdefault(comment.criterion_id, []).append(comment)
    sections: list[dict[str, Any]] = []
    for criterion in criteria:
        if not sections or sections[-1]["section"].pk != criterion.section_id:
            sections.append(
                {
                    "section": criterion.section,
                    "score": live.sections.get(criterion.section.key),
                    "rows": [],
                }
            )
        answer = answers.get(criterion.pk)
        sections[-1]["rows"].append(
            {
                "criterion": criterion,
                "value": answer.value if answer else "",
                "credit": answer.credit if answer else None,
                "failed": criterion.key in live.failed_critical,
                "comments": comments.get(criterion.pk, []),
            }
        )
    return sections


def _dispute_state(request: HttpRequest, criteria: list[Criterion]) -> dict[str, Any]:
    chosen = request.POST.getlist("dispute") if request.method == "POST" else []
    return {
        "chosen": chosen,
        "reasons": {c.key: request.POST.get(f"reason-{c.key}", "") for c in criteria},
        "reason": request.POST.get("reason", ""),
        "errors": {},
    }


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.evaluation_get(user=request.user, pk=pk)
    criteria = selectors.scorecard_criteria(evaluation.scorecard)
    action = request.POST.get("action", "")
    ack_form = forms.AcknowledgeForm(request.POST if action == "acknowledge" else None)
    dispute = _dispute_state(request, criteria)
    try:
        if action == "acknowledge":
            require(
                selectors.can_acknowledge(user=request.user, evaluation=evaluation),
                _("Only the evaluated agent acknowledges an evaluation."),
            )
            if ack_form.is_valid():
                try:
                    services.evaluation_acknowledge(
                        evaluation=evaluation,
                        by=request.user,
                        comment=ack_form.cleaned_data["comment"],
                    )
                except CoachloopError as exc:
                    ack_form.add_error(None, exc.message)
                else:
                    messages.success(request, _("Acknowledged. Thank you."))
                    return redirect("quality:evaluation", pk=evaluation.pk)
        elif action == "dispute":
            require(
                selectors.can_dispute(user=request.user, evaluation=evaluation),
                _("Only the evaluated agent or their lead may dispute an evaluation."),
            )
            try:
                services.dispute_open(
                    evaluation=evaluation,
                    by=request.user,
                    reason=dispute["reason"],
                    criteria={key: dispute["reasons"].get(key, "") for key in dispute["chosen"]},
                )
            except InvalidInput as exc:
                dispute["errors"] = errors_by_field(exc)
            except CoachloopError as exc:
                dispute["errors"] = {"": exc.message}
            else:
                messages.success(request, _("Dispute sent: a QA reviewer will decide it."))
                return redirect("quality:evaluation", pk=evaluation.pk)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    return render(
        request,
        "quality/detail.html",
        _detail_context(request, evaluation, criteria, ack_form, dispute),
    )


def _detail_context(
    request: HttpRequest,
    evaluation: Evaluation,
    criteria: list[Criterion],
    ack_form: forms.AcknowledgeForm,
    dispute: dict[str, Any],
) -> dict[str, Any]:
    comments = list(evaluation.comments.select_related("criterion"))
    turns = transcript_turns(evaluation.interaction)
    for turn in turns:
        turn["comments"] = [c for c in comments if c.turn == turn["index"]]
    disputes = list(
        evaluation.disputes.select_related("raised_by__person", "resolved_by__person")
        .prefetch_related("items__criterion")
        .order_by("created_at")
    )
    for row in disputes:
        row.raised_name = user_name(row.raised_by)  # type: ignore[attr-defined]
        row.resolved_name = user_name(row.resolved_by)  # type: ignore[attr-defined]
    submitted = evaluation.status == EvaluationStatus.SUBMITTED
    counted = submitted and evaluation.calibration_id is None
    open_dispute = next((d for d in disputes if d.status == DisputeStatus.OPEN), None)
    due = selectors.acknowledgement_due(evaluation)
    user = request.user
    return {
        "evaluation": evaluation,
        "contact": evaluation.interaction,
        "sections": _answer_sections(evaluation, criteria),
        "criteria": criteria,
        "turns": turns,
        "offset_comments": [c for c in comments if c.turn is None and c.offset_s is not None],
        "general_comments": [
            c for c in comments if c.criterion is None and c.turn is None and c.offset_s is None
        ],
        "pinned_count": sum(1 for c in comments if c.turn is not None),
        "disputes": disputes,
        "open_dispute": open_dispute,
        "due": due,
        "overdue": due is not None and evaluation.acknowledged_at is None and timezone.now() > due,
        "acknowledged_late": due is not None
        and evaluation.acknowledged_at is not None
        and evaluation.acknowledged_at > due,
        "can_acknowledge": counted
        and evaluation.acknowledged_at is None
        and selectors.can_acknowledge(user=user, evaluation=evaluation),
        "can_dispute": counted
        and open_dispute is None
        and selectors.can_dispute(user=user, evaluation=evaluation),
        "can_resolve": open_dispute is not None
        and selectors.can_evaluate(user=user, program=evaluation.program),
        "can_edit": not submitted
        and selectors.can_edit_evaluation(user=user, evaluation=evaluation),
        "ack_form": ack_form,
        "dispute_form": dispute,
    }


# --- resolving a dispute -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dispute_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """A QA reviewer decides the evaluation's open dispute, criterion by criterion."""
    evaluation = selectors.evaluation_get(user=request.user, pk=pk)
    require(
        selectors.can_evaluate(user=request.user, program=evaluation.program),
        _("Only the program's QA analysts, managers and org admins review disputes."),
    )
    dispute = (
        selectors.dispute_list(user=request.user, status=DisputeStatus.OPEN)
        .filter(evaluation=evaluation)
        .first()
    )
    items = list(dispute.items.select_related("criterion")) if dispute else []
    raised_by = user_name(dispute.raised_by) if dispute else ""
    errors: dict[str, str] = {}
    decisions = {
        i.criterion.key: request.POST.get(f"decision-{i.criterion.key}", "") for i in items
    }
    note = request.POST.get("note", "")
    if request.method == "POST" and dispute is not None:
        previous = evaluation.score
        try:
            services.dispute_resolve(
                dispute=dispute,
                by=request.user,
                decisions={
                    key: (None if value == "uphold" else value)
                    for key, value in decisions.items()
                    if value
                },
                note=note,
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except CoachloopError as exc:
            errors = errors_by_field(exc)
        else:
            evaluation.refresh_from_db()
            messages.success(
                request,
                _("Dispute resolved: score %(before)s → %(after)s.")
                % {
                    "before": "—" if previous is None else f"{previous:.1f}",
                    "after": "—" if evaluation.score is None else f"{evaluation.score:.1f}",
                },
            )
            return redirect("quality:evaluation", pk=evaluation.pk)
    answers = selectors.evaluation_answers(evaluation)
    rows = []
    for item in items:
        choices, free = answer_choices(item.criterion)
        rows.append(
            {
                "item": item,
                "current": answers.get(item.criterion.key, ""),
                "choices": choices,
                "free": free,
                "decision": decisions.get(item.criterion.key, ""),
                "error": errors.get(item.criterion.key, ""),
            }
        )
    return render(
        request,
        "quality/dispute.html",
        {
            "evaluation": evaluation,
            "dispute": dispute,
            "raised_by": raised_by,
            "rows": rows,
            "note": note,
            "error": errors.get("", ""),
        },
    )


# --- an agent's evaluations --------------------------------------------------------------------


@dataclass(frozen=True)
class QaSummary:
    n: int
    mean: float | None
    interval: tuple[float, float] | None
    critical: int
    acknowledged: int
    disputed: int
    total: int


def _summary(evaluations: QuerySet[Evaluation]) -> QaSummary:
    """The agent's QA score as the KPI counts it (mean of scored evaluations) with a 90%
    interval, since it singles a person out."""
    rows = list(evaluations.values_list("score", "critical_failed", "acknowledged_at"))
    scores = [s for s, _, _ in rows if s is not None]
    n = len(scores)
    mean = sum(scores) / n if n else None
    interval = None
    if mean is not None and n >= 2:
        variance = stats.mean_variance(total=sum(scores), square=sum(s * s for s in scores), n=n)
        posterior = stats.Posterior("normal", mean, math.sqrt(variance))
        low, high = posterior.interval()
        interval = (max(low, 0.0), min(high, 100.0))
    return QaSummary(
        n=n,
        mean=mean,
        interval=interval,
        critical=sum(1 for _, c, _ in rows if c),
        acknowledged=sum(1 for _, _, a in rows if a is not None),
        disputed=evaluations.filter(disputes__isnull=False).distinct().count(),
        total=len(rows),
    )


@login_required
@require_GET
def agent_evaluations(request: HttpRequest, pk: int) -> HttpResponse:
    agent = org_selectors.person_get(user=request.user, pk=pk)
    evaluations = selectors.evaluation_list(
        user=request.user, agent=agent.pk, status=EvaluationStatus.SUBMITTED
    ).filter(calibration__isnull=True)
    page = Paginator(
        evaluations.annotate(
            n_disputes=Count("disputes", distinct=True),
            n_open=Count("disputes", filter=Q(disputes__status=DisputeStatus.OPEN), distinct=True),
        ).order_by("-local_date", "-pk"),
        50,
    ).get_page(request.GET.get("page"))
    now = timezone.now()
    # selectors.acknowledgement_due reads the program's policy each time: one read per program.
    windows: dict[int, dt.timedelta] = {}
    rows = []
    for e in page:
        if e.program_id not in windows:
            days = selectors.policy_for(e.program).acknowledge_within_days
            windows[e.program_id] = dt.timedelta(days=days)
        due = e.submitted_at + windows[e.program_id] if e.submitted_at else None
        rows.append(
            {
                "evaluation": e,
                "due": due,
                "overdue": due is not None and e.acknowledged_at is None and now > due,
            }
        )
    scope = scope_for(request.user)
    latest = evaluations.order_by("-local_date").select_related("program").first()
    return render(
        request,
        "quality/agent_evaluations.html",
        {
            "agent": agent,
            "page": page,
            "rows": rows,
            "summary": _summary(evaluations),
            "is_self": scope.person_id == agent.pk,
            "weak": weakest_context(request.user, latest.program, agent_id=agent.pk)
            if latest
            else None,
        },
    )


def weakest_context(
    user: Any, program: Program, *, agent_id: int | None = None, team: Team | None = None
) -> dict[str, Any]:
    """The subject's criteria and skills over the last 13 weeks, weakest first, against the
    rest of the program; peer figures only where the viewer may see aggregates."""
    start, end = kpi_selectors.recent_window()
    team_id = team.pk if team else None

    def rates(by_skill: bool) -> list[analytics.FailRate]:
        return analytics.weakest(
            program=program,
            start=start,
            end=end,
            agent_id=agent_id,
            team_id=team_id,
            by_skill=by_skill,
        )

    return {
        "start": start,
        "end": end,
        "program": program,
        "team": team,
        "criteria": rates(by_skill=False),
        "skills": rates(by_skill=True),
        "peers_visible": kpi_selectors.aggregates_visible(user=user, team=team, program=program),
    }


@login_required
@require_GET
def team_quality(request: HttpRequest, pk: int) -> HttpResponse:
    """A team's weakest criteria and skills against the other teams, and each agent's QA score
    (the KPI: shrunk, with n, interval and flags) over the same 13 weeks."""
    team = org_selectors.team_get(user=request.user, pk=pk)
    weak = weakest_context(request.user, team.program, team=team)
    dashboard = kpi_selectors.team_dashboard(
        team=team,
        agents=list(org_selectors.team_current_agents(user=request.user, team=team)),
        start=weak["start"],
        end=weak["end"],
        definitions=kpi_selectors.definitions_for(team.program, ["qa_score"]),
    )
    rows = [
        (row.agent, display.cell(row.kpis["qa_score"]))
        for row in dashboard.rows
        if "qa_score" in row.kpis
    ]
    return render(
        request,
        "quality/team_quality.html",
        {"team": team, "weak": weak, "rows": rows},
    )

"""The QA API under ``/api/v1/``: skills, scorecards, evaluations (create, answer, comment,
submit, acknowledge, dispute, resolve), calibration sessions and their report, and QA analytics.
Scope and blindness come from the quality selectors, exactly as on the pages."""

# No `from __future__ import annotations` here: django-ninja reads these annotations at run time.

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Body, Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from coachloop.core.errors import ErrorDetail, InvalidInput
from coachloop.core.pagination import LimitOffset
from coachloop.interactions import selectors as contact_selectors
from coachloop.learning.models import Skill
from coachloop.metrics import selectors as kpi_selectors
from coachloop.metrics.selectors import aggregates_visible
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Person
from coachloop.org.scope import scope_for
from coachloop.quality import analytics, calibration, selectors, services
from coachloop.quality.models import Calibration, Evaluation, EvaluationStatus, Scorecard

router = Router(tags=["quality"])


# --- skills and scorecards ---------------------------------------------------------------------


class SkillOut(Schema):
    key: str
    name: str
    kind: str
    call_type: str


@router.get("/skills", response=list[SkillOut], summary="The skills catalog")
@paginate(LimitOffset)
def skills(request: HttpRequest) -> QuerySet[Skill]:
    return Skill.objects.all()


class ScorecardOut(Schema):
    id: int
    key: str
    version: int
    name: str
    is_current: bool
    critical_scope: str
    programs: list[str]
    channels: list[str]
    call_types: list[str]

    @staticmethod
    def resolve_programs(obj: Scorecard) -> list[str]:
        return sorted(p.code for p in obj.programs.all())


class ScorecardQuery(Schema):
    current: bool = Field(False, description="Only the version new evaluations use")


@router.get("/scorecards", response=list[ScorecardOut], summary="Scorecards, every version")
@paginate(LimitOffset)
def scorecards(request: HttpRequest, query: Query[ScorecardQuery]) -> QuerySet[Scorecard]:
    return selectors.scorecard_list(user=request.user, current_only=query.current)


def _document(scorecard: Scorecard) -> dict[str, Any]:
    return {
        "id": scorecard.pk,
        "is_current": scorecard.is_current,
        **selectors.scorecard_document(scorecard),
    }


@router.get("/scorecards/{scorecard_id}", response=dict[str, Any], summary="A scorecard as JSON")
def scorecard(request: HttpRequest, scorecard_id: int) -> dict[str, Any]:
    return _document(selectors.scorecard_get(user=request.user, pk=scorecard_id))


@router.post(
    "/scorecards",
    response={200: dict[str, Any], 201: dict[str, Any]},
    summary="Import a scorecard version (CONTRACTS.md shape); 200 when it existed unchanged",
)
def scorecard_create(request: HttpRequest, document: Body[dict[str, Any]]) -> Status:
    stored, created = services.scorecard_import(document=document, by=request.user)
    return Status(201 if created else 200, _document(stored))


@router.put(
    "/scorecards/{scorecard_id}",
    response=dict[str, Any],
    summary="Change a scorecard: a new version (a new id) once it has evaluations",
)
def scorecard_update(
    request: HttpRequest, scorecard_id: int, document: Body[dict[str, Any]]
) -> dict[str, Any]:
    current = selectors.scorecard_get(user=request.user, pk=scorecard_id)
    stored = services.scorecard_update(scorecard=current, document=document, by=request.user)
    return {**_document(stored), "new_version": stored.pk != current.pk}


# --- evaluations -------------------------------------------------------------------------------


class PersonRef(Schema):
    id: int
    name: str


class EvaluationQuery(Schema):
    agent: int | None = None
    program: int | None = None
    status: str | None = Field(None, description="draft or submitted")
    interaction: int | None = None
    calibration: int | None = None
    start: dt.date | None = Field(None, description="First local day of the contact")
    end: dt.date | None = Field(None, description="Last local day, inclusive")


class EvaluationItem(Schema):
    id: int
    interaction: int = Field(alias="interaction_id")
    agent: PersonRef
    evaluator: PersonRef | None
    scorecard: int = Field(alias="scorecard_id")
    calibration: int | None = Field(alias="calibration_id")
    status: str
    score: float | None
    critical_failed: bool
    local_date: dt.date
    submitted_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


@router.get("/evaluations", response=list[EvaluationItem], summary="Evaluations, newest first")
@paginate(LimitOffset)
def evaluations(request: HttpRequest, query: Query[EvaluationQuery]) -> QuerySet[Evaluation]:
    if query.status is not None and query.status not in EvaluationStatus.values:
        raise InvalidInput(
            "status must be draft or submitted",
            [ErrorDetail(column="status", value=query.status, expected="draft or submitted")],
        )
    return selectors.evaluation_list(user=request.user, **query.dict())


def _evaluation_out(evaluation: Evaluation) -> dict[str, Any]:
    due = selectors.acknowledgement_due(evaluation)
    credits = dict(evaluation.answers.values_list("criterion__key", "credit"))
    return {
        "id": evaluation.pk,
        "interaction": evaluation.interaction_id,
        "agent": {"id": evaluation.agent_id, "name": evaluation.agent.name},
        "evaluator": (
            {"id": evaluation.evaluator_id, "name": evaluation.evaluator.name}
            if evaluation.evaluator
            else None
        ),
        "scorecard": {
            "id": evaluation.scorecard_id,
            "key": evaluation.scorecard.key,
            "version": evaluation.scorecard.version,
        },
        "calibration": evaluation.calibration_id,
        "status": evaluation.status,
        "score": evaluation.score,
        "critical_failed": evaluation.critical_failed,
        "local_date": evaluation.local_date,
        "submitted_at": evaluation.submitted_at,
        "feedback": evaluation.feedback,
        "acknowledged_at": evaluation.acknowledged_at,
        "acknowledgement_comment": evaluation.acknowledgement_comment,
        "acknowledgement_due": due,
        "answers": [
            {"criterion": key, "value": value, "credit": credits.get(key)}
            for key, value in selectors.evaluation_answers(evaluation).items()
        ],
        "comments": [
            {
                "id": c.pk,
                "criterion": c.criterion.key if c.criterion else None,
                "text": c.text,
                "turn": c.turn,
                "offset_s": c.offset_s,
            }
            for c in evaluation.comments.select_related("criterion")
        ],
        "disputes": [
            {
                "id": d.pk,
                "status": d.status,
                "reason": d.reason,
                "resolution_note": d.resolution_note,
                "items": [
                    {
                        "criterion": i.criterion.key,
                        "reason": i.reason,
                        "outcome": i.outcome,
                        "previous_value": i.previous_value,
                        "new_value": i.new_value,
                    }
                    for i in d.items.select_related("criterion")
                ],
            }
            for d in evaluation.disputes.order_by("created_at")
        ],
    }


@router.get("/evaluations/{evaluation_id}", response=dict[str, Any], summary="One evaluation")
def evaluation(request: HttpRequest, evaluation_id: int) -> dict[str, Any]:
    return _evaluation_out(selectors.evaluation_get(user=request.user, pk=evaluation_id))


class EvaluationCreate(Schema):
    interaction: int
    scorecard: int | None = Field(None, description="Default: the scorecard that applies")


@router.post("/evaluations", response={201: dict[str, Any]}, summary="Start (or resume) a draft")
def evaluation_create(request: HttpRequest, body: EvaluationCreate) -> Status:
    interaction = contact_selectors.interaction_get(user=request.user, pk=body.interaction)
    scorecard = (
        selectors.scorecard_get(user=request.user, pk=body.scorecard) if body.scorecard else None
    )
    draft = services.evaluation_start(interaction=interaction, by=request.user, scorecard=scorecard)
    return Status(201, _evaluation_out(draft))


class AnswersIn(Schema):
    answers: dict[str, str] | None = Field(None, description="criterion key -> answer; '' clears")
    feedback: str | None = None


@router.patch(
    "/evaluations/{evaluation_id}",
    response=dict[str, Any],
    summary="Save a draft's answers; answers with the live score",
)
def evaluation_save(request: HttpRequest, evaluation_id: int, body: AnswersIn) -> dict[str, Any]:
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    result = services.evaluation_save(
        evaluation=evaluation, by=request.user, answers=body.answers, feedback=body.feedback
    )
    return {
        **_evaluation_out(evaluation),
        "failed_critical": list(result.failed_critical),
        "sections": result.sections,
    }


class CommentIn(Schema):
    text: str
    criterion: str | None = None
    turn: int | None = Field(None, description="Index of the transcript turn (from 0)")
    offset_s: float | None = Field(None, description="Seconds into the recording")


@router.post(
    "/evaluations/{evaluation_id}/comments",
    response={201: dict[str, Any]},
    summary="Comment on a draft, optionally pinned to a transcript turn or recording offset",
)
def comment_create(request: HttpRequest, evaluation_id: int, body: CommentIn) -> Status:
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    comment = services.evaluation_comment_add(
        evaluation=evaluation,
        by=request.user,
        text=body.text,
        criterion_key=body.criterion,
        turn=body.turn,
        offset_s=body.offset_s,
    )
    return Status(
        201,
        {
            "id": comment.pk,
            "criterion": body.criterion,
            "text": comment.text,
            "turn": comment.turn,
            "offset_s": comment.offset_s,
        },
    )


@router.delete(
    "/evaluations/{evaluation_id}/comments/{comment_id}",
    response={204: None},
    summary="Delete a draft's comment",
)
def comment_delete(request: HttpRequest, evaluation_id: int, comment_id: int) -> Status:
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    comment = evaluation.comments.filter(pk=comment_id).first()
    if comment is None:
        raise Http404("No such comment on this evaluation")
    services.evaluation_comment_delete(comment=comment, by=request.user)
    return Status(204, None)


@router.post(
    "/evaluations/{evaluation_id}/submit",
    response=dict[str, Any],
    summary="Submit a draft (every criterion answered; na counts)",
)
def evaluation_submit(
    request: HttpRequest, evaluation_id: int, body: AnswersIn | None = None
) -> dict[str, Any]:
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    services.evaluation_submit(
        evaluation=evaluation,
        by=request.user,
        answers=body.answers if body else None,
        feedback=body.feedback if body else None,
    )
    return _evaluation_out(evaluation)


class AcknowledgeIn(Schema):
    comment: str = ""


@router.post(
    "/evaluations/{evaluation_id}/acknowledge",
    response=dict[str, Any],
    summary="The evaluated agent acknowledges the evaluation",
)
def evaluation_acknowledge(
    request: HttpRequest, evaluation_id: int, body: AcknowledgeIn | None = None
) -> dict[str, Any]:
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    services.evaluation_acknowledge(
        evaluation=evaluation, by=request.user, comment=body.comment if body else ""
    )
    return _evaluation_out(evaluation)


class DisputeIn(Schema):
    reason: str = ""
    criteria: dict[str, str] = Field(..., description="criterion key -> why it is wrong")


@router.post(
    "/evaluations/{evaluation_id}/disputes",
    response={201: dict[str, Any]},
    summary="Dispute named criteria (the agent or their lead)",
)
def dispute_create(request: HttpRequest, evaluation_id: int, body: DisputeIn) -> Status:
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    dispute = services.dispute_open(
        evaluation=evaluation, by=request.user, reason=body.reason, criteria=body.criteria
    )
    return Status(201, _dispute_out(selectors.dispute_get(user=request.user, pk=dispute.pk)))


def _dispute_out(dispute: Any) -> dict[str, Any]:
    return {
        "id": dispute.pk,
        "evaluation": dispute.evaluation_id,
        "agent": {"id": dispute.evaluation.agent_id, "name": dispute.evaluation.agent.name},
        "status": dispute.status,
        "reason": dispute.reason,
        "resolution_note": dispute.resolution_note,
        "created_at": dispute.created_at,
        "resolved_at": dispute.resolved_at,
        "items": [
            {
                "criterion": item.criterion.key,
                "reason": item.reason,
                "outcome": item.outcome,
                "previous_value": item.previous_value,
                "new_value": item.new_value,
            }
            for item in dispute.items.all()
        ],
    }


class DisputeQuery(Schema):
    status: str | None = Field("open", description="open, resolved, or empty for all")


@router.get("/disputes", response=list[dict[str, Any]], summary="Disputes the caller can see")
@paginate(LimitOffset)
def disputes(request: HttpRequest, query: Query[DisputeQuery]) -> Any:
    return _DisputeList(selectors.dispute_list(user=request.user, status=query.status or None))


class _DisputeList:
    """A queryset that pages into dicts (the dispute shape) for ``LimitOffset``."""

    def __init__(self, queryset: Any) -> None:
        self.queryset = queryset.prefetch_related("items__criterion").order_by("-created_at")

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [_dispute_out(d) for d in self.queryset[window]]

    def count(self) -> int:
        return int(self.queryset.count())


@router.get("/disputes/{dispute_id}", response=dict[str, Any], summary="One dispute")
def dispute(request: HttpRequest, dispute_id: int) -> dict[str, Any]:
    return _dispute_out(selectors.dispute_get(user=request.user, pk=dispute_id))


class ResolveIn(Schema):
    decisions: dict[str, str | None] = Field(
        ..., description="criterion key -> the corrected answer, or null to uphold"
    )
    note: str = ""


@router.post(
    "/disputes/{dispute_id}/resolve",
    response=dict[str, Any],
    summary="Uphold or change every disputed criterion (QA staff)",
)
def dispute_resolve(request: HttpRequest, dispute_id: int, body: ResolveIn) -> dict[str, Any]:
    found = selectors.dispute_get(user=request.user, pk=dispute_id)
    services.dispute_resolve(
        dispute=found, by=request.user, decisions=body.decisions, note=body.note
    )
    return _dispute_out(selectors.dispute_get(user=request.user, pk=dispute_id))


# --- calibration -------------------------------------------------------------------------------


class CalibrationQuery(Schema):
    external_id: str | None = Field(None, description="The session's id in the source system")


class CalibrationItem(Schema):
    id: int
    name: str
    program: str = Field(alias="program.code")
    scorecard: int = Field(alias="scorecard_id")
    status: str
    source: str
    external_id: str
    created_at: dt.datetime


@router.get("/calibrations", response=list[CalibrationItem], summary="Calibration sessions")
@paginate(LimitOffset)
def calibrations(request: HttpRequest, query: Query[CalibrationQuery]) -> QuerySet[Calibration]:
    return selectors.calibration_list(user=request.user, external_id=query.external_id)


def _calibration_out(request: HttpRequest, session: Calibration) -> dict[str, Any]:
    me = scope_for(request.user).person_id
    mine = set(
        Evaluation.objects.filter(
            calibration=session, evaluator_id=me, status=EvaluationStatus.SUBMITTED
        ).values_list("interaction_id", flat=True)
    )
    return {
        "id": session.pk,
        "name": session.name,
        "program": session.program.code,
        "scorecard": session.scorecard_id,
        "status": session.status,
        "source": session.source,
        "external_id": session.external_id,
        "reference_evaluator": session.reference_evaluator_id,
        "units": sorted(session.interactions.values_list("pk", flat=True)),
        "evaluators": [{"id": p.pk, "name": p.name} for p in session.evaluators.order_by("name")],
        "submitted_by_me": sorted(mine),
        "report_visible": selectors.calibration_report_visible(
            user=request.user, calibration=session
        ),
    }


class CalibrationCreate(Schema):
    program: int
    name: str
    interactions: list[int]
    evaluators: list[int] = Field(..., description="Person ids")
    reference_evaluator: int | None = None
    scorecard: int | None = None


@router.post("/calibrations", response={201: dict[str, Any]}, summary="A blind session")
def calibration_create(request: HttpRequest, body: CalibrationCreate) -> Status:
    program = org_selectors.program_get(user=request.user, pk=body.program)
    contacts = [
        contact_selectors.interaction_get(user=request.user, pk=pk) for pk in body.interactions
    ]
    people = {
        p.pk: p
        for p in Person.objects.visible_to(request.user).filter(
            pk__in=[
                *body.evaluators,
                *([body.reference_evaluator] if body.reference_evaluator else []),
            ]
        )
    }
    unknown = [pk for pk in body.evaluators if pk not in people]
    if body.reference_evaluator and body.reference_evaluator not in people:
        unknown.append(body.reference_evaluator)
    if unknown:
        raise InvalidInput(
            "Unknown evaluators: " + ", ".join(str(pk) for pk in unknown),
            [
                ErrorDetail(column="evaluators", value=pk, expected="a person you can see")
                for pk in unknown
            ],
        )
    session = services.calibration_create(
        program=program,
        name=body.name,
        interactions=contacts,
        evaluators=[people[pk] for pk in body.evaluators],
        reference_evaluator=people[body.reference_evaluator] if body.reference_evaluator else None,
        scorecard=(
            selectors.scorecard_get(user=request.user, pk=body.scorecard)
            if body.scorecard
            else None
        ),
        by=request.user,
    )
    return Status(201, _calibration_out(request, session))


@router.get("/calibrations/{calibration_id}", response=dict[str, Any], summary="One session")
def calibration_detail(request: HttpRequest, calibration_id: int) -> dict[str, Any]:
    return _calibration_out(
        request, selectors.calibration_get(user=request.user, pk=calibration_id)
    )


class UnitIn(Schema):
    interaction: int


@router.post(
    "/calibrations/{calibration_id}/evaluations",
    response={201: dict[str, Any]},
    summary="The caller's draft for one contact of the session",
)
def calibration_evaluate(request: HttpRequest, calibration_id: int, body: UnitIn) -> Status:
    session = selectors.calibration_get(user=request.user, pk=calibration_id)
    unit = session.interactions.filter(pk=body.interaction).first()
    if unit is None:
        raise InvalidInput(
            "This contact is not part of the calibration session",
            [ErrorDetail(column="interaction", value=body.interaction, expected="a unit of it")],
        )
    draft = services.evaluation_start(interaction=unit, by=request.user, calibration=session)
    return Status(201, _evaluation_out(draft))


@router.post(
    "/calibrations/{calibration_id}/close",
    response=dict[str, Any],
    summary="Close the session: every answer becomes visible to its participants",
)
def calibration_close(request: HttpRequest, calibration_id: int) -> dict[str, Any]:
    session = selectors.calibration_get(user=request.user, pk=calibration_id)
    services.calibration_close(calibration=session, by=request.user)
    return _calibration_out(request, session)


@router.get(
    "/calibrations/{calibration_id}/report",
    response=dict[str, Any],
    summary="Krippendorff's alpha per criterion and overall, agreement, evaluator bias",
)
def calibration_report(request: HttpRequest, calibration_id: int) -> dict[str, Any]:
    session = selectors.calibration_get(user=request.user, pk=calibration_id)
    if not selectors.calibration_report_visible(user=request.user, calibration=session):
        raise PermissionDenied(
            "The report shows how the others scored: it opens once you have submitted every "
            "contact of the session, or when the session is closed"
        )
    return calibration.calibration_report(session)


# --- analytics ---------------------------------------------------------------------------------


class WeakestQuery(Schema):
    start: dt.date | None = Field(None, description="First local day (default: 13 weeks back)")
    end: dt.date | None = Field(None, description="Last local day, inclusive (default: today)")


def _window(query: WeakestQuery) -> tuple[dt.date, dt.date]:
    return kpi_selectors.recent_window(query.start, query.end)


def _weakest(program: Any, start: dt.date, end: dt.date, **subject: Any) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "criteria": [
            r.as_api() for r in analytics.weakest(program=program, start=start, end=end, **subject)
        ],
        "skills": [
            r.as_api()
            for r in analytics.weakest(
                program=program, start=start, end=end, by_skill=True, **subject
            )
        ],
    }


@router.get(
    "/agents/{agent_id}/qa",
    response=dict[str, Any],
    summary="An agent's criteria and skills, weakest first, against the program's other agents",
)
def agent_qa(request: HttpRequest, agent_id: int, query: Query[WeakestQuery]) -> dict[str, Any]:
    agent = org_selectors.agent_get(user=request.user, pk=agent_id)
    latest = Evaluation.objects.filter(agent=agent).order_by("-local_date").first()
    program = latest.program if latest else None
    start, end = _window(query)
    if program is None:
        return {"start": start, "end": end, "criteria": [], "skills": []}
    report = _weakest(program, start, end, agent_id=agent.pk)
    if not aggregates_visible(user=request.user, program=program):
        for rows in (report["criteria"], report["skills"]):
            for row in rows:
                for key in (
                    "peer_n",
                    "peer_fail_rate",
                    "probability_worse",
                    "estimate",
                    "interval",
                ):
                    row[key] = None
                row["flagged"] = False
    return report


@router.get(
    "/teams/{team_id}/qa",
    response=dict[str, Any],
    summary="A team's criteria and skills, weakest first, against the program's other teams",
)
def team_qa(request: HttpRequest, team_id: int, query: Query[WeakestQuery]) -> dict[str, Any]:
    team = org_selectors.team_get(user=request.user, pk=team_id)
    if not aggregates_visible(user=request.user, team=team, program=team.program):
        raise PermissionDenied(
            "Agents see the figures of a group only when it has at least 5 agents"
        )
    start, end = _window(query)
    return _weakest(team.program, start, end, team_id=team.pk)


@router.get(
    "/programs/{program_id}/qa",
    response=dict[str, Any],
    summary="Per criterion pass rates of the program, ambiguous criteria, drifting evaluators",
)
def program_qa(request: HttpRequest, program_id: int, query: Query[WeakestQuery]) -> dict[str, Any]:
    program = org_selectors.program_get(user=request.user, pk=program_id)
    if not aggregates_visible(user=request.user, program=program):
        raise PermissionDenied(
            "Agents see the figures of a group only when it has at least 5 agents"
        )
    start, end = _window(query)
    staff = selectors.can_evaluate(user=request.user, program=program)
    return {
        "start": start,
        "end": end,
        "criteria": [
            {
                "key": r.key,
                "label": r.label,
                "skills": list(r.skills),
                "n": r.n,
                "pass_rate": None if r.fail_rate is None else round(1 - r.fail_rate, 4),
            }
            for r in analytics.program_pass_rates(program=program, start=start, end=end)
        ],
        # Calibration flags are about evaluators: only QA staff see them.
        "ambiguous_criteria": calibration.ambiguous_criteria(program) if staff else None,
        "drifting_evaluators": calibration.drifting_evaluators(program) if staff else None,
    }

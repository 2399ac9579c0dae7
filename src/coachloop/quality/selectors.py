"""Reads of QA records, and who may do what with them. Scope comes from the models'
``visible_to``; the ``can_*`` rules here are the one place QA permissions are decided."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from coachloop.interactions.models import Interaction
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Person, Program
from coachloop.org.scope import scope_for
from coachloop.quality import sampling
from coachloop.quality.models import (
    Calibration,
    CalibrationStatus,
    Criterion,
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
    QaPolicy,
    Sample,
    Scorecard,
    Section,
)
from coachloop.quality.scoring import Rule

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


# --- permissions -------------------------------------------------------------------------------


def can_evaluate(*, user: AnyUser, program: Program) -> bool:
    """QA analysts and program managers of the program, and org admins, evaluate its contacts
    and review disputes."""
    scope = scope_for(user)
    return scope.is_admin or program.pk in scope.program_role_program_ids


def can_manage_scorecards(*, user: AnyUser, programs: list[Program] | None = None) -> bool:
    """QA analysts and managers change the scorecards of their programs; a scorecard for all
    programs (no programs named) is an org admin's."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    if not programs:
        return False
    return all(program.pk in scope.program_role_program_ids for program in programs)


def can_acknowledge(*, user: AnyUser, evaluation: Evaluation) -> bool:
    """Only the evaluated agent acknowledges their evaluation."""
    scope = scope_for(user)
    return scope.person_id is not None and scope.person_id == evaluation.agent_id


def can_dispute(*, user: AnyUser, evaluation: Evaluation) -> bool:
    """The evaluated agent, or a lead who sees them (their current lead)."""
    scope = scope_for(user)
    if scope.person_id is not None and scope.person_id == evaluation.agent_id:
        return True
    if scope.is_admin:
        return True
    return org_selectors.leads_agent(
        user=user, agent_id=evaluation.agent_id, program_id=evaluation.program_id
    )


# --- scorecards --------------------------------------------------------------------------------


def scorecard_list(*, user: AnyUser, current_only: bool = False) -> QuerySet[Scorecard]:
    scorecards = Scorecard.objects.visible_to(user).prefetch_related("programs")
    return scorecards.current() if current_only else scorecards


def scorecard_get(*, user: AnyUser, pk: int) -> Scorecard:
    scorecard = (
        Scorecard.objects.visible_to(user)
        .prefetch_related(
            "programs",
            Prefetch(
                "sections",
                queryset=Section.objects.prefetch_related(
                    Prefetch("criteria", queryset=Criterion.objects.prefetch_related("skills"))
                ),
            ),
        )
        .filter(pk=pk)
        .first()
    )
    if scorecard is None:
        raise Http404("No such scorecard")
    return scorecard


def scorecard_criteria(scorecard: Scorecard) -> list[Criterion]:
    """The criteria in form order (section, then position), each with its section loaded."""
    return list(
        Criterion.objects.filter(scorecard=scorecard)
        .select_related("section")
        .prefetch_related("skills")
        .order_by("section__position", "position")
    )


def scorecard_rules(criteria: list[Criterion]) -> list[Rule]:
    return [
        Rule(
            key=c.key,
            section=c.section.key,
            type=c.type,
            weight=c.weight,
            critical=c.critical,
        )
        for c in criteria
    ]


def scorecard_document(scorecard: Scorecard) -> dict[str, Any]:
    """The scorecard in the JSON shape of CONTRACTS.md (what export writes and import reads)."""
    criteria = scorecard_criteria(scorecard)
    skills = {skill.key: skill for c in criteria for skill in c.skills.all()}
    sections = list(scorecard.sections.order_by("position"))
    return {
        "key": scorecard.key,
        "name": scorecard.name,
        "version": scorecard.version,
        "critical_scope": scorecard.critical_scope,
        "programs": sorted(p.code for p in scorecard.programs.all()),
        "channels": list(scorecard.channels),
        "call_types": list(scorecard.call_types),
        "skills": [
            {"key": s.key, "name": s.name, "kind": s.kind, "call_type": s.call_type or None}
            for s in sorted(skills.values(), key=lambda s: s.key)
        ],
        "sections": [
            {
                "key": section.key,
                "name": section.name,
                "criteria": [
                    {
                        "key": c.key,
                        "question": c.question,
                        "guidance": c.guidance,
                        "type": c.type,
                        "weight": c.weight,
                        "critical": c.critical,
                        "skills": sorted(s.key for s in c.skills.all()),
                    }
                    for c in criteria
                    if c.section_id == section.pk
                ],
            }
            for section in sections
        ],
    }


def scorecard_for(interaction: Interaction) -> Scorecard | None:
    """The current scorecard that applies to the contact: its program (or all), channel and
    call type; the most specific one wins (named program over all, then channel, call type)."""
    candidates = [
        scorecard
        for scorecard in Scorecard.objects.current()
        .filter(Q(programs__isnull=True) | Q(programs=interaction.program_id))
        .prefetch_related("programs")
        .distinct()
        if (not scorecard.channels or interaction.channel in scorecard.channels)
        and (not scorecard.call_types or interaction.call_type in scorecard.call_types)
    ]
    if not candidates:
        return None

    def specificity(scorecard: Scorecard) -> tuple[bool, bool, bool, str]:
        return (
            not scorecard.programs.all(),
            not scorecard.channels,
            not scorecard.call_types,
            scorecard.key,
        )

    return min(candidates, key=specificity)


# --- evaluations -------------------------------------------------------------------------------


def evaluation_list(
    *,
    user: AnyUser,
    agent: int | None = None,
    program: int | None = None,
    status: str | None = None,
    interaction: int | None = None,
    calibration: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[Evaluation]:
    evaluations = evaluations_visible(user=user).select_related(
        "agent", "evaluator", "scorecard", "interaction", "program"
    )
    if agent is not None:
        evaluations = evaluations.filter(agent_id=agent)
    if program is not None:
        evaluations = evaluations.filter(program_id=program)
    if status is not None:
        evaluations = evaluations.filter(status=status)
    if interaction is not None:
        evaluations = evaluations.filter(interaction_id=interaction)
    if calibration is not None:
        evaluations = evaluations.filter(calibration_id=calibration)
    if start is not None:
        evaluations = evaluations.filter(local_date__gte=start)
    if end is not None:
        evaluations = evaluations.filter(local_date__lte=end)
    return evaluations


def evaluations_visible(*, user: AnyUser) -> QuerySet[Evaluation]:
    """Evaluations in the user's scope, with calibration kept blind: inside an open calibration
    another evaluator's evaluation of a contact is hidden from a participant until the
    participant has submitted their own evaluation of that contact."""
    visible = Evaluation.objects.visible_to(user)
    scope = scope_for(user)
    if scope.person_id is None:
        return visible
    mine_submitted = Evaluation.objects.filter(
        evaluator_id=scope.person_id,
        status=EvaluationStatus.SUBMITTED,
        calibration__isnull=False,
    ).values_list("calibration_id", "interaction_id")
    open_mine = list(
        Calibration.objects.filter(
            evaluators__pk=scope.person_id, status=CalibrationStatus.OPEN
        ).values_list("pk", flat=True)
    )
    if not open_mine:
        return visible
    seen = {(c, i) for c, i in mine_submitted}
    hidden = Q(calibration_id__in=open_mine) & ~Q(evaluator_id=scope.person_id)
    allowed = Q(pk__in=[])
    for calibration_id, interaction_id in seen:
        if calibration_id in open_mine:
            allowed |= Q(calibration_id=calibration_id, interaction_id=interaction_id)
    return visible.exclude(hidden & ~allowed)


def evaluation_get(*, user: AnyUser, pk: int) -> Evaluation:
    evaluation = (
        evaluations_visible(user=user)
        .select_related(
            "agent", "evaluator", "scorecard", "program", "team", "interaction", "calibration"
        )
        .filter(pk=pk)
        .first()
    )
    if evaluation is None:
        raise Http404("No such evaluation")
    return evaluation


def evaluation_answers(evaluation: Evaluation) -> dict[str, str]:
    return dict(evaluation.answers.values_list("criterion__key", "value"))


def acknowledgement_due(evaluation: Evaluation) -> dt.datetime | None:
    """When the agent's acknowledgement is due (the program's policy window after submission)."""
    if evaluation.submitted_at is None:
        return None
    return evaluation.submitted_at + dt.timedelta(
        days=policy_for(evaluation.program).acknowledge_within_days
    )


def policy_for(program: Program) -> QaPolicy:
    """The program's QA policy; the defaults when it has none saved."""
    policy = QaPolicy.objects.filter(program=program).first()
    return policy if policy is not None else QaPolicy(program=program)


# --- disputes ----------------------------------------------------------------------------------


def dispute_list(*, user: AnyUser, status: str | None = DisputeStatus.OPEN) -> QuerySet[Dispute]:
    # evaluations_visible is Evaluation.visible_to plus calibration blindness: one filter.
    disputes = Dispute.objects.filter(
        evaluation__in=evaluations_visible(user=user).values("pk")
    ).select_related("evaluation", "evaluation__agent", "evaluation__program")
    return disputes.filter(status=status) if status else disputes


def dispute_get(*, user: AnyUser, pk: int) -> Dispute:
    dispute = (
        dispute_list(user=user, status=None)
        .prefetch_related("items__criterion")
        .filter(pk=pk)
        .first()
    )
    if dispute is None:
        raise Http404("No such dispute")
    return dispute


# --- calibration -------------------------------------------------------------------------------


def calibration_list(*, user: AnyUser, external_id: str | None = None) -> QuerySet[Calibration]:
    calibrations = Calibration.objects.visible_to(user).select_related("program", "scorecard")
    if external_id is not None:
        calibrations = calibrations.filter(external_id=external_id)
    return calibrations


def calibration_get(*, user: AnyUser, pk: int) -> Calibration:
    calibration = calibration_list(user=user).filter(pk=pk).first()
    if calibration is None:
        raise Http404("No such calibration")
    return calibration


def calibration_report_visible(*, user: AnyUser, calibration: Calibration) -> bool:
    """A participant sees the report (which reveals the others' leanings) once they have
    submitted every contact of the session, or when it is closed; non-participants with a
    program role see it at any time."""
    scope = scope_for(user)
    if calibration.status == CalibrationStatus.CLOSED or scope.is_admin:
        return True
    if not calibration.evaluators.filter(pk=scope.person_id or 0).exists():
        return True
    done = Evaluation.objects.filter(
        calibration=calibration,
        evaluator_id=scope.person_id,
        status=EvaluationStatus.SUBMITTED,
    ).count()
    return done >= calibration.interactions.count()


# --- the sample queue --------------------------------------------------------------------------


def sample_queue(*, user: AnyUser, analyst: Person | None = None) -> QuerySet[Sample]:
    samples = Sample.objects.visible_to(user).open().select_related("interaction", "agent")
    if analyst is not None:
        samples = samples.filter(Q(analyst=analyst) | Q(analyst__isnull=True))
    return samples


def sampling_candidates(
    *, program: Program, start: dt.date, end: dt.date
) -> list[sampling.Candidate]:
    """The program's handled contacts in [start, end] that are neither sampled nor evaluated
    yet (calibration aside), as the sampler sees them."""
    rows = (
        Interaction.objects.filter(
            program=program,
            local_date__range=(start, end),
            answered=True,
            agent__isnull=False,
            qa_sample__isnull=True,
        )
        .exclude(
            pk__in=Evaluation.objects.filter(calibration__isnull=True).values("interaction_id")
        )
        .values_list(
            "pk",
            "agent_id",
            "call_type",
            "csat_norm",
            "resolved",
            "fcr_derived",
            "talk_s",
            "hold_s",
            "acw_s",
        )
        .order_by("pk")
    )
    return [
        sampling.Candidate(
            interaction_id=pk,
            agent_id=agent_id,
            call_type=call_type,
            csat=csat,
            resolved=resolved if resolved is not None else fcr_derived,
            handle_s=None if talk is None else talk + (hold or 0) + (acw or 0),
            hold_s=hold,
        )
        for pk, agent_id, call_type, csat, resolved, fcr_derived, talk, hold, acw in rows
    ]


def program_analysts(*, program: Program) -> list[int]:
    """The people with an active QA analyst role in the program."""
    from coachloop.org.models import Role, RoleAssignment

    return sorted(
        RoleAssignment.objects.active()
        .filter(program=program, role=Role.QA)
        .values_list("person_id", flat=True)
        .distinct()
    )


# --- for the QA pages --------------------------------------------------------------------------


def can_edit_evaluation(*, user: AnyUser, evaluation: Evaluation) -> bool:
    """Only its evaluator changes a draft (an org admin may finish any); the same rule the
    services apply when saving."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    if evaluation.evaluator_id is not None:
        return evaluation.evaluator_id == scope.person_id
    return evaluation.created_by_id is not None and evaluation.created_by_id == user.pk


def calibration_evaluator_roles(*, programs: list[Program]) -> QuerySet[Any]:
    """The active QA analyst, manager and lead roles in the programs: the people who may score
    in a calibration session (``services.calibration_create`` checks the same)."""
    from coachloop.org.models import Role, RoleAssignment

    return (
        RoleAssignment.objects.active()
        .filter(program__in=programs, role__in=(Role.QA, Role.MANAGER, Role.LEAD))
        .select_related("person", "program", "team")
        .order_by("person__name", "role")
    )

"""quality's declarations for the route crawler (see core/tests/crawler.py): QA objects in the
chat program, made through the services and found again when asked twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Model

from coachloop.core.personas import World
from coachloop.core.tests.crawler import IdRoute
from coachloop.interactions.models import Interaction
from coachloop.metrics.tests.factories import contact
from coachloop.org import services as org
from coachloop.org.models import Person, Program, Role, Team
from coachloop.quality import services
from coachloop.quality.models import (
    Calibration,
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
    Scorecard,
)
from coachloop.quality.tests.factories import answers_for, small_document

CHAT_DAY = dt.date(2026, 11, 10)


def chat_scorecard(world: World) -> Scorecard:
    """A scorecard for the chat program only: no care persona sees it."""
    document = {**small_document(key="chat-routes"), "programs": ["chat"]}
    scorecard, _ = services.scorecard_import(document=document, by=None)
    return scorecard


def chat_contact(world: World) -> Interaction:
    found = Interaction.objects.filter(program=world.chat, external_id="routes-chat").first()
    if found is not None:
        return found
    made = contact(program=world.chat, day=CHAT_DAY, agent=world.chat_agent, channel="chat")
    made.external_id = "routes-chat"
    made.save(update_fields=["external_id"])
    return made


def chat_evaluation(world: World) -> Evaluation:
    """A submitted chat evaluation with an open dispute."""
    found = Evaluation.objects.filter(
        program=world.chat, status=EvaluationStatus.SUBMITTED, calibration__isnull=True
    ).first()
    if found is not None:
        return found
    scorecard = chat_scorecard(world)
    draft = services.evaluation_start(interaction=chat_contact(world), by=None, scorecard=scorecard)
    evaluation = services.evaluation_submit(
        evaluation=draft, by=None, answers=answers_for(scorecard)
    )
    services.dispute_open(
        evaluation=evaluation, by=None, reason="Not fair", criteria={"greets": "I did greet"}
    )
    assert evaluation.disputes.filter(status=DisputeStatus.OPEN).exists()
    return evaluation


def chat_draft(world: World) -> Evaluation:
    found = Evaluation.objects.filter(
        program=world.chat, status=EvaluationStatus.DRAFT, calibration__isnull=True
    ).first()
    if found is not None:
        return found
    chat_evaluation(world)  # the contact's submitted one first: a new start is a new draft
    return services.evaluation_start(
        interaction=chat_contact(world), by=None, scorecard=chat_scorecard(world)
    )


def chat_calibration(world: World) -> Calibration:
    found = Calibration.objects.filter(program=world.chat).first()
    if found is not None:
        return found
    analyst = org.person_create(external_id="CQ1", name="Cleo Chatqa", by=None)
    org.role_grant(person=analyst, role=Role.QA, program=world.chat, by=None)
    return services.calibration_create(
        program=world.chat,
        name="Chat calibration",
        interactions=[chat_contact(world)],
        evaluators=[analyst, world.chat_lead],
        scorecard=chat_scorecard(world),
        by=None,
    )


def chat_dispute(world: World) -> Dispute:
    found = Dispute.objects.filter(evaluation__program=world.chat).first()
    if found is not None:
        return found
    chat_evaluation(world)
    return Dispute.objects.get(evaluation__program=world.chat)


def unit_payload(world: World, calibration: Model) -> dict[str, Any]:
    return {"interaction": chat_contact(world).pk}


PUBLIC_ROUTES: set[str] = set()
API = "/api/v1"
ID_ROUTES = {
    f"{API}/scorecards/{{scorecard_id}}": IdRoute(
        Scorecard, chat_scorecard, lambda world, obj: small_document(key="chat-routes")
    ),
    f"{API}/evaluations/{{evaluation_id}}": IdRoute(
        Evaluation, chat_draft, lambda world, obj: {"answers": {"greets": "yes"}}
    ),
    f"{API}/evaluations/{{evaluation_id}}/comments": IdRoute(
        Evaluation, chat_draft, lambda world, obj: {"text": "A comment"}
    ),
    f"{API}/evaluations/{{evaluation_id}}/comments/{{comment_id}}": IdRoute(Evaluation, chat_draft),
    f"{API}/evaluations/{{evaluation_id}}/submit": IdRoute(Evaluation, chat_draft),
    f"{API}/evaluations/{{evaluation_id}}/acknowledge": IdRoute(Evaluation, chat_evaluation),
    f"{API}/evaluations/{{evaluation_id}}/disputes": IdRoute(
        Evaluation,
        chat_evaluation,
        lambda world, obj: {"reason": "unfair", "criteria": {"greets": "I did"}},
    ),
    f"{API}/disputes/{{dispute_id}}": IdRoute(Dispute, chat_dispute),
    f"{API}/disputes/{{dispute_id}}/resolve": IdRoute(
        Dispute, chat_dispute, lambda world, obj: {"decisions": {"greets": None}}
    ),
    f"{API}/calibrations/{{calibration_id}}": IdRoute(Calibration, chat_calibration),
    f"{API}/calibrations/{{calibration_id}}/evaluations": IdRoute(
        Calibration, chat_calibration, unit_payload
    ),
    f"{API}/calibrations/{{calibration_id}}/close": IdRoute(Calibration, chat_calibration),
    f"{API}/calibrations/{{calibration_id}}/report": IdRoute(Calibration, chat_calibration),
    f"{API}/agents/{{agent_id}}/qa": IdRoute(Person, lambda world: world.chat_agent),
    f"{API}/teams/{{team_id}}/qa": IdRoute(Team, lambda world: world.chat_a),
    f"{API}/programs/{{program_id}}/qa": IdRoute(Program, lambda world: world.chat),
    "quality:policy": IdRoute(Program, lambda world: world.chat),
    "quality:team": IdRoute(Team, lambda world: world.chat_a),
    "quality:evaluate": IdRoute(Interaction, chat_contact),
    "quality:evaluation": IdRoute(Evaluation, chat_evaluation),
    "quality:evaluation-edit": IdRoute(Evaluation, chat_draft),
    "quality:dispute": IdRoute(Evaluation, chat_evaluation),
    "quality:agent-evaluations": IdRoute(Person, lambda world: world.chat_agent),
    "quality:scorecard": IdRoute(Scorecard, chat_scorecard),
    "quality:scorecard-json": IdRoute(Scorecard, chat_scorecard),
    "quality:calibration": IdRoute(Calibration, chat_calibration),
    "quality:calibration-report": IdRoute(Calibration, chat_calibration),
}

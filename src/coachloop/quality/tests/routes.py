"""quality's declarations for the route crawler (see core/tests/crawler.py): QA objects in the
chat program, made through the services and found again when asked twice."""

from __future__ import annotations

import datetime as dt

from coachloop.core.personas import World
from coachloop.core.tests.crawler import IdRoute
from coachloop.interactions.models import Interaction
from coachloop.metrics.tests.factories import contact
from coachloop.org import services as org
from coachloop.org.models import Person, Program, Role, Team
from coachloop.quality import services
from coachloop.quality.models import (
    Calibration,
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


PUBLIC_ROUTES: set[str] = set()
ID_ROUTES = {
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

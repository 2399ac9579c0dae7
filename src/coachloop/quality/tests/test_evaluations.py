"""Evaluating through the services: drafts, submission, the QA score KPI, versions,
acknowledgement and the dispute round trip with its trail."""

from __future__ import annotations

from typing import Any

import pytest

from coachloop.core.errors import Conflict, InvalidInput, NotAllowed
from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.metrics import selectors as kpi_selectors
from coachloop.metrics.kpis import Kpi
from coachloop.quality import selectors, services
from coachloop.quality.models import DisputeOutcome, EvaluationStatus
from coachloop.quality.tests.factories import (
    DAY,
    answers_for,
    handled_contact,
    small_document,
    small_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db


def test_a_draft_shows_the_live_score_of_what_is_answered_so_far(world: World) -> None:
    scorecard = small_scorecard()
    by = world.user(world.qa)
    draft = services.evaluation_start(
        interaction=handled_contact(world), by=by, scorecard=scorecard
    )
    live = services.evaluation_save(
        evaluation=draft, by=by, answers={"greets": "no", "empathy": "5"}
    )
    assert live.score == pytest.approx(100 * 2 / 3, abs=1e-3)
    assert draft.status == EvaluationStatus.DRAFT


def test_submitting_needs_every_criterion_answered(world: World) -> None:
    scorecard = small_scorecard()
    by = world.user(world.qa)
    draft = services.evaluation_start(
        interaction=handled_contact(world), by=by, scorecard=scorecard
    )
    with pytest.raises(InvalidInput) as error:
        services.evaluation_submit(evaluation=draft, by=by, answers={"greets": "yes"})
    assert {d.column for d in error.value.details} == {"verifies", "empathy", "accuracy"}


def test_a_submitted_evaluation_feeds_the_agents_qa_score_on_the_contacts_day(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    scorecard = small_scorecard()
    with django_capture_on_commit_callbacks(execute=True):
        submitted_evaluation(world, scorecard=scorecard, answers=answers_for(scorecard))
        submitted_evaluation(
            world, scorecard=scorecard, answers={**answers_for(scorecard), "verifies": "no"}
        )
    qa = qa_score_of(world)
    assert (qa.n, qa.value) == (2, pytest.approx(50.0))


def qa_score_of(world: World) -> Kpi:
    program = world.care
    report = kpi_selectors.kpi_report(
        subject=kpi_selectors.subject_for_agent(world.agent, program),
        start=DAY,
        end=DAY,
        definitions=kpi_selectors.definitions_for(program, ["qa_score"]),
    )
    return report.metrics[0]


def test_only_the_programs_qa_analysts_and_managers_evaluate(world: World) -> None:
    small_scorecard()
    with pytest.raises(NotAllowed):
        services.evaluation_start(interaction=handled_contact(world), by=world.user(world.lead))


def test_editing_a_scorecard_with_evaluations_makes_a_new_version_and_keeps_old_scores(
    world: World,
) -> None:
    scorecard = small_scorecard()
    old = submitted_evaluation(
        world, scorecard=scorecard, answers={**answers_for(scorecard), "greets": "no"}
    )
    changed = small_document()
    changed["sections"][0]["criteria"][0]["weight"] = 5
    new = services.scorecard_update(scorecard=scorecard, document=changed, by=None)
    old.refresh_from_db()
    scorecard.refresh_from_db()
    assert (new.version, new.is_current, scorecard.is_current) == (2, True, False)
    assert old.scorecard_id == scorecard.pk and old.score == pytest.approx(100 * 8 / 9, abs=1e-3)


def test_reimporting_a_version_with_different_content_is_refused(world: World) -> None:
    small_scorecard()
    changed = small_document()
    changed["name"] = "Renamed"
    with pytest.raises(InvalidInput, match="new version"):
        services.scorecard_import(document=changed, by=None)
    same, created = services.scorecard_import(document=small_document(), by=None)
    assert not created and same.name == "Small"


def test_the_agent_acknowledges_their_evaluation_once(world: World) -> None:
    evaluation = submitted_evaluation(world)
    with pytest.raises(NotAllowed):
        services.evaluation_acknowledge(evaluation=evaluation, by=world.user(world.lead))
    services.evaluation_acknowledge(
        evaluation=evaluation, by=world.user(world.agent), comment="Fair"
    )
    assert evaluation.acknowledged_at is not None and evaluation.acknowledgement_comment == "Fair"
    with pytest.raises(Conflict):
        services.evaluation_acknowledge(evaluation=evaluation, by=world.user(world.agent))


def test_a_dispute_round_trip_changes_one_answer_upholds_another_and_keeps_the_trail(
    world: World,
) -> None:
    scorecard = small_scorecard()
    evaluation = submitted_evaluation(
        world,
        scorecard=scorecard,
        answers={**answers_for(scorecard), "greets": "no", "empathy": "2"},
    )
    before = evaluation.score
    dispute = services.dispute_open(
        evaluation=evaluation,
        by=world.user(world.agent),
        reason="I greeted the customer at 0:00",
        criteria={"greets": "Listen to the first turn", "empathy": "I apologised"},
    )
    with pytest.raises(Conflict):
        services.dispute_open(
            evaluation=evaluation,
            by=world.user(world.lead),
            reason="again",
            criteria={"greets": ""},
        )
    with pytest.raises(NotAllowed):
        services.dispute_resolve(dispute=dispute, by=world.user(world.lead), decisions={})
    services.dispute_resolve(
        dispute=dispute,
        by=world.user(world.manager),
        decisions={"greets": "yes", "empathy": None},
        note="Greeting is in turn 0",
    )
    evaluation.refresh_from_db()
    outcomes = {
        i.criterion.key: (i.outcome, i.previous_value, i.new_value) for i in dispute.items.all()
    }
    assert outcomes == {
        "greets": (DisputeOutcome.CHANGED, "no", "yes"),
        "empathy": (DisputeOutcome.UPHELD, "2", ""),
    }
    assert selectors.evaluation_answers(evaluation)["greets"] == "yes"
    assert evaluation.score > before
    changed = Event.objects.get(verb="evaluation.answer_changed")
    assert changed.params | {} == {
        "dispute": dispute.pk,
        "criterion": "greets",
        "previous": "no",
        "new": "yes",
    }
    resolved = Event.objects.get(verb="dispute.resolved")
    assert (
        resolved.params["previous_score"] == before and resolved.params["score"] == evaluation.score
    )


def test_a_resolved_dispute_moves_the_qa_score_kpi(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    scorecard = small_scorecard()
    evaluation = submitted_evaluation(
        world, scorecard=scorecard, answers={**answers_for(scorecard), "verifies": "no"}
    )
    dispute = services.dispute_open(
        evaluation=evaluation,
        by=world.user(world.lead),
        reason="Verified by PIN",
        criteria={"verifies": ""},
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_resolve(
            dispute=dispute, by=world.user(world.qa), decisions={"verifies": "yes"}
        )
    assert qa_score_of(world).value == pytest.approx(100.0)


def test_a_comment_pins_to_a_turn_of_the_transcript_that_exists(world: World) -> None:
    scorecard = small_scorecard()
    by = world.user(world.qa)
    draft = services.evaluation_start(
        interaction=handled_contact(world), by=by, scorecard=scorecard
    )
    comment = services.evaluation_comment_add(
        evaluation=draft, by=by, text="Did not verify", criterion_key="verifies", turn=3
    )
    assert (comment.turn, comment.criterion.key) == (3, "verifies")
    with pytest.raises(InvalidInput, match="turn of the transcript"):
        services.evaluation_comment_add(evaluation=draft, by=by, text="x", turn=9)

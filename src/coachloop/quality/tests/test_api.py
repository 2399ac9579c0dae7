"""The QA API: scorecards, the evaluation flow, acknowledgement, disputes, blind calibration and
QA analytics, each with the pages' scoping."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from coachloop.core.personas import World
from coachloop.org import services as org
from coachloop.org.models import Person, Role
from coachloop.quality import services
from coachloop.quality.models import Evaluation
from coachloop.quality.tests.factories import (
    answers_for,
    handled_contact,
    small_document,
    small_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db
Clients = Callable[[Person], Client]
API = "/api/v1"


def send(client: Client, method: str, path: str, body: Any = None) -> Any:
    response = client.generic(
        method,
        API + path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
    )
    return response.status_code, response.json() if response.content else None


def test_a_scorecard_round_trips_through_the_api(world: World, client_for: Clients) -> None:
    admin = client_for(world.admin)
    status, created = send(admin, "POST", "/scorecards", small_document())
    assert status == 201 and created["is_current"]
    status, read = send(admin, "GET", f"/scorecards/{created['id']}")
    assert status == 200
    # What comes back is the document sent, with its defaults filled in.
    sent = services.scorecard_normalise(small_document())
    assert {k: v for k, v in read.items() if k not in ("id", "is_current")} == sent
    assert send(admin, "POST", "/scorecards", small_document())[0] == 200  # unchanged


def test_a_bad_scorecard_names_each_problem_by_its_json_path(
    world: World, client_for: Clients
) -> None:
    document = small_document()
    document["sections"][1]["criteria"][0]["type"] = "stars"
    status, body = send(client_for(world.admin), "POST", "/scorecards", document)
    assert status == 422
    assert {
        "column": "sections[1].criteria[0].type",
        "value": "stars",
        "expected": "yes_no, scale_1_5 or points",
    } in body["error"]["details"]


def test_a_qa_analyst_evaluates_through_the_api_with_a_live_score_and_a_pinned_comment(
    world: World, client_for: Clients
) -> None:
    small_scorecard()
    contact = handled_contact(world)
    qa = client_for(world.qa)
    status, draft = send(qa, "POST", "/evaluations", {"interaction": contact.pk})
    assert status == 201 and draft["status"] == "draft"
    status, live = send(
        qa, "PATCH", f"/evaluations/{draft['id']}", {"answers": {"greets": "no", "empathy": "5"}}
    )
    assert status == 200 and live["score"] == pytest.approx(100 * 2 / 3, abs=0.01)
    status, comment = send(
        qa,
        "POST",
        f"/evaluations/{draft['id']}/comments",
        {"text": "No ID check", "criterion": "verifies", "turn": 3},
    )
    assert status == 201 and comment["turn"] == 3
    status, missing = send(qa, "POST", f"/evaluations/{draft['id']}/submit", {})
    assert status == 422 and {d["column"] for d in missing["error"]["details"]} == {
        "verifies",
        "accuracy",
    }
    status, done = send(
        qa,
        "POST",
        f"/evaluations/{draft['id']}/submit",
        {"answers": {"verifies": "yes", "accuracy": "4"}},
    )
    assert (
        status == 200
        and done["status"] == "submitted"
        and done["score"] == pytest.approx(800 / 9, abs=0.01)
    )
    assert done["comments"][0]["turn"] == 3


def test_a_lead_may_not_evaluate_and_gets_403(world: World, client_for: Clients) -> None:
    small_scorecard()
    contact = handled_contact(world)
    status, body = send(client_for(world.lead), "POST", "/evaluations", {"interaction": contact.pk})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert not Evaluation.objects.exists()


def test_only_the_agent_acknowledges(world: World, client_for: Clients) -> None:
    evaluation = submitted_evaluation(world)
    assert (
        send(client_for(world.lead), "POST", f"/evaluations/{evaluation.pk}/acknowledge", {})[0]
        == 403
    )
    status, body = send(
        client_for(world.agent),
        "POST",
        f"/evaluations/{evaluation.pk}/acknowledge",
        {"comment": "OK"},
    )
    assert status == 200 and body["acknowledged_at"] and body["acknowledgement_comment"] == "OK"
    # Drafts never show to the agent, submitted ones do.
    status, listed = send(client_for(world.agent), "GET", "/evaluations")
    assert [item["id"] for item in listed["items"]] == [evaluation.pk]


def test_a_dispute_round_trip_through_the_api_keeps_previous_and_new_answers(
    world: World, client_for: Clients
) -> None:
    scorecard = small_scorecard()
    evaluation = submitted_evaluation(
        world, scorecard=scorecard, answers={**answers_for(scorecard), "greets": "no"}
    )
    status, dispute = send(
        client_for(world.agent),
        "POST",
        f"/evaluations/{evaluation.pk}/disputes",
        {"reason": "I greeted", "criteria": {"greets": "Turn 0"}},
    )
    assert status == 201 and dispute["items"][0]["previous_value"] == "no"
    status, open_ones = send(client_for(world.qa), "GET", "/disputes")
    assert [d["id"] for d in open_ones["items"]] == [dispute["id"]]
    assert (
        send(
            client_for(world.agent),
            "POST",
            f"/disputes/{dispute['id']}/resolve",
            {"decisions": {"greets": "yes"}},
        )[0]
        == 403
    )
    status, resolved = send(
        client_for(world.qa),
        "POST",
        f"/disputes/{dispute['id']}/resolve",
        {"decisions": {"greets": "yes"}, "note": "Heard it"},
    )
    assert status == 200 and resolved["status"] == "resolved"
    status, read = send(client_for(world.agent), "GET", f"/evaluations/{evaluation.pk}")
    assert read["score"] == 100.0
    assert read["disputes"][0]["items"][0] | {} == {
        "criterion": "greets",
        "reason": "Turn 0",
        "outcome": "changed",
        "previous_value": "no",
        "new_value": "yes",
    }


def second_analyst(world: World) -> Person:
    person = org.person_create(external_id="Q2", name="Quentin Second", by=None)
    org.person_user_create(person=person, username="q2", by=None)
    org.role_grant(person=person, role=Role.QA, program=world.care, by=None)
    person.refresh_from_db()
    return person


def test_calibration_stays_blind_in_the_api_until_each_evaluator_submits(
    world: World, client_for: Clients
) -> None:
    scorecard = small_scorecard()
    second = second_analyst(world)
    contact = handled_contact(world)
    first, other = client_for(world.qa), client_for(second)
    status, session = send(
        first,
        "POST",
        "/calibrations",
        {
            "program": world.care.pk,
            "name": "Week 46",
            "interactions": [contact.pk],
            "evaluators": [world.qa.pk, second.pk],
            "scorecard": scorecard.pk,
        },
    )
    assert status == 201 and session["units"] == [contact.pk]
    status, mine = send(
        first, "POST", f"/calibrations/{session['id']}/evaluations", {"interaction": contact.pk}
    )
    send(first, "POST", f"/evaluations/{mine['id']}/submit", {"answers": answers_for(scorecard)})
    status, seen = send(other, "GET", f"/evaluations?calibration={session['id']}")
    assert seen["count"] == 0
    assert send(other, "GET", f"/evaluations/{mine['id']}")[0] == 404
    assert send(other, "GET", f"/calibrations/{session['id']}/report")[0] == 403
    status, theirs = send(
        other, "POST", f"/calibrations/{session['id']}/evaluations", {"interaction": contact.pk}
    )
    send(
        other,
        "POST",
        f"/evaluations/{theirs['id']}/submit",
        {"answers": {**answers_for(scorecard), "greets": "no"}},
    )
    status, seen = send(other, "GET", f"/evaluations?calibration={session['id']}")
    assert seen["count"] == 2
    status, report = send(other, "GET", f"/calibrations/{session['id']}/report")
    assert status == 200 and report["n_raters"] == 2 and len(report["per_criterion"]) == 4
    assert send(client_for(world.lead), "GET", f"/calibrations/{session['id']}")[0] == 404


def test_an_imported_calibration_is_found_by_its_external_id(
    world: World, client_for: Clients
) -> None:
    scorecard = small_scorecard()
    services.calibration_create(
        program=world.care,
        name="Imported",
        interactions=[handled_contact(world)],
        evaluators=[world.qa, world.manager],
        scorecard=scorecard,
        by=None,
        source="qa-tool",
        external_id="CAL-7",
    )
    status, found = send(client_for(world.qa), "GET", "/calibrations?external_id=CAL-7")
    assert status == 200 and [c["external_id"] for c in found["items"]] == ["CAL-7"]


def test_an_agents_qa_gaps_hide_peer_figures_from_an_agent_in_a_small_program(
    world: World, client_for: Clients
) -> None:
    scorecard = small_scorecard()
    for agent in (world.agent, world.agent2):
        submitted_evaluation(
            world,
            scorecard=scorecard,
            interaction=handled_contact(world, agent=agent, transcript=False),
            answers={**answers_for(scorecard), "verifies": "no" if agent == world.agent else "yes"},
        )
    status, lead_view = send(
        client_for(world.lead),
        "GET",
        f"/agents/{world.agent.pk}/qa?start=2026-11-01&end=2026-11-20",
    )
    top = lead_view["criteria"][0]
    assert status == 200 and (top["key"], top["n"], top["peer_n"]) == ("verifies", 1, 1)
    status, own = send(
        client_for(world.agent),
        "GET",
        f"/agents/{world.agent.pk}/qa?start=2026-11-01&end=2026-11-20",
    )
    assert own["criteria"][0]["peer_n"] is None and not own["criteria"][0]["flagged"]
    assert send(client_for(world.agent), "GET", f"/programs/{world.care.pk}/qa")[0] == 403
    status, program = send(
        client_for(world.qa), "GET", f"/programs/{world.care.pk}/qa?start=2026-11-01&end=2026-11-20"
    )
    rates = {row["key"]: row for row in program["criteria"]}
    assert rates["verifies"]["pass_rate"] == 0.5 and program["ambiguous_criteria"] == []


def test_a_care_lead_gets_404_for_a_chat_evaluation_and_for_a_missing_comment(
    world: World, client_for: Clients
) -> None:
    chat_scorecard, _ = services.scorecard_import(
        document={**small_document(key="chat-only"), "programs": ["chat"]}, by=None
    )
    chat = handled_contact(world, agent=world.chat_agent, transcript=False)
    chat.program = world.chat
    chat.save(update_fields=["program"])
    evaluation = submitted_evaluation(
        world, scorecard=chat_scorecard, interaction=chat, evaluator=world.admin
    )
    status, body = send(client_for(world.lead), "GET", f"/evaluations/{evaluation.pk}")
    assert status == 404 and body["error"]["code"] == "not_found"
    small_scorecard()
    qa = client_for(world.qa)
    status, draft = send(qa, "POST", "/evaluations", {"interaction": handled_contact(world).pk})
    assert send(qa, "DELETE", f"/evaluations/{draft['id']}/comments/999999")[0] == 404

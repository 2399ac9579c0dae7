"""The diagnosis and coaching-queue API on a team where one agent clearly stands out: Alice
fails "verifies identity" on every evaluation, her peers never do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from coachloop.core.personas import World
from coachloop.org.models import Person
from coachloop.quality.models import Comment
from coachloop.quality.tests.factories import handled_contact, small_scorecard, submitted_evaluation

pytestmark = pytest.mark.django_db
Clients = Callable[[Person], Client]
WINDOW = "start=2026-10-01&end=2026-11-19"


@pytest.fixture
def alice_skips_verification(world: World) -> World:
    scorecard = small_scorecard()
    empathy = {world.agent.pk: "4", world.agent2.pk: "5", world.care_b_agent.pk: "3"}
    for agent in (world.agent, world.agent2, world.care_b_agent):
        for day in range(6):
            evaluation = submitted_evaluation(
                world,
                scorecard=scorecard,
                interaction=handled_contact(
                    world,
                    agent=agent,
                    day=dt.date(2026, 11, 2) + dt.timedelta(days=day),
                    transcript=False,
                ),
                answers={
                    "greets": "yes",
                    "verifies": "no" if agent == world.agent else "yes",
                    "empathy": empathy[agent.pk],
                    "accuracy": "4",
                },
            )
            if agent == world.agent and day == 0:
                Comment.objects.create(
                    evaluation=evaluation,
                    criterion=evaluation.answers.get(criterion__key="verifies").criterion,
                    text="Gave the balance before asking for the PIN.",
                )
    return world


def get(client: Client, path: str) -> Any:
    response = client.get(path)
    return response.status_code, response.json()


def test_the_lead_sees_the_skill_that_stands_out_with_the_calls_that_show_it(
    alice_skips_verification: World, client_for: Clients
) -> None:
    world = alice_skips_verification
    status, body = get(
        client_for(world.lead), f"/api/v1/agents/{world.agent.pk}/diagnosis?{WINDOW}"
    )
    assert status == 200
    assert set(body) >= {"opportunities", "strengths", "program_issues"}
    top = body["opportunities"][0]
    assert (top["skill"], top["gap_kind"]) == ("verification", "skill")
    assert top["probability"] >= 0.8
    assert top["criteria"][0] | {} == {
        "criterion": "verifies",
        "label": "Verifies identity",
        "fail_rate": 1.0,
        "peer_fail_rate": 0.0,
        "n": 6,
    }
    whys = [item["why"] for item in top["evidence"]]
    assert 3 <= len(top["evidence"]) <= 5
    assert "QA: failed 'Verifies identity': Gave the balance before asking for the PIN." in whys
    assert "Verifies identity" in top["statement"] and "100% vs 0% (n=6)" in top["statement"]
    assert top["goal_draft"]["skill"] == "verification" and top["goal_draft"]["deadline"]


def test_a_peer_with_nothing_special_has_no_significant_opportunity(
    alice_skips_verification: World, client_for: Clients
) -> None:
    world = alice_skips_verification
    status, body = get(
        client_for(world.lead), f"/api/v1/agents/{world.agent2.pk}/diagnosis?{WINDOW}"
    )
    assert status == 200
    assert all(o["probability"] < 0.8 for o in body["opportunities"])


def test_agents_and_other_leads_do_not_get_the_diagnosis(
    alice_skips_verification: World, client_for: Clients
) -> None:
    world = alice_skips_verification
    path = f"/api/v1/agents/{world.agent.pk}/diagnosis?{WINDOW}"
    assert get(client_for(world.agent), path)[0] == 403
    assert get(client_for(world.other_lead), path)[0] == 404


def test_the_queue_puts_the_agent_who_stands_out_first_and_says_why(
    alice_skips_verification: World, client_for: Clients
) -> None:
    world = alice_skips_verification
    status, body = get(
        client_for(world.lead), f"/api/v1/coaching-queue?team={world.care_a.pk}&{WINDOW}"
    )
    assert status == 200
    first, second = body["items"]
    assert first["agent"]["id"] == world.agent.pk
    assert first["top_opportunity"]["skill"] == "verification"
    assert "Verifies identity" in first["reason"]
    assert second["top_opportunity"] is None and second["reason"].startswith("Nothing stands out")
    assert "overdue" in first["reason"] or "due in" in first["reason"]
    assert (
        get(client_for(world.other_lead), f"/api/v1/coaching-queue?team={world.care_a.pk}")[0]
        == 404
    )


def test_a_dismissed_opportunity_no_longer_ranks_the_agent(
    alice_skips_verification: World, client_for: Clients
) -> None:
    from coachloop.insights import services

    world = alice_skips_verification
    path = f"/api/v1/coaching-queue?team={world.care_a.pk}&{WINDOW}"
    first = get(client_for(world.lead), path)[1]["items"][0]
    services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key=first["top_opportunity"]["key"],
        reason="Known: new verification process",
        by=world.user(world.lead),
    )
    row = next(
        item
        for item in get(client_for(world.lead), path)[1]["items"]
        if item["agent"]["id"] == world.agent.pk
    )
    assert (
        row["top_opportunity"] is None
        or row["top_opportunity"]["key"] != first["top_opportunity"]["key"]
    )


def test_the_diagnosis_api_sets_dismissed_opportunities_apart(
    alice_skips_verification: World, client_for: Clients
) -> None:
    from coachloop.insights import services

    world = alice_skips_verification
    path = f"/api/v1/agents/{world.agent.pk}/diagnosis?{WINDOW}"
    top = get(client_for(world.lead), path)[1]["opportunities"][0]
    services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key=top["key"],
        reason="Process changed",
        by=world.user(world.lead),
    )
    body = get(client_for(world.lead), path)[1]
    assert top["key"] not in [o["key"] for o in body["opportunities"]]
    assert body["hidden"] == [
        {"key": top["key"], "decision": "dismissed", "reason": "Process changed", "until": None}
    ]

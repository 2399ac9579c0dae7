"""Data where one agent clearly stands out: world.agent fails "verifies identity" on every
evaluation while world.agent2 and world.care_b_agent pass it (their empathy varies a little), on
ordinary contacts."""

from __future__ import annotations

import datetime as dt

from coachloop.core.personas import World
from coachloop.metrics import services as metrics_services
from coachloop.metrics.tests.factories import contacts
from coachloop.quality.tests.factories import (
    answers_for,
    handled_contact,
    small_scorecard,
    submitted_evaluation,
)

FIRST_DAY = dt.date(2026, 10, 1)
EVALUATIONS = 10


def agent_fails_verification(world: World) -> None:
    scorecard = small_scorecard()
    for index in range(EVALUATIONS):
        day = FIRST_DAY + dt.timedelta(days=3 * index)
        for agent in (world.agent, world.agent2, world.care_b_agent):
            answers = answers_for(scorecard)
            if agent == world.agent:
                answers["verifies"] = "no"
            else:
                # Empathy varies a little between the others, so the agent's profile has a
                # second skill to stand out from.
                answers["empathy"] = ("4", "5", "3")[index % 3] if agent == world.agent2 else "4"
            submitted_evaluation(
                world,
                scorecard=scorecard,
                interaction=handled_contact(world, agent=agent, day=day),
                answers=answers,
            )
            contacts(
                20, program=world.care, day=day, agent=agent, call_type="billing", resolved=True
            )
    metrics_services.rollups_rebuild()

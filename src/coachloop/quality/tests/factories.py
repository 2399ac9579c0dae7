"""QA fixtures in one line each: the simulator's scorecard, a small hand-made scorecard for the
scoring math, a handled contact with a transcript, and a submitted evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from coachloop.core.personas import World
from coachloop.interactions.models import Interaction, Transcript
from coachloop.metrics.tests.factories import contact
from coachloop.org.models import Person
from coachloop.quality import selectors, services
from coachloop.quality.models import Evaluation, Scorecard
from coachloop.simulator.catalog import scorecard_document

DAY = dt.date(2026, 11, 10)
TURNS = [
    {"speaker": "agent", "offset_s": 0.0, "text": "Thanks for calling Energy Care, this is Alice."},
    {"speaker": "customer", "offset_s": 4.5, "text": "My bill is twice what it should be."},
    {"speaker": "agent", "offset_s": 11.0, "text": "Let me look at that for you."},
    {"speaker": "customer", "offset_s": 30.0, "text": "You did not check who I am."},
]


def demo_scorecard() -> Scorecard:
    """The simulator's scorecard (cx-core v1), imported as an org admin would."""
    scorecard, _ = services.scorecard_import(document=scorecard_document(), by=None)
    return scorecard


def small_document(
    *, critical_scope: str = "evaluation", version: int = 1, key: str = "small"
) -> dict[str, Any]:
    """Two sections, one of each criterion type and a critical one:

    opening: greets (yes/no, weight 1), verifies (yes/no, weight 2, critical)
    handling: empathy (scale 1-5, weight 2), accuracy (points, weight 4)
    """
    return {
        "key": key,
        "name": "Small",
        "version": version,
        "critical_scope": critical_scope,
        "programs": [],
        "channels": [],
        "call_types": [],
        "skills": [
            {"key": "verification", "name": "Verification", "kind": "behaviour", "call_type": None},
            {"key": "empathy", "name": "Empathy", "kind": "behaviour", "call_type": None},
        ],
        "sections": [
            {
                "key": "opening",
                "name": "Opening",
                "criteria": [
                    {"key": "greets", "question": "Greets", "type": "yes_no", "weight": 1},
                    {
                        "key": "verifies",
                        "question": "Verifies identity",
                        "type": "yes_no",
                        "weight": 2,
                        "critical": True,
                        "skills": ["verification"],
                    },
                ],
            },
            {
                "key": "handling",
                "name": "Handling",
                "criteria": [
                    {
                        "key": "empathy",
                        "question": "Shows empathy",
                        "type": "scale_1_5",
                        "weight": 2,
                        "skills": ["empathy"],
                    },
                    {"key": "accuracy", "question": "Accurate", "type": "points", "weight": 4},
                ],
            },
        ],
    }


def small_scorecard(**options: Any) -> Scorecard:
    scorecard, _ = services.scorecard_import(document=small_document(**options), by=None)
    return scorecard


def handled_contact(
    world: World,
    *,
    agent: Person | None = None,
    day: dt.date = DAY,
    call_type: str = "billing",
    transcript: bool = True,
    **fields: Any,
) -> Interaction:
    interaction = contact(
        program=world.care, day=day, agent=agent or world.agent, call_type=call_type, **fields
    )
    if transcript:
        Transcript.objects.create(interaction=interaction, turns=TURNS)
    return interaction


def answers_for(scorecard: Scorecard, value: str = "yes") -> dict[str, str]:
    """The same answer for every criterion, in the form its type takes ('yes' -> 5 on a scale,
    full points on points)."""
    out: dict[str, str] = {}
    for criterion in selectors.scorecard_criteria(scorecard):
        if value == "na":
            out[criterion.key] = "na"
        elif criterion.type == "yes_no":
            out[criterion.key] = value
        elif criterion.type == "scale_1_5":
            out[criterion.key] = "5" if value == "yes" else "1"
        else:
            out[criterion.key] = str(int(criterion.weight)) if value == "yes" else "0"
    return out


def submitted_evaluation(
    world: World,
    *,
    scorecard: Scorecard | None = None,
    interaction: Interaction | None = None,
    answers: dict[str, str] | None = None,
    evaluator: Person | None = None,
) -> Evaluation:
    scorecard = scorecard or demo_scorecard()
    interaction = interaction or handled_contact(world)
    by = world.user(evaluator or world.qa)
    evaluation = services.evaluation_start(interaction=interaction, by=by, scorecard=scorecard)
    return services.evaluation_submit(
        evaluation=evaluation, by=by, answers=answers or answers_for(scorecard)
    )

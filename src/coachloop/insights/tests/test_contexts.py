"""The program's diagnosis context is built once and shared until the data behind it changes."""

from __future__ import annotations

import datetime as dt

import pytest

from coachloop.core.personas import World
from coachloop.insights import contexts
from coachloop.insights.contexts import shared_context
from coachloop.insights.tests.data import FIRST_DAY, agent_fails_verification
from coachloop.metrics import services as metrics_services
from coachloop.metrics.tests.factories import contacts as make_contacts
from coachloop.quality.tests.factories import (
    answers_for,
    handled_contact,
    small_scorecard,
    submitted_evaluation,
)

END = FIRST_DAY + dt.timedelta(days=29)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The program of every context actually built (not taken from the kept ones)."""
    built: list[int] = []
    build = contexts.program_context

    def counting(**kwargs):  # type: ignore[no-untyped-def]
        built.append(kwargs["program"].pk)
        return build(**kwargs)

    monkeypatch.setattr(contexts, "program_context", counting)
    return built


def test_the_same_window_on_unchanged_data_is_built_once(world: World, builds: list[int]) -> None:
    agent_fails_verification(world)
    first = shared_context(program=world.care, start=FIRST_DAY, end=END)
    again = shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert again is first
    other_window = shared_context(program=world.care, start=FIRST_DAY, end=END - dt.timedelta(1))
    assert other_window is not first
    assert builds == [world.care.pk, world.care.pk]


def test_refreshed_rollups_make_a_new_context_with_the_new_numbers(
    world: World, builds: list[int]
) -> None:
    agent_fails_verification(world)
    before = shared_context(program=world.care, start=FIRST_DAY, end=END)
    handled_before = before.agents[world.agent.pk]["fcr"].n
    make_contacts(30, program=world.care, day=FIRST_DAY, agent=world.agent, resolved=False)
    metrics_services.rollups_rebuild()
    after = shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert after is not before
    assert after.agents[world.agent.pk]["fcr"].n > handled_before
    assert len(builds) == 2


def test_a_newly_submitted_evaluation_makes_a_new_context(world: World, builds: list[int]) -> None:
    agent_fails_verification(world)
    before = shared_context(program=world.care, start=FIRST_DAY, end=END)
    # No rollup refresh on purpose: the evaluation itself changes the stamp.
    submitted_evaluation(
        world,
        scorecard=small_scorecard(),
        interaction=handled_contact(world, agent=world.agent2, day=FIRST_DAY),
        answers=answers_for(small_scorecard()),
    )
    after = shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert after is not before
    assert len(builds) == 2


def test_a_kept_context_is_rebuilt_after_its_maximum_age(
    world: World, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_fails_verification(world)
    clock = [1000.0]
    monkeypatch.setattr(contexts.time, "monotonic", lambda: clock[0])
    first = shared_context(program=world.care, start=FIRST_DAY, end=END)
    clock[0] += contexts.MAX_AGE_S - 1
    assert shared_context(program=world.care, start=FIRST_DAY, end=END) is first
    clock[0] += 2
    assert shared_context(program=world.care, start=FIRST_DAY, end=END) is not first
    assert len(builds) == 2


def test_only_the_most_recently_used_contexts_are_kept(world: World, builds: list[int]) -> None:
    agent_fails_verification(world)
    for offset in range(contexts.KEPT + 1):
        shared_context(program=world.care, start=FIRST_DAY, end=END - dt.timedelta(offset))
    assert len(contexts._kept) == contexts.KEPT
    # The oldest (offset 0) was dropped and is built again.
    shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert len(builds) == contexts.KEPT + 2

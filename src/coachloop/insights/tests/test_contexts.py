"""The program's diagnosis context is built once and shared until the data behind it changes:
kept by each process, and stored in the database for the pages' default window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coachloop.core import jobs
from coachloop.core.models import Job, JobStatus
from coachloop.core.personas import World
from coachloop.core.tests.workers import worker_polls
from coachloop.insights import contexts
from coachloop.insights import jobs as insights_jobs
from coachloop.insights.contexts import shared_context
from coachloop.insights.models import ContextSnapshot
from coachloop.insights.tests.data import FIRST_DAY, agent_fails_verification
from coachloop.metrics import services as metrics_services
from coachloop.metrics.defaults import default_definitions
from coachloop.metrics.tests.factories import contacts as make_contacts
from coachloop.org.models import Program
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


def test_an_edited_metric_definition_makes_a_new_context(world: World, builds: list[int]) -> None:
    agent_fails_verification(world)
    before = shared_context(program=world.care, start=FIRST_DAY, end=END)
    fcr = next(d for d in default_definitions() if d.slug == "fcr")
    fcr.program, fcr.min_n = world.care, fcr.min_n + 5
    fcr.save()  # the program's own row now overrides the default
    after = shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert after is not before
    assert after.definitions["fcr"].min_n == before.definitions["fcr"].min_n + 5
    assert len(builds) == 2


def test_only_the_most_recently_used_contexts_are_kept(world: World, builds: list[int]) -> None:
    agent_fails_verification(world)
    for offset in range(contexts.KEPT + 1):
        shared_context(program=world.care, start=FIRST_DAY, end=END - dt.timedelta(offset))
    assert len(contexts._kept) == contexts.KEPT
    # The oldest (offset 0) was dropped and is built again.
    shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert len(builds) == contexts.KEPT + 2


# --- stored contexts: what another process (or the worker) built ------------------------------


def test_a_stored_context_is_loaded_by_a_process_that_has_none_and_not_built_again(
    world: World, builds: list[int]
) -> None:
    agent_fails_verification(world)
    contexts.contexts_refresh()  # what the idle worker does
    built = len(builds)
    start, end = contexts.default_window()
    loaded = shared_context(program=world.care, start=start, end=end)
    assert len(builds) == built  # loaded, not built
    rebuilt = contexts.program_context(program=world.care, start=start, end=end)
    assert loaded.agents[world.agent.pk]["fcr"].n == rebuilt.agents[world.agent.pk]["fcr"].n
    assert loaded.median == rebuilt.median
    assert [o.key for o in loaded.issues] == [o.key for o in rebuilt.issues]
    assert loaded.program.pk == world.care.pk


def test_a_request_never_stores_the_context_it_built(world: World, builds: list[int]) -> None:
    agent_fails_verification(world)
    start, end = contexts.default_window()
    shared_context(program=world.care, start=start, end=end)
    shared_context(program=world.care, start=FIRST_DAY, end=END)
    assert builds == [world.care.pk, world.care.pk]
    assert not ContextSnapshot.objects.exists()


def test_a_stored_context_is_not_used_once_the_data_has_changed(
    world: World, builds: list[int]
) -> None:
    agent_fails_verification(world)
    contexts.contexts_refresh()
    built = len(builds)
    submitted_evaluation(
        world,
        scorecard=small_scorecard(),
        interaction=handled_contact(world, agent=world.agent2, day=FIRST_DAY),
        answers=answers_for(small_scorecard()),
    )
    start, end = contexts.default_window()
    shared_context(program=world.care, start=start, end=end)
    assert builds[built:] == [world.care.pk]


def test_an_unreadable_stored_context_is_built_again_without_an_error(
    world: World, builds: list[int]
) -> None:
    agent_fails_verification(world)
    contexts.contexts_refresh()
    built = len(builds)
    ContextSnapshot.objects.update(payload=b"not a pickle")
    start, end = contexts.default_window()
    context = shared_context(program=world.care, start=start, end=end)
    assert context.agents[world.agent.pk]["fcr"].n > 0
    assert builds[built:] == [world.care.pk]


def test_refreshing_stores_every_stale_program_once_and_drops_past_windows(
    world: World, builds: list[int]
) -> None:
    agent_fails_verification(world)
    yesterday = contexts.default_window(END - dt.timedelta(days=1))
    ContextSnapshot.objects.create(
        program=world.care,
        start=yesterday[0],
        end=yesterday[1],
        stamp="old",
        payload=b"",
        built_at=timezone.now(),
        build_seconds=0.0,
    )
    rebuilt = contexts.contexts_refresh(today=END)
    programs = set(Program.objects.values_list("pk", flat=True))
    assert {program.pk for program, _seconds in rebuilt} == programs
    start, end = contexts.default_window(END)
    stored = ContextSnapshot.objects.values_list("program_id", "start", "end")
    assert sorted(stored) == sorted((pk, start, end) for pk in programs)
    assert contexts.contexts_refresh(today=END) == []  # nothing changed since
    assert contexts.stale_programs(today=END) == []
    make_contacts(5, program=world.care, day=END, agent=world.agent, resolved=False)
    metrics_services.rollups_rebuild()
    assert [program.pk for program, _stamp in contexts.stale_programs(today=END)] == [world.care.pk]


def _worker_idles_a_few_times() -> None:
    """Run the worker loop for three polls with every idle task due (they are throttled per
    process, and another test may have run them moments ago)."""
    jobs.idle_tasks_make_due()
    worker_polls(3)


def test_the_idle_worker_keeps_the_stored_contexts_current(world: World) -> None:
    agent_fails_verification(world)
    _worker_idles_a_few_times()
    refresh = Job.objects.get(kind=insights_jobs.KIND)
    assert refresh.status == JobStatus.SUCCEEDED
    assert "context built and stored" in refresh.log
    assert contexts.stale_programs() == []
    _worker_idles_a_few_times()  # nothing changed: no new job
    assert Job.objects.filter(kind=insights_jobs.KIND).count() == 1

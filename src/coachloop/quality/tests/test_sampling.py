"""Filling the QA queue from a program's policy."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from coachloop.core.errors import NotAllowed
from coachloop.core.personas import World
from coachloop.metrics.tests.factories import contacts
from coachloop.quality import services
from coachloop.quality.models import Sample, SampleReason
from coachloop.quality.sampling import allocate
from coachloop.quality.tests.factories import submitted_evaluation

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 9)


def a_week_of_contacts(world: World) -> None:
    day = MONDAY + dt.timedelta(days=1)
    contacts(10, program=world.care, day=day, agent=world.agent, call_type="billing", csat=4)
    contacts(5, program=world.care, day=day, agent=world.agent, call_type="outage", csat=5)
    contacts(1, program=world.care, day=day, agent=world.agent, call_type="outage", csat=1)
    contacts(6, program=world.care, day=day, agent=world.agent2, call_type="billing", csat=5)
    # Outside the week: never sampled.
    contacts(5, program=world.care, day=MONDAY + dt.timedelta(days=7), agent=world.agent)


def test_slots_follow_the_agents_call_type_mix() -> None:
    assert allocate({"billing": 10, "outage": 6}, 3) == {"billing": 2, "outage": 1}
    assert allocate({"billing": 10, "outage": 6, "moving": 1}, 2) == {"billing": 1, "outage": 1}
    assert allocate({"billing": 1}, 5) == {"billing": 1}


def test_each_agent_gets_the_policys_routine_and_targeted_samples(world: World) -> None:
    a_week_of_contacts(world)
    services.qa_policy_set(
        program=world.care,
        by=world.user(world.manager),
        per_agent_per_week=3,
        targeted_per_agent_per_week=1,
        target_long_aht=False,
        target_long_hold=False,
        target_unresolved=False,
    )
    created = services.samples_fill(program=world.care, week_start=MONDAY, by=world.user(world.qa))
    alice = [s for s in created if s.agent_id == world.agent.pk]
    routine = [s for s in alice if s.reason == SampleReason.ROUTINE]
    kinds = sorted(s.interaction.call_type for s in routine)
    assert kinds == ["billing", "billing", "outage"]
    # The one CSAT-1 contact is sampled: as the targeted pick, or by the routine draw already.
    assert 1.0 in {s.interaction.csat_norm for s in alice}
    targeted = [s for s in alice if s.reason != SampleReason.ROUTINE]
    assert all(s.reason == SampleReason.LOW_CSAT for s in targeted) and len(targeted) <= 1
    assert sum(s.agent_id == world.agent2.pk for s in created) == 3
    assert {s.analyst_id for s in created} == {world.qa.pk}
    assert all(MONDAY <= s.interaction.local_date <= MONDAY + dt.timedelta(days=6) for s in created)


def test_filling_the_same_week_again_only_tops_it_up_and_is_repeatable(world: World) -> None:
    a_week_of_contacts(world)
    first = services.samples_fill(program=world.care, week_start=MONDAY, by=None)
    assert services.samples_fill(program=world.care, week_start=MONDAY, by=None) == []
    picked = sorted(s.interaction_id for s in first)
    Sample.objects.all().delete()
    again = services.samples_fill(program=world.care, week_start=MONDAY, by=None)
    assert sorted(s.interaction_id for s in again) == picked


def test_an_evaluated_contact_is_not_sampled_and_evaluating_a_sample_closes_it(
    world: World,
) -> None:
    a_week_of_contacts(world)
    created = services.samples_fill(program=world.care, week_start=MONDAY, by=None)
    sample = created[0]
    evaluation = submitted_evaluation(world, interaction=sample.interaction)
    sample.refresh_from_db()
    assert sample.evaluation == evaluation
    assert not Sample.objects.open().filter(pk=sample.pk).exists()


def test_only_qa_staff_fill_the_queue(world: World) -> None:
    with pytest.raises(NotAllowed):
        services.samples_fill(program=world.care, week_start=MONDAY, by=world.user(world.lead))


def test_the_command_fills_the_week_named_and_says_how_many(world: World) -> None:
    a_week_of_contacts(world)
    out = io.StringIO()
    call_command("qa_sample", "--program", "care", "--week", "2026-11-12", stdout=out)
    assert out.getvalue().strip() == f"care: week of {MONDAY}: {Sample.objects.count()} new samples"
    # The default policy: two routine samples per agent (targeted ones only where flagged).
    assert Sample.objects.filter(week_start=MONDAY, reason=SampleReason.ROUTINE).count() == 4


def test_the_command_names_a_bad_week() -> None:
    with pytest.raises(CommandError, match="not a date"):
        call_command("qa_sample", "--week", "12/11/2026")

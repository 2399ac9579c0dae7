"""Exclusions: a manager leaves an outage day, a broken queue or single contacts out of agent
KPIs, with a reason, and can put them back. Queue metrics still count them (the customers did
call). Each change is an Event and is rolled up on commit, so pages show it at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pytest_django import DjangoCaptureOnCommitCallbacks

from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.interactions.models import Interaction, RecomputeMark
from coachloop.metrics import services
from coachloop.metrics.models import Exclusion
from coachloop.metrics.tests.factories import (
    agent_day,
    contacts,
    figures,
    kpi,
    rebuild,
    report,
)

D1, D2 = dt.date(2026, 10, 5), dt.date(2026, 10, 6)
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)

# Alice's AHT over both days: (4 x 600 + 2 x 300 + 3 x 200 + 1 x 100) / 10 = 370.
ALL = (370.0, 10, 3700.0, 10)
DAY2_ONLY = (175.0, 4, 700.0, 4)


@pytest.fixture
def outage(world: World) -> World:
    """Alice's contacts over two days in two queues, plus abandoned calls nobody answered."""
    care, alice = world.care, world.agent
    contacts(4, program=care, agent=alice, day=D1, queue="billing", talk_s=600, wait_s=10)
    contacts(2, program=care, agent=alice, day=D1, queue="moves", talk_s=300, wait_s=30)
    contacts(2, program=care, day=D1, queue="billing", wait_s=90)
    contacts(3, program=care, agent=alice, day=D2, queue="billing", talk_s=200, wait_s=10)
    contacts(1, program=care, agent=alice, day=D2, queue="moves", talk_s=100, wait_s=10)
    contacts(1, program=care, day=D2, queue="moves", wait_s=90)
    agent_day(program=care, agent=alice, day=D1, scheduled_s=28_800, adherent_s=14_400)
    agent_day(program=care, agent=alice, day=D2, scheduled_s=28_800, adherent_s=28_800)
    rebuild()
    return world


def alice(world: World, metric: str = "aht") -> tuple[float | None, float, float, float]:
    return figures(kpi(agent=world.agent, program=world.care, start=START, end=END, metric=metric))


def program(world: World, metric: str) -> tuple[float | None, float, float, float]:
    return figures(kpi(program=world.care, start=START, end=END, metric=metric))


def in_force(world: World) -> list[Exclusion]:
    found = report(agent=world.agent, program=world.care, start=START, end=END, metrics=["aht"])
    return found.exclusions


def test_excluding_a_day_removes_its_contacts_from_the_agents_kpis(
    outage: World, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    assert alice(outage) == ALL
    with django_capture_on_commit_callbacks(execute=True):
        services.exclusion_create(
            program=outage.care,
            kind="day",
            start=D1,
            end=D1,
            reason="Telephony outage",
            by=outage.user(outage.manager),
        )
    assert alice(outage) == DAY2_ONLY
    assert (
        figures(kpi(team=outage.care_a, program=outage.care, start=START, end=END, metric="aht"))
        == DAY2_ONLY
    )
    # The day's activity goes too: one adherent day of one scheduled.
    assert alice(outage, "adherence") == (1.0, 1, 28_800, 28_800)
    assert not RecomputeMark.objects.exists()


def test_queue_metrics_still_count_an_excluded_days_contacts(
    outage: World, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    # 13 contacts offered; 8 answered within 20 s (D1's moves waited 30 s); 3 abandoned;
    # the 10 answered waited 4 x 10 + 2 x 30 + 3 x 10 + 1 x 10 = 140 s.
    before = {
        "service_level": (8 / 13, 13, 8, 13),
        "abandon_rate": (3 / 13, 13, 3, 13),
        "asa": (14.0, 10, 140, 10),
    }
    assert {metric: program(outage, metric) for metric in before} == before
    with django_capture_on_commit_callbacks(execute=True):
        services.exclusion_create(
            program=outage.care, kind="day", start=D1, end=D1, reason="Outage", by=None
        )
    assert {metric: program(outage, metric) for metric in before} == before
    # The program's agent metrics leave the day out, as the agents' do.
    assert program(outage, "aht") == DAY2_ONLY


def test_reverting_an_exclusion_restores_the_numbers(
    outage: World, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    manager = outage.user(outage.manager)
    with django_capture_on_commit_callbacks(execute=True):
        exclusion = services.exclusion_create(
            program=outage.care, kind="day", start=D1, end=D1, reason="Outage", by=manager
        )
    assert alice(outage) == DAY2_ONLY
    assert in_force(outage) == [exclusion]  # pages say why the numbers moved
    with django_capture_on_commit_callbacks(execute=True):
        services.exclusion_revert(exclusion=exclusion, by=manager)
    assert alice(outage) == ALL
    assert in_force(outage) == []
    assert alice(outage, "adherence") == (0.75, 2, 43_200, 57_600)
    exclusion.refresh_from_db()
    assert exclusion.reverted_at is not None
    assert exclusion.reverted_by == manager
    assert not RecomputeMark.objects.exists()


def test_creating_and_reverting_each_write_an_event(
    outage: World, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    manager = outage.user(outage.manager)
    with django_capture_on_commit_callbacks(execute=True):
        exclusion = services.exclusion_create(
            program=outage.care, kind="day", start=D1, end=D1, reason="Outage", by=manager
        )
        services.exclusion_revert(exclusion=exclusion, by=manager)
        services.exclusion_revert(exclusion=exclusion, by=manager)  # already reverted: no-op
    events = list(
        Event.objects.filter(verb__startswith="exclusion.")
        .order_by("pk")
        .values_list("verb", "actor", "program", "target_id")
    )
    assert events == [
        ("exclusion.created", manager.pk, outage.care.pk, exclusion.pk),
        ("exclusion.reverted", manager.pk, outage.care.pk, exclusion.pk),
    ]
    created = Event.objects.get(verb="exclusion.created")
    assert created.params == {
        "kind": "day",
        "start": "2026-10-05",
        "end": "2026-10-05",
        "queue": "",
        "contacts": 0,
        "reason": "Outage",
    }


def test_a_queue_exclusion_only_removes_that_queue(
    outage: World, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.exclusion_create(
            program=outage.care,
            kind="queue",
            queue="billing",
            start=D1,
            end=D2,
            reason="Billing system down",
            by=outage.user(outage.manager),
        )
    # What is left is the moves queue: 2 x 300 + 1 x 100 over 3 contacts.
    assert alice(outage) == (700 / 3, 3, 700.0, 3)
    # Activity days are not about a queue: both stay.
    assert alice(outage, "adherence") == (0.75, 2, 43_200, 57_600)
    assert program(outage, "abandon_rate") == (3 / 13, 13, 3, 13)


def test_a_contacts_exclusion_only_removes_those_contacts(
    outage: World, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    two = list(
        Interaction.objects.filter(agent=outage.agent, local_date=D1, queue="billing")
        .order_by("pk")
        .values_list("pk", flat=True)[:2]
    )
    with django_capture_on_commit_callbacks(execute=True):
        exclusion = services.exclusion_create(
            program=outage.care,
            kind="contacts",
            interaction_ids=two,
            start=START,  # the contacts' own days are used
            end=END,
            reason="Test calls",
            by=outage.user(outage.manager),
        )
    assert (exclusion.start, exclusion.end) == (D1, D1)
    assert sorted(exclusion.contacts.values_list("interaction_id", flat=True)) == two
    assert alice(outage) == (2500 / 8, 8, 2500.0, 8)
    assert alice(outage, "adherence") == (0.75, 2, 43_200, 57_600)


def test_a_lead_may_not_exclude_and_nothing_changes(
    outage: World,
    counts: Callable[[], dict[str, int]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    before = counts()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(PermissionDenied),
    ):
        services.exclusion_create(
            program=outage.care,
            kind="day",
            start=D1,
            end=D1,
            reason="My team had a bad day",
            by=outage.user(outage.lead),
        )
    assert callbacks == []
    assert counts() == before
    assert not Exclusion.objects.exists()
    assert not Event.objects.filter(verb="exclusion.created").exists()
    assert alice(outage) == ALL


def test_an_exclusion_needs_a_reason(
    outage: World,
    counts: Callable[[], dict[str, int]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    before = counts()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError) as raised,
    ):
        services.exclusion_create(
            program=outage.care,
            kind="day",
            start=D1,
            end=D1,
            reason="   ",
            by=outage.user(outage.manager),
        )
    assert set(raised.value.message_dict) == {"reason"}
    assert callbacks == []
    assert counts() == before
    assert alice(outage) == ALL


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "day", "start": D2, "end": D1}, "end"),
        ({"kind": "queue", "start": D1, "end": D1, "queue": ""}, "queue"),
        ({"kind": "contacts", "start": D1, "end": D1, "interaction_ids": []}, "interactions"),
        ({"kind": "week", "start": D1, "end": D1}, "kind"),
    ],
    ids=["end-before-start", "queue-unnamed", "no-contacts", "unknown-kind"],
)
def test_an_exclusion_that_cannot_apply_is_refused(
    outage: World,
    counts: Callable[[], dict[str, int]],
    fields: dict[str, object],
    field: str,
) -> None:
    before = counts()
    with pytest.raises(ValidationError) as raised:
        services.exclusion_create(
            program=outage.care,
            reason="Outage",
            by=outage.user(outage.manager),
            **fields,  # type: ignore[arg-type]
        )
    assert set(raised.value.message_dict) == {field}
    assert counts() == before


def test_contacts_of_another_program_cannot_be_excluded(
    outage: World, counts: Callable[[], dict[str, int]]
) -> None:
    theirs = contacts(1, program=outage.chat, agent=outage.chat_agent, day=D1, channel="chat")
    before = counts()
    with pytest.raises(ValidationError):
        services.exclusion_create(
            program=outage.care,
            kind="contacts",
            start=D1,
            end=D1,
            interaction_ids=[theirs[0].pk],
            reason="Not ours",
            by=outage.user(outage.manager),
        )
    assert counts() == before


def test_a_lead_may_not_revert_an_exclusion(
    outage: World,
    counts: Callable[[], dict[str, int]],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        exclusion = services.exclusion_create(
            program=outage.care, kind="day", start=D1, end=D1, reason="Outage", by=None
        )
    before = counts()
    with pytest.raises(PermissionDenied):
        services.exclusion_revert(exclusion=exclusion, by=outage.user(outage.lead))
    assert counts() == before
    exclusion.refresh_from_db()
    assert exclusion.reverted_at is None
    assert alice(outage) == DAY2_ONLY

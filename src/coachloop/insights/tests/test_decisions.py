"""A lead's decisions on an agent's opportunities through the services: who may decide, the
reason a dismissal or a snooze needs, a snooze running out, what a share keeps, undoing, and the
events each leaves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from coachloop.core.errors import Conflict, InvalidInput, NotAllowed
from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.insights import selectors, services
from coachloop.insights.diagnosis import Diagnosis, Opportunity
from coachloop.insights.models import DecisionKind, OpportunityDecision

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def opportunity(
    metric: str = "fcr", skill: str | None = "verification", **extra: Any
) -> Opportunity:
    return Opportunity(
        metric=metric,
        skill=skill,
        gap_kind="skill",
        value=0.61,
        target=None,
        peer_median=0.78,
        n=120,
        interval=(0.55, 0.67),
        probability=0.93,
        size=1.2,
        statement=f"{metric} 61% vs peers 78% (n=120).",
        **extra,
    )


def diagnosis_of(world: World, *opportunities: Opportunity) -> Diagnosis:
    return Diagnosis(
        agent=world.agent,
        program=world.care,
        start=TODAY - dt.timedelta(days=90),
        end=TODAY,
        opportunities=list(opportunities),
        strengths=[],
        program_issues=[],
    )


def events(verb: str) -> list[Event]:
    return list(Event.objects.filter(verb=verb))


def test_the_agents_lead_dismisses_with_a_reason_and_it_is_an_event(world: World) -> None:
    decision = services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key="fcr:verification",
        reason="Covered in last week's one-to-one",
        by=world.user(world.lead),
    )
    assert decision.decision == DecisionKind.DISMISSED
    [event] = events("opportunity.dismissed")
    assert event.person == world.agent
    assert event.program == world.care
    assert event.actor == world.user(world.lead)
    assert event.params == {
        "key": "fcr:verification",
        "reason": "Covered in last week's one-to-one",
    }


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_dismissal_without_a_reason_is_refused_and_nothing_is_written(
    world: World, reason: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.opportunity_dismiss(
            agent=world.agent,
            program=world.care,
            key="fcr:verification",
            reason=reason,
            by=world.user(world.lead),
        )
    assert caught.value.details[0].column == "reason"
    assert not OpportunityDecision.objects.exists()
    assert not events("opportunity.dismissed")


def test_a_snooze_needs_a_reason_and_a_day_from_today(world: World) -> None:
    lead = world.user(world.lead)
    with pytest.raises(InvalidInput) as no_reason:
        services.opportunity_snooze(
            agent=world.agent,
            program=world.care,
            key="fcr:verification",
            until=TODAY + dt.timedelta(days=14),
            reason="",
            by=lead,
        )
    with pytest.raises(InvalidInput) as past:
        services.opportunity_snooze(
            agent=world.agent,
            program=world.care,
            key="fcr:verification",
            until=TODAY - dt.timedelta(days=1),
            reason="On leave",
            by=lead,
            today=TODAY,
        )
    assert no_reason.value.details[0].column == "reason"
    assert past.value.details[0].column == "until"
    assert not OpportunityDecision.objects.exists()
    assert not events("opportunity.snoozed")


@pytest.mark.parametrize("who", ["other_lead", "chat_lead", "agent", "agent2", "qa"])
def test_only_someone_who_coaches_the_agent_may_decide(world: World, who: str) -> None:
    by = world.user(getattr(world, who))
    with pytest.raises(NotAllowed):
        services.opportunity_dismiss(
            agent=world.agent, program=world.care, key="fcr:verification", reason="x", by=by
        )
    with pytest.raises(NotAllowed):
        services.opportunity_share(
            agent=world.agent, program=world.care, opportunity=opportunity().as_api(), by=by
        )
    assert not OpportunityDecision.objects.exists()
    assert not Event.objects.filter(verb__startswith="opportunity.").exists()


@pytest.mark.parametrize("who", ["lead", "manager", "admin"])
def test_the_lead_the_programs_manager_and_an_admin_may_decide(world: World, who: str) -> None:
    services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key="fcr:verification",
        reason="Known",
        by=world.user(getattr(world, who)),
    )
    assert OpportunityDecision.objects.count() == 1


def test_a_dismissed_opportunity_is_hidden_and_the_others_stay(world: World) -> None:
    services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key="fcr:verification",
        reason="Known",
        by=world.user(world.lead),
    )
    kept = opportunity("aht", "billing_knowledge")
    active, hidden = selectors.apply_decisions(
        diagnosis_of(world, opportunity(), kept), selectors.decisions_for(world.agent), TODAY
    )
    assert active == [kept]
    assert [(d.opportunity.key, d.decision.decision) for d in hidden] == [
        ("fcr:verification", "dismissed")
    ]


def test_a_snoozed_opportunity_comes_back_the_day_after_its_until(world: World) -> None:
    until = TODAY + dt.timedelta(days=7)
    services.opportunity_snooze(
        agent=world.agent,
        program=world.care,
        key="fcr:verification",
        until=until,
        reason="Back from leave next week",
        by=world.user(world.lead),
        today=TODAY,
    )
    diagnosis = diagnosis_of(world, opportunity())
    decisions = selectors.decisions_for(world.agent)
    on_last_day = selectors.apply_decisions(diagnosis, decisions, until)
    day_after = selectors.apply_decisions(diagnosis, decisions, until + dt.timedelta(days=1))
    assert on_last_day.active == [] and len(on_last_day.hidden) == 1
    assert [o.key for o in day_after.active] == ["fcr:verification"] and day_after.hidden == []
    [event] = events("opportunity.snoozed")
    assert event.params["until"] == until.isoformat()


def test_a_share_keeps_the_opportunity_as_it_read_when_shared(world: World) -> None:
    shared = opportunity().as_api()
    services.opportunity_share(
        agent=world.agent, program=world.care, opportunity=shared, by=world.user(world.lead)
    )
    shared["value"] = 0.99  # the numbers move on; the agent still reads what was shared

    view = selectors.shared_with(world.agent)
    [share] = view.shares
    assert share.key == "fcr:verification"
    assert share.snapshot["value"] == 0.61
    assert share.snapshot["statement"] == "fcr 61% vs peers 78% (n=120)."
    [event] = events("opportunity.shared")
    assert event.person == world.agent and event.params == {"key": "fcr:verification"}


def test_a_share_hides_nothing_from_the_lead(world: World) -> None:
    services.opportunity_share(
        agent=world.agent,
        program=world.care,
        opportunity=opportunity().as_api(),
        by=world.user(world.lead),
    )
    applied = selectors.apply_decisions(
        diagnosis_of(world, opportunity()), selectors.decisions_for(world.agent), TODAY
    )
    assert [o.key for o in applied.active] == ["fcr:verification"]
    assert list(applied.shared) == ["fcr:verification"]


def test_an_agent_sees_only_their_own_shares(world: World) -> None:
    services.opportunity_share(
        agent=world.agent2,
        program=world.care,
        opportunity=opportunity().as_api(),
        by=world.user(world.lead),
    )
    assert selectors.shared_with(world.agent).shares == []
    assert len(selectors.shared_with(world.agent2).shares) == 1


def test_undoing_a_dismissal_shows_the_opportunity_again_once(world: World) -> None:
    lead = world.user(world.lead)
    decision = services.opportunity_dismiss(
        agent=world.agent, program=world.care, key="fcr:verification", reason="Known", by=lead
    )
    services.decision_undo(decision=decision, by=lead)
    active, hidden = selectors.apply_decisions(
        diagnosis_of(world, opportunity()), selectors.decisions_for(world.agent), TODAY
    )
    assert [o.key for o in active] == ["fcr:verification"] and hidden == []
    [event] = events("opportunity.undone")
    assert event.params == {"key": "fcr:verification", "decision": "dismissed"}
    with pytest.raises(Conflict):
        services.decision_undo(decision=decision, by=lead)
    assert len(events("opportunity.undone")) == 1


def test_an_outsider_cannot_undo_and_the_decision_stays(world: World) -> None:
    decision = services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key="fcr:verification",
        reason="Known",
        by=world.user(world.lead),
    )
    with pytest.raises(NotAllowed):
        services.decision_undo(decision=decision, by=world.user(world.other_lead))
    decision.refresh_from_db()
    assert decision.undone_at is None
    assert not events("opportunity.undone")


def test_an_undone_share_is_no_longer_shown_to_the_agent(world: World) -> None:
    lead = world.user(world.lead)
    share = services.opportunity_share(
        agent=world.agent, program=world.care, opportunity=opportunity().as_api(), by=lead
    )
    services.decision_undo(decision=share, by=lead)
    assert selectors.shared_with(world.agent).shares == []


def test_decisions_are_visible_to_the_lead_not_to_other_teams(world: World) -> None:
    decision = services.opportunity_dismiss(
        agent=world.agent,
        program=world.care,
        key="fcr:verification",
        reason="Known",
        by=world.user(world.lead),
    )
    assert selectors.decision_get(user=world.user(world.lead), pk=decision.pk) == decision
    assert selectors.decision_get(user=world.user(world.other_lead), pk=decision.pk) is None
    assert selectors.decision_get(user=world.user(world.chat_lead), pk=decision.pk) is None

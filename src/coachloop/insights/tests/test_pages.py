"""The coaching pages through the test client: the lead's queue and an agent's diagnosis (404
out of scope, 403 in scope but not a coach, nothing changes on a denial), dismissing, snoozing
and sharing without JS, and the agent's own page showing only what was shared with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.text import slugify

from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.insights.models import OpportunityDecision
from coachloop.insights.tests.data import agent_fails_verification
from coachloop.org.models import Person
from coachloop.quality.models import Evaluation

pytestmark = pytest.mark.django_db

Clients = Callable[[Person], Client]
KEY = "qa_score:verification"


def text(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def stands_out(world: World) -> World:
    agent_fails_verification(world)
    return world


def diagnosis_url(person: Person) -> str:
    return reverse("insights:diagnosis", args=[person.pk])


def queue_url(world: World) -> str:
    return reverse("insights:queue", args=[world.care_a.pk])


def test_the_lead_sees_the_queue_with_the_agent_who_stands_out_first(
    stands_out: World, client_for: Clients
) -> None:
    world = stands_out
    response = client_for(world.lead).get(queue_url(world))
    assert response.status_code == 200
    page = text(response)
    assert page.index("Alice Agent") < page.index("Aaron Agent")
    assert "Verification" in page
    assert diagnosis_url(world.agent) in page


@pytest.mark.parametrize("who", ["other_lead", "chat_lead", "care_b_agent", "chat_agent"])
def test_outsiders_get_404_on_the_queue(stands_out: World, client_for: Clients, who: str) -> None:
    assert client_for(getattr(stands_out, who)).get(queue_url(stands_out)).status_code == 404


def test_an_agent_of_the_team_may_not_open_its_queue(
    stands_out: World, client_for: Clients
) -> None:
    assert client_for(stands_out.agent).get(queue_url(stands_out)).status_code == 403


def test_the_lead_sees_the_diagnosis_with_strengths_first_and_evidence_links(
    stands_out: World, client_for: Clients
) -> None:
    world = stands_out
    response = client_for(world.lead).get(diagnosis_url(world.agent))
    assert response.status_code == 200
    page = text(response)
    assert page.index("Open with") < page.index("Opportunities") < page.index("Program issues")
    assert "QA: fails &#x27;Verifies identity&#x27; 100% vs 0% (n=10)" in page
    assert "almost certain (100%)" in page
    latest = Evaluation.objects.filter(agent=world.agent).order_by("-local_date").first()
    assert latest is not None
    assert f'href="/interactions/{latest.interaction_id}/" data-evidence' in page
    assert "Share with agent" in page and "Dismiss" in page and "Snooze" in page
    assert "Program issues: not the agent's to fix" in page


@pytest.mark.parametrize("who", ["other_lead", "chat_lead", "agent2", "care_b_agent"])
def test_outsiders_get_404_on_the_diagnosis_and_cannot_decide(
    stands_out: World, client_for: Clients, who: str
) -> None:
    client = client_for(getattr(stands_out, who))
    url = diagnosis_url(stands_out.agent)
    assert client.get(url).status_code == 404
    response = client.post(url, {"action": "dismiss", "key": KEY, "reason": "no"})
    assert response.status_code == 404
    assert not OpportunityDecision.objects.exists()


def test_the_agent_does_not_see_their_own_diagnosis(stands_out: World, client_for: Clients) -> None:
    assert client_for(stands_out.agent).get(diagnosis_url(stands_out.agent)).status_code == 403


def test_qa_reads_the_diagnosis_but_may_not_decide(stands_out: World, client_for: Clients) -> None:
    client = client_for(stands_out.qa)
    url = diagnosis_url(stands_out.agent)
    page = client.get(url)
    assert page.status_code == 200 and "Share with agent" not in text(page)
    response = client.post(url, {"action": "share", "key": KEY})
    assert response.status_code == 403
    assert not OpportunityDecision.objects.exists()
    assert not Event.objects.filter(verb__startswith="opportunity.").exists()


def test_a_dismissal_without_a_reason_keeps_the_form_open_and_writes_nothing(
    stands_out: World, client_for: Clients
) -> None:
    response = client_for(stands_out.lead).post(
        diagnosis_url(stands_out.agent), {"action": "dismiss", "key": KEY, "reason": " "}
    )
    assert response.status_code == 200
    page = text(response)
    assert 'role="alert"' in page and "A reason" in page
    assert not OpportunityDecision.objects.exists()


def test_the_lead_dismisses_and_the_opportunity_moves_to_dismissed_then_back_on_undo(
    stands_out: World, client_for: Clients
) -> None:
    world = stands_out
    client = client_for(world.lead)
    url = diagnosis_url(world.agent)
    assert f"#opp-{slugify(KEY)}" in text(client.get(queue_url(world)))
    response = client.post(url, {"action": "dismiss", "key": KEY, "reason": "Retrained on Monday"})
    assert response.status_code == 302 and response["Location"] == url
    page = text(client.get(url))
    assert f'data-hidden="{KEY}"' in page and f'data-opportunity="{KEY}"' not in page
    assert "Retrained on Monday" in page
    # The queue no longer ranks the agent on it.
    assert f"#opp-{slugify(KEY)}" not in text(client.get(queue_url(world)))
    decision = OpportunityDecision.objects.get()
    client.post(url, {"action": "undo", "decision": decision.pk})
    page = text(client.get(url))
    assert f'data-opportunity="{KEY}"' in page and f'data-hidden="{KEY}"' not in page


def test_the_lead_snoozes_until_a_day(stands_out: World, client_for: Clients) -> None:
    world = stands_out
    client = client_for(world.lead)
    response = client.post(
        diagnosis_url(world.agent),
        {"action": "snooze", "key": KEY, "reason": "On leave", "until": "2026-12-01"},
    )
    assert response.status_code == 302
    decision = OpportunityDecision.objects.get()
    assert decision.decision == "snoozed" and str(decision.until) == "2026-12-01"
    assert "snoozed until 2026-12-01" in text(client.get(diagnosis_url(world.agent)))


def test_a_shared_opportunity_shows_on_the_agents_page_and_nowhere_else(
    stands_out: World, client_for: Clients
) -> None:
    world = stands_out
    before = client_for(world.agent).get(reverse("insights:me"))
    assert before.status_code == 200 and "Nothing shared with you yet" in text(before)
    response = client_for(world.lead).post(
        diagnosis_url(world.agent), {"action": "share", "key": KEY}
    )
    assert response.status_code == 302
    assert "Shared with the agent on" in text(
        client_for(world.lead).get(diagnosis_url(world.agent))
    )
    page = text(client_for(world.agent).get(reverse("insights:me")))
    assert f'data-shared="{KEY}"' in page
    assert "Verifies identity" in page and "/interactions/" in page
    # The care team has fewer than 5 agents: the agent sees no peer figures.
    assert "peer median" not in page and "Peers failed" not in page
    other = text(client_for(world.agent2).get(reverse("insights:me")))
    assert f'data-shared="{KEY}"' not in other and "Nothing shared with you yet" in other


def test_the_decisions_admin_answers(stands_out: World, client_for: Clients) -> None:
    response = client_for(stands_out.admin).get("/admin/insights/opportunitydecision/")
    assert response.status_code == 200


def test_the_nav_offers_the_queue_to_leads_and_my_coaching_to_agents(
    stands_out: World, client_for: Clients
) -> None:
    lead_home = text(client_for(stands_out.lead).get(reverse("insights:me")))
    assert queue_url(stands_out) in lead_home
    agent_page = text(client_for(stands_out.agent).get(reverse("insights:me")))
    assert reverse("insights:me") in agent_page and queue_url(stands_out) not in agent_page


def test_the_team_page_links_the_queue_for_the_lead_and_not_for_an_agent(
    world: World, client_for: Clients
) -> None:
    team_page = reverse("org:team", args=[world.care_a.pk])
    queue = reverse("insights:queue", args=[world.care_a.pk])
    assert queue in text(client_for(world.lead).get(team_page))
    agent_view = client_for(world.agent).get(team_page)
    assert agent_view.status_code == 200 and queue not in text(agent_view)

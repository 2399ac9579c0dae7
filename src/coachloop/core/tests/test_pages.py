"""The home page per role, the object pages, the admin for org admins, bounded queries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from coachloop.core.personas import World
from coachloop.org import services as org
from coachloop.org.models import Person, Role

pytestmark = pytest.mark.django_db


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def test_a_lead_home_lists_their_team_and_not_the_other_team(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    html = text(client_for(world.lead).get("/"))
    assert "Alice Agent" in html and "Aaron Agent" in html
    assert "Bea Otherteam" not in html and "Carl Chat" not in html


def test_an_agent_home_is_their_own_page(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    response = client_for(world.agent).get("/")
    assert response["Location"] == f"/agents/{world.agent.pk}/"


def test_an_agent_cannot_open_another_agents_page(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    assert client_for(world.agent).get(f"/agents/{world.agent2.pk}/").status_code == 404


def test_qa_and_managers_see_their_programs_on_home(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    html = text(client_for(world.manager).get("/"))
    assert "Energy Care" in html and "Care A" in html and "Care B" in html
    assert "Telecom Chat" not in html


def test_the_agent_page_shows_ids_team_history_and_the_timeline(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    assert world.agent.hire_date is not None
    moved_on = world.agent.hire_date + dt.timedelta(days=9)
    org.membership_move(
        person=world.agent, team=world.care_b, on=moved_on, by=world.user(world.admin)
    )
    html = text(client_for(world.manager).get(f"/agents/{world.agent.pk}/"))
    assert "acd: acd-A1" in html
    assert "Care A" in html and "Care B" in html
    assert "membership.moved" in html


def test_navigation_follows_the_roles(world: World, client_for: Callable[[Person], Client]) -> None:
    assert "Administration" in text(client_for(world.admin).get("/"))
    lead_html = text(client_for(world.lead).get("/"))
    assert "Administration" not in lead_html
    assert "Team lead" in lead_html


def test_an_org_admin_by_role_uses_the_admin_without_being_a_superuser(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    user = world.user(world.admin)
    assert not user.is_superuser and not user.is_staff
    client = client_for(world.admin)
    assert client.get("/admin/").status_code == 200
    assert "Alice Agent" in text(client.get("/admin/org/person/"))


def test_a_lead_is_refused_by_the_admin(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    assert client_for(world.lead).get("/admin/org/person/").status_code == 403


def test_a_granted_admin_role_takes_effect_on_the_next_request(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.qa)
    assert client.get("/admin/").status_code == 403
    org.role_grant(person=world.qa, role=Role.ADMIN, by=None)
    assert client.get("/admin/").status_code == 200


def queries_for(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_home_and_team_pages_cost_the_same_queries_for_2_or_22_agents(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.lead)
    team_path = f"/teams/{world.care_a.pk}/"
    before = queries_for(client, "/"), queries_for(client, team_path)
    for number in range(20):
        agent = org.person_create(external_id=f"Z{number}", name=f"Zed {number}", by=None)
        org.membership_move(person=agent, team=world.care_a, on=world.agent.hire_date, by=None)
    after = queries_for(client, "/"), queries_for(client, team_path)
    assert after == before


def test_the_health_check_answers_without_signing_in(world: World) -> None:
    assert Client().get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_the_models_match_the_migrations(db: None) -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_agent_page_counts_the_contacts_imported_for_the_agent(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    from coachloop.interactions.models import Interaction
    from coachloop.metrics.services import rollups_rebuild

    day = world.agent.hire_date
    assert day is not None
    for number in range(3):
        Interaction.objects.create(
            program=world.care,
            external_id=f"K{number}",
            channel="voice",
            agent=world.agent,
            started_at=dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC),
            local_date=day,
            answered=True,
        )
    rollups_rebuild()
    html = text(client_for(world.lead).get(f"/agents/{world.agent.pk}/"))
    # Three handled contacts, none transferred: the transfer rate reads 0.0% over n=3.
    transfers = re.search(r">Transfers</th>(.*?)</tr>", html, re.S)
    assert transfers is not None
    assert ">0.0%</a>" in transfers.group(1) and "n=3<" in transfers.group(1)

"""The organization API: shapes of CONTRACTS.md, scoping, paging, errors, tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from coachloop.core.personas import World
from coachloop.core.services import token_create, token_revoke
from coachloop.org import services as org
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

AGENT_KEYS = {
    "id",
    "external_id",
    "external_ids",
    "name",
    "email",
    "program",
    "team",
    "hire_date",
    "termination_date",
}


def test_an_agent_item_has_the_contract_shape(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    body = client_for(world.lead).get(f"/api/v1/agents/{world.agent.pk}").json()
    assert set(body) == AGENT_KEYS
    assert body["external_id"] == "A1"
    assert body["program"] == "care"
    assert body["team"] == "care-a"
    assert {"source": "acd", "external_id": "acd-A1"} in body["external_ids"]
    assert {"source": "canonical", "external_id": "A1"} in body["external_ids"]


def test_a_lead_lists_only_their_team(world: World, client_for: Callable[[Person], Client]) -> None:
    body = client_for(world.lead).get("/api/v1/agents").json()
    assert body["count"] == 2
    assert {item["external_id"] for item in body["items"]} == {"A1", "A2"}


def test_agents_can_be_found_by_any_of_their_external_ids(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    by_acd = client.get("/api/v1/agents", {"external_id": "acd-A2"}).json()
    assert [item["external_id"] for item in by_acd["items"]] == ["A2"]
    # ...but never across the program boundary.
    assert client.get("/api/v1/agents", {"external_id": "acd-C1"}).json()["count"] == 0


def test_agents_filter_by_program_and_team_code_or_id(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.admin)
    assert client.get("/api/v1/agents", {"program": "chat"}).json()["count"] == 1
    by_team_id = client.get("/api/v1/agents", {"team": str(world.care_b.pk)}).json()
    assert [item["external_id"] for item in by_team_id["items"]] == ["B1"]


def test_agent_lists_include_leavers_unless_active_is_asked(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    import datetime as dt

    from django.utils import timezone

    org.person_terminate(
        person=world.agent2,
        on=timezone.localdate() - dt.timedelta(days=1),
        reason="resigned",
        by=None,
    )
    client = client_for(world.manager)
    everyone = client.get("/api/v1/agents", {"program": "care"}).json()
    active = client.get("/api/v1/agents", {"program": "care", "active": "true"}).json()
    assert everyone["count"] == 3
    assert {item["external_id"] for item in active["items"]} == {"A1", "B1"}


def test_lists_page_with_limit_and_offset(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.admin)
    first = client.get("/api/v1/agents", {"limit": 2}).json()
    second = client.get("/api/v1/agents", {"limit": 2, "offset": 2}).json()
    assert first["count"] == second["count"] == 4
    names = [item["name"] for item in first["items"] + second["items"]]
    assert len(names) == len(set(names)) == 4


def test_a_limit_over_1000_is_a_validation_error_in_the_envelope(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    response = client_for(world.admin).get("/api/v1/agents", {"limit": 1001})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["column"] == "limit"
    assert error["details"][0]["value"] == "1001"


def test_out_of_scope_ids_are_404_in_the_envelope(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    response = client_for(world.lead).get(f"/api/v1/agents/{world.chat_agent.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_api_paths_answer_404_in_the_envelope(world: World) -> None:
    response = Client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_me_gives_roles_and_scope_for_each_persona(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    expected = {
        "agent": (["agent"], {"programs": ["care"], "teams": ["care-a"], "agent": "A1"}),
        "lead": (["lead"], {"programs": ["care"], "teams": ["care-a"], "agent": None}),
        "chat_lead": (["lead"], {"programs": ["chat"], "teams": ["chat-a"], "agent": None}),
        "qa": (["qa"], {"programs": ["care"], "teams": [], "agent": None}),
        "manager": (["manager"], {"programs": ["care"], "teams": [], "agent": None}),
        "admin": (["admin"], {"programs": ["care", "chat"], "teams": [], "agent": None}),
    }
    for persona, (roles, scope) in expected.items():
        body = client_for(world.personas[persona]).get("/api/v1/me").json()
        assert body["roles"] == roles, persona
        assert body["scope"] == scope, persona


def test_a_bearer_token_authenticates_and_a_revoked_one_does_not(world: World) -> None:
    row, token = token_create(user=world.user(world.manager), name="wfm sync")
    client = Client()
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["roles"] == ["manager"]
    row.refresh_from_db()
    assert row.last_used_at is not None
    token_revoke(token=row, by=None)
    revoked = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "unauthorized"


def test_tokens_are_stored_only_as_a_digest(world: World) -> None:
    row, token = token_create(user=world.user(world.manager))
    assert token not in (row.digest, row.prefix)
    assert len(row.digest) == 64


def test_a_made_up_token_is_refused(world: World) -> None:
    response = Client().get("/api/v1/me", headers={"Authorization": "Bearer cl_nope_nope"})
    assert response.status_code == 401


def test_the_agent_list_costs_the_same_queries_for_3_or_30_agents(
    world: World,
    client_for: Callable[[Person], Client],
    django_assert_max_num_queries: Callable,
) -> None:
    client = client_for(world.admin)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/agents")
    for number in range(30):
        agent = org.person_create(
            external_id=f"Z{number}", name=f"Zed {number}", by=None, other_ids={"wfm": f"w{number}"}
        )
        org.membership_move(person=agent, team=world.care_a, on=world.agent.hire_date, by=None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/api/v1/agents", {"limit": 100}).json()
    assert body["count"] == 34


def test_openapi_schema_is_served(world: World) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/agents/{agent_id}" in schema["paths"]
    assert "/api/v1/me" in schema["paths"]

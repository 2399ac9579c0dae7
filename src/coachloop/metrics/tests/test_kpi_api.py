"""The KPI API and the interactions API: the shapes of CONTRACTS.md ("KPI API", "Identifiers,
paging, errors"), who may read what ("Visibility"), and what each figure counts.

Expected figures are computed here straight from the contacts in the database, one contact at a
time, and compared with what the API answers from the rollups.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coachloop.core.personas import World
from coachloop.interactions.models import Interaction
from coachloop.metrics import selectors, services
from coachloop.metrics.models import MetricDefinition
from coachloop.metrics.tests.page_data import PageData, add_agents, build_page_data, call, team_on
from coachloop.org import services as org
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

Clients = Callable[[Person], Client]

CONTRACT_SLUGS = {
    "aht",
    "acw",
    "hold",
    "fcr",
    "csat",
    "csat_mean",
    "nps",
    "transfer_rate",
    "escalation_rate",
    "qa_score",
    "adherence",
    "attendance",
    "occupancy",
    "productivity",
    "service_level",
    "asa",
    "abandon_rate",
}
METRIC_KEYS = {
    "metric",
    "label",
    "unit",
    "value",
    "n",
    "numerator",
    "denominator",
    "target",
    "status",
    "probability_worse_than_target",
    "interval",
    "adjusted",
}
# Keys the contract is silent on, which the API adds: a range's high end and FCR's provisional n.
OPTIONAL_METRIC_KEYS = {"target_upper", "provisional_n"}
UNITS = {"s", "ratio", "points", "score", "per_hour"}
STATUSES = {"on_target", "below_target", "not_enough_data", "no_target"}
INTERACTION_KEYS = {
    "id",
    "external_id",
    "source",
    "program",
    "channel",
    "queue",
    "call_type",
    "agent_id",
    "agent",
    "team",
    "started_at",
    "local_date",
    "answered",
    "wait_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "transferred",
    "escalated",
    "resolved",
    "fcr_derived",
    "fcr_provisional",
    "csat",
    "csat_scale",
    "csat_norm",
    "nps",
    "recording_url",
}


@pytest.fixture
def data(world: World) -> PageData:
    return build_page_data(world)


def window(data: PageData) -> dict[str, str]:
    return {"start": data.first.isoformat(), "end": data.last.isoformat()}


def kpis_of(client: Client, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()


def by_metric(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["metric"]: item for item in body["metrics"]}


def handled(agent: Person, start: dt.date, end: dt.date) -> list[Interaction]:
    return list(
        Interaction.objects.filter(
            agent=agent, answered=True, local_date__gte=start, local_date__lte=end
        )
    )


def outcome(contact: Interaction) -> bool | None:
    """FCR's outcome: the source's flag, else the derived one."""
    return contact.resolved if contact.resolved is not None else contact.fcr_derived


# --- the KPI API: shape ------------------------------------------------------------------------


def test_agent_kpis_answer_every_program_metric_in_the_contract_shape(
    data: PageData, world: World, client_for: Clients
) -> None:
    body = kpis_of(
        client_for(world.manager), f"/api/v1/agents/{world.agent.pk}/kpis", **window(data)
    )

    assert body["start"] == data.first.isoformat()
    assert body["end"] == data.last.isoformat()
    definitions = MetricDefinition.objects.for_program(world.care)
    assert [item["metric"] for item in body["metrics"]] == [d.slug for d in definitions]
    assert {item["metric"] for item in body["metrics"]} == CONTRACT_SLUGS
    scales = {d.slug: d.scale for d in definitions}
    for item in body["metrics"]:
        slug = item["metric"]
        assert METRIC_KEYS <= set(item) <= METRIC_KEYS | OPTIONAL_METRIC_KEYS, slug
        assert item["unit"] in UNITS, slug
        assert item["status"] in STATUSES, slug
        assert isinstance(item["n"], int), slug
        if item["n"] == 0:
            assert item["value"] is None, slug
            assert item["interval"] is None, slug
            continue
        expected = scales[slug] * item["numerator"] / item["denominator"]
        assert item["value"] == pytest.approx(expected, abs=1e-6), slug
        if slug in ("service_level", "asa", "abandon_rate"):
            continue
        low, high = item["interval"]
        assert low <= high, slug
    units = {item["metric"]: item["unit"] for item in body["metrics"]}
    assert (units["aht"], units["fcr"], units["nps"], units["qa_score"]) == (
        "s",
        "ratio",
        "points",
        "score",
    )
    assert units["productivity"] == "per_hour"


def test_aht_and_fcr_come_with_the_case_mix_adjustment_and_other_metrics_without(
    data: PageData, world: World, client_for: Clients
) -> None:
    metrics = by_metric(
        kpis_of(client_for(world.lead), f"/api/v1/agents/{world.agent.pk}/kpis", **window(data))
    )

    for slug in ("aht", "fcr"):
        adjusted = metrics[slug]["adjusted"]
        assert set(adjusted) == {"expected", "gap"}
        assert adjusted["gap"] == pytest.approx(
            metrics[slug]["value"] - adjusted["expected"], abs=2e-6
        )
    assert all(
        item["adjusted"] is None for slug, item in metrics.items() if slug not in ("aht", "fcr")
    )
    # Alice takes the billing calls nobody resolves: her expected FCR is below the program's.
    assert metrics["fcr"]["adjusted"]["gap"] < 0


def test_an_agents_fcr_is_resolved_over_handled_contacts_with_a_known_outcome(
    data: PageData, world: World, client_for: Clients
) -> None:
    contacts = handled(world.agent, data.first, data.last)
    known = [c for c in contacts if outcome(c) is not None]
    resolved = [c for c in known if outcome(c)]

    metrics = by_metric(
        kpis_of(
            client_for(world.lead),
            f"/api/v1/agents/{world.agent.pk}/kpis",
            metrics="fcr,aht",
            **window(data),
        )
    )

    fcr = metrics["fcr"]
    assert (fcr["n"], fcr["numerator"], fcr["denominator"]) == (
        len(known),
        len(resolved),
        len(known),
    )
    assert fcr["value"] == round(len(resolved) / len(known), 6)
    assert fcr["target"] == 0.75
    assert fcr["status"] == "below_target"
    assert fcr["probability_worse_than_target"] >= 0.8
    # The handled call with no known outcome is in AHT's n and not in FCR's.
    aht = metrics["aht"]
    assert aht["n"] == len(contacts) == len(known) + 1
    handle = sum(c.talk_s + c.hold_s + c.acw_s for c in contacts)  # type: ignore[operator]
    assert aht["numerator"] == handle
    assert aht["value"] == round(handle / len(contacts), 6)


def test_metrics_parameter_returns_exactly_those_metrics_in_the_order_asked(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.manager)
    path = f"/api/v1/agents/{world.agent.pk}/kpis"

    first = kpis_of(client, path, metrics="aht,fcr", **window(data))
    second = kpis_of(client, path, metrics="fcr,aht", **window(data))

    assert [item["metric"] for item in first["metrics"]] == ["aht", "fcr"]
    assert [item["metric"] for item in second["metrics"]] == ["fcr", "aht"]


def test_an_unknown_metric_is_a_422_in_the_error_envelope_naming_it(
    data: PageData, world: World, client_for: Clients
) -> None:
    response = client_for(world.manager).get(
        f"/api/v1/agents/{world.agent.pk}/kpis", {"metrics": "aht,speed"}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert set(response.json()) == {"error"}
    assert error["code"] == "validation_error"
    assert error["message"].startswith("Unknown metric speed;")
    assert error["details"] == [
        {"column": "metrics", "value": "aht,speed", "expected": "metric slugs"}
    ]


def test_a_start_after_the_end_is_a_422(data: PageData, world: World, client_for: Clients) -> None:
    response = client_for(world.manager).get(
        f"/api/v1/teams/{world.care_a.pk}/kpis",
        {"start": data.last.isoformat(), "end": data.first.isoformat()},
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == f"end {data.first} is before start {data.last}"


def test_a_date_that_is_not_a_date_is_a_422_naming_the_parameter(
    data: PageData, world: World, client_for: Clients
) -> None:
    response = client_for(world.manager).get(
        f"/api/v1/programs/{world.care.pk}/kpis", {"start": "2026-02-30"}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [detail["column"] for detail in error["details"]] == ["start"]


def test_metrics_without_data_answer_value_null_with_n_0(
    data: PageData, world: World, client_for: Clients
) -> None:
    metrics = by_metric(
        kpis_of(client_for(world.manager), f"/api/v1/agents/{world.agent.pk}/kpis", **window(data))
    )

    # No evaluations and no NPS answers were imported; an agent has no queue metrics.
    for slug in ("qa_score", "nps", "service_level", "asa", "abandon_rate"):
        assert (metrics[slug]["value"], metrics[slug]["n"]) == (None, 0), slug
        assert metrics[slug]["interval"] is None
        assert metrics[slug]["status"] == "no_target"


def test_a_metric_with_a_target_and_too_little_data_is_not_enough_data(
    data: PageData, world: World, client_for: Clients
) -> None:
    day = data.last.isoformat()

    fcr = by_metric(
        kpis_of(
            client_for(world.manager),
            f"/api/v1/agents/{world.agent.pk}/kpis",
            metrics="fcr",
            start=day,
            end=day,
        )
    )["fcr"]

    assert 0 < fcr["n"] < 30
    assert fcr["status"] == "not_enough_data"
    assert fcr["value"] == round(fcr["numerator"] / fcr["denominator"], 6)


def test_without_granularity_the_answer_has_no_series(
    data: PageData, world: World, client_for: Clients
) -> None:
    # CONTRACTS.md: "`series` only with `granularity`".
    body = kpis_of(
        client_for(world.manager),
        f"/api/v1/teams/{world.care_a.pk}/kpis",
        metrics="aht",
        **window(data),
    )

    assert set(body) == {"start", "end", "metrics"}


def test_weekly_series_start_on_the_programs_first_weekday_and_add_up_to_the_total(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.manager)
    path = f"/api/v1/agents/{world.agent.pk}/kpis"

    body = kpis_of(client, path, metrics="aht,fcr", granularity="week", **window(data))

    starts = [dt.date.fromisoformat(item["period_start"]) for item in body["series"]]
    assert {day.weekday() for day in starts} == {0}  # Monday, the default
    assert starts[0] <= data.first < starts[0] + dt.timedelta(days=7)
    assert starts[-1] <= data.last < starts[-1] + dt.timedelta(days=7)
    assert all(b - a == dt.timedelta(days=7) for a, b in itertools.pairwise(starts))
    for item in body["series"]:
        assert [m["metric"] for m in item["metrics"]] == ["aht", "fcr"]
        assert all(set(m) >= METRIC_KEYS for m in item["metrics"])
    totals = by_metric(body)
    for index, slug in enumerate(("aht", "fcr")):
        assert sum(item["metrics"][index]["n"] for item in body["series"]) == totals[slug]["n"]
        assert (
            sum(item["metrics"][index]["numerator"] for item in body["series"])
            == totals[slug]["numerator"]
        )

    world.care.first_weekday = 6  # Sunday
    world.care.save(update_fields=["first_weekday"])
    sundays = kpis_of(client, path, metrics="aht", granularity="week", **window(data))

    starts = [dt.date.fromisoformat(item["period_start"]) for item in sundays["series"]]
    assert {day.weekday() for day in starts} == {6}
    assert starts[0] == selectors.week_start(data.first, world.care)


def test_daily_and_monthly_series(data: PageData, world: World, client_for: Clients) -> None:
    client = client_for(world.manager)
    path = f"/api/v1/programs/{world.care.pk}/kpis"

    daily = kpis_of(client, path, metrics="abandon_rate", granularity="day", **window(data))
    monthly = kpis_of(client, path, metrics="abandon_rate", granularity="month", **window(data))

    days = [item["period_start"] for item in daily["series"]]
    assert days == [
        (data.first + dt.timedelta(days=i)).isoformat()
        for i in range((data.last - data.first).days + 1)
    ]
    abandoned_per_day = [item["metrics"][0]["numerator"] for item in daily["series"]]
    assert abandoned_per_day == [1.0] * len(days)
    months = sorted({day.replace(day=1) for day in (data.first, data.last)})
    assert [item["period_start"] for item in monthly["series"]] == [m.isoformat() for m in months]


# --- the KPI API: scope ------------------------------------------------------------------------


def test_a_lead_of_another_program_gets_404_for_a_care_agent_team_and_program(
    data: PageData, world: World, client_for: Clients, counts: Callable[[], dict[str, int]]
) -> None:
    client = client_for(world.chat_lead)
    before = counts()

    for path in (
        f"/api/v1/agents/{world.agent.pk}/kpis",
        f"/api/v1/teams/{world.care_a.pk}/kpis",
        f"/api/v1/programs/{world.care.pk}/kpis",
    ):
        response = client.get(path, window(data))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        assert "Alice" not in response.content.decode()

    assert counts() == before
    # ...while their own program answers.
    own = kpis_of(client, f"/api/v1/programs/{world.chat.pk}/kpis", metrics="fcr")
    assert own["metrics"][0]["n"] > 0


def test_an_agent_reads_their_own_kpis_but_gets_404_for_a_teammates(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.agent)

    own = kpis_of(client, f"/api/v1/agents/{world.agent.pk}/kpis", metrics="aht", **window(data))
    teammate = client.get(f"/api/v1/agents/{world.agent2.pk}/kpis", window(data))

    assert own["metrics"][0]["n"] == len(handled(world.agent, data.first, data.last))
    assert teammate.status_code == 404
    assert teammate.json()["error"]["code"] == "not_found"


def test_a_lead_gets_404_for_the_other_team_of_their_program_and_its_agent(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)

    assert client.get(f"/api/v1/agents/{world.care_b_agent.pk}/kpis").status_code == 404
    assert client.get(f"/api/v1/teams/{world.care_b.pk}/kpis").status_code == 404


def test_an_agent_does_not_get_the_aggregates_of_groups_smaller_than_5(
    data: PageData, world: World, client_for: Clients
) -> None:
    # CONTRACTS.md, Visibility: an agent sees aggregates only of groups of at least 5 agents.
    # care-a has 2 agents and care 3: in the agent's scope, but not for an agent to read (403).
    client = client_for(world.agent)

    team = client.get(f"/api/v1/teams/{world.care_a.pk}/kpis", {"metrics": "fcr"})
    program = client.get(f"/api/v1/programs/{world.care.pk}/kpis", {"metrics": "fcr"})

    assert (team.status_code, program.status_code) == (403, 403)


def test_a_teams_kpis_count_the_contacts_attributed_to_the_team_at_the_time(
    world: World, client_for: Clients
) -> None:
    # Aaron works on care-a until the 10th, then moves to care-b; his contacts keep the team
    # they were taken on.
    last = timezone.localdate() - dt.timedelta(days=1)
    days = [last - dt.timedelta(days=i) for i in range(20)][::-1]
    moved_on = days[10]
    org.membership_move(person=world.agent2, team=world.care_b, on=moved_on, by=None)
    rows = []
    for day in days:
        rows.append(call(world.care, day, world.agent2, team=team_on(world.agent2, day)))
        rows.append(call(world.care, day, world.agent, team=team_on(world.agent, day)))
        rows.append(
            call(world.care, day, world.care_b_agent, team=team_on(world.care_b_agent, day))
        )
    Interaction.objects.bulk_create(rows)
    services.rollups_rebuild()
    params = {"metrics": "aht", "start": days[0].isoformat(), "end": last.isoformat()}
    client = client_for(world.manager)

    care_a = kpis_of(client, f"/api/v1/teams/{world.care_a.pk}/kpis", **params)
    care_b = kpis_of(client, f"/api/v1/teams/{world.care_b.pk}/kpis", **params)
    aaron = kpis_of(client, f"/api/v1/agents/{world.agent2.pk}/kpis", **params)

    on_a = Interaction.objects.filter(team=world.care_a).count()
    on_b = Interaction.objects.filter(team=world.care_b).count()
    aaron_on_a = Interaction.objects.filter(team=world.care_a, agent=world.agent2).count()
    assert 0 < aaron_on_a < 20
    assert (on_a, on_b) == (20 + aaron_on_a, 20 + 20 - aaron_on_a)
    assert care_a["metrics"][0]["n"] == on_a
    assert care_b["metrics"][0]["n"] == on_b
    assert aaron["metrics"][0]["n"] == 20


# --- the interactions API ----------------------------------------------------------------------


def listed(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/interactions", {"limit": 1000, **params})
    assert response.status_code == 200, response.content
    return response.json()


def ids(body: dict[str, Any]) -> set[int]:
    return {item["id"] for item in body["items"]}


def test_interactions_filter_by_agent_and_inclusive_local_dates(
    data: PageData, world: World, client_for: Clients
) -> None:
    start, end = data.first + dt.timedelta(days=2), data.first + dt.timedelta(days=4)

    body = listed(
        client_for(world.lead), agent=world.agent.pk, start=start.isoformat(), end=end.isoformat()
    )

    expected = Interaction.objects.filter(
        agent=world.agent, local_date__gte=start, local_date__lte=end
    )
    assert body["count"] == expected.count() == len(body["items"])
    assert ids(body) == set(expected.values_list("pk", flat=True))
    assert {item["local_date"] for item in body["items"]} == {
        start.isoformat(),
        (start + dt.timedelta(days=1)).isoformat(),
        end.isoformat(),
    }
    assert {item["agent"] for item in body["items"]} == {"A1"}


def test_interactions_filter_by_call_type(
    data: PageData, world: World, client_for: Clients
) -> None:
    body = listed(client_for(world.manager), agent=world.agent.pk, call_type="billing")

    expected = Interaction.objects.filter(agent=world.agent, call_type="billing")
    assert body["count"] == expected.count() > 0
    assert ids(body) == set(expected.values_list("pk", flat=True))


def test_resolved_false_lists_exactly_the_unresolved_handled_contacts_source_flag_else_derived(
    data: PageData, world: World, client_for: Clients
) -> None:
    contacts = list(Interaction.objects.filter(program=world.care))
    unresolved = {c.pk for c in contacts if c.answered and outcome(c) is False}
    resolved = {c.pk for c in contacts if c.answered and outcome(c) is True}
    # The data has both kinds of unresolved: by the source's flag and derived only.
    assert any(c.resolved is False for c in contacts if c.pk in unresolved)
    assert any(c.resolved is None and c.pk in unresolved for c in contacts)
    # ...and a derived "resolved" under no flag, which resolved=false must leave out.
    assert any(c.resolved is None and c.fcr_derived for c in contacts)
    client = client_for(world.manager)

    body = listed(client, program=world.care.pk, resolved="false")
    body_true = listed(client, program=world.care.pk, resolved="true")

    assert ids(body) == unresolved
    assert body["count"] == len(unresolved)
    assert ids(body_true) == resolved
    assert all(item["answered"] for item in body["items"])


def test_interactions_are_paged_newest_first_with_items_and_count(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)
    total = Interaction.objects.filter(agent__in=[world.agent, world.agent2]).count()

    first = client.get("/api/v1/interactions", {"limit": 7}).json()
    second = client.get("/api/v1/interactions", {"limit": 7, "offset": 7}).json()
    default = client.get("/api/v1/interactions").json()

    assert set(first) == {"items", "count"}
    assert (first["count"], second["count"], len(first["items"]), len(second["items"])) == (
        total,
        total,
        7,
        7,
    )
    assert not ids(first) & ids(second)
    started = [item["started_at"] for item in first["items"] + second["items"]]
    assert started == sorted(started, reverse=True)
    assert len(default["items"]) == 50
    too_many = client.get("/api/v1/interactions", {"limit": 1001})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "validation_error"


def test_an_interaction_has_its_documented_fields(
    data: PageData, world: World, client_for: Clients
) -> None:
    contact = Interaction.objects.filter(agent=world.agent, csat_raw__isnull=False).first()
    assert contact is not None

    body = client_for(world.lead).get(f"/api/v1/interactions/{contact.pk}").json()

    assert set(body) == INTERACTION_KEYS
    assert (body["id"], body["external_id"], body["program"], body["agent"], body["team"]) == (
        contact.pk,
        contact.external_id,
        "care",
        "A1",
        "care-a",
    )
    assert body["local_date"] == contact.local_date.isoformat()
    assert body["csat"] == contact.csat_raw


def test_an_outsider_gets_404_for_an_interaction_and_the_list_leaves_it_out(
    data: PageData, world: World, client_for: Clients, counts: Callable[[], dict[str, int]]
) -> None:
    alices = Interaction.objects.filter(agent=world.agent).first()
    assert alices is not None
    clients = {
        outsider: client_for(outsider)
        for outsider in (world.chat_lead, world.other_lead, world.agent2)
    }
    before = counts()

    for outsider, client in clients.items():
        response = client.get(f"/api/v1/interactions/{alices.pk}")
        assert response.status_code == 404, outsider
        assert response.json()["error"]["code"] == "not_found"
        assert alices.pk not in ids(listed(client))
        assert listed(client, agent=world.agent.pk)["count"] == 0

    assert counts() == before
    chat = listed(clients[world.chat_lead])
    assert chat["count"] == Interaction.objects.filter(agent=world.chat_agent).count()
    lead = listed(client_for(world.lead))
    assert {item["agent"] for item in lead["items"]} == {"A1", "A2"}
    assert (
        lead["count"] == Interaction.objects.filter(agent__in=[world.agent, world.agent2]).count()
    )


# --- query counts ------------------------------------------------------------------------------


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content)
    return len(captured.captured_queries)


def test_kpi_endpoints_cost_the_same_queries_for_3_or_15_agents(
    data: PageData,
    world: World,
    client_for: Clients,
    django_assert_max_num_queries: Callable,
) -> None:
    client = client_for(world.manager)
    paths = [
        f"/api/v1/agents/{world.agent.pk}/kpis?granularity=week",
        f"/api/v1/teams/{world.care_a.pk}/kpis?granularity=week",
        f"/api/v1/programs/{world.care.pk}/kpis?granularity=week",
    ]
    few = {path: queries(client, path) for path in paths}

    add_agents(world.care_a, 12, last=data.last)
    services.rollups_rebuild()

    for path in paths:
        with django_assert_max_num_queries(few[path]):
            response = client.get(path)
        assert response.status_code == 200


def test_the_interaction_list_costs_the_same_queries_for_few_or_many_contacts(
    data: PageData,
    world: World,
    client_for: Clients,
    django_assert_max_num_queries: Callable,
) -> None:
    client = client_for(world.lead)
    path = "/api/v1/interactions?limit=1000"
    few = queries(client, path)

    add_agents(world.care_a, 12, last=data.last, per_day=4)

    with django_assert_max_num_queries(few):
        body = client.get(path).json()
    assert body["count"] == Interaction.objects.filter(team=world.care_a).count()
    assert len({item["agent"] for item in body["items"]}) == 14

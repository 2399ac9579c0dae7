"""A KPI summed from the rollups equals the same KPI computed straight from the contacts, for any
data, exclusions, period and grouping (ARCHITECTURE.md, "Metric definitions"). The plain-Python
definitions live in ``oracle.py``; a program never sees another's contacts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachloop.core.models import Event
from coachloop.core.personas import World, build_world
from coachloop.interactions.models import AgentDay, Interaction, RecomputeMark
from coachloop.metrics import selectors, services
from coachloop.metrics.models import (
    AgentDaily,
    CallTypeRunningTotal,
    DailyRollup,
    Exclusion,
    MetricDefinition,
    PeerPrior,
    ProgramDaily,
    RunningTotal,
)
from coachloop.metrics.tests.factories import agent_day, contact
from coachloop.metrics.tests.oracle import (
    QUEUE_METRICS,
    Day,
    Fact,
    assert_same,
    expected,
    expected_periods,
    hit,
    within,
)
from coachloop.quality.models import Calibration, Evaluation, EvaluationStatus, Scorecard

BASE = dt.date(2026, 10, 1)  # a Thursday: weeks and months cut the data in odd places
DAYS = 21
CALL_TYPES = ["billing", "moves", "meter", ""]
QUEUES = ["general", "vip", "billing-q"]
CHANNELS = ["voice", "chat"]

AGENT_METRICS = [
    "aht",
    "acw",
    "hold",
    "fcr",
    "csat",
    "csat_mean",
    "nps",
    "transfer_rate",
    "escalation_rate",
    "adherence",
    "attendance",
    "occupancy",
    "productivity",
    "billing_fcr",
    "chat_aht",
    "qa_score",
]
CHAT_METRICS = [
    "aht",
    "fcr",
    "csat",
    "transfer_rate",
    "service_level",
    "abandon_rate",
    "asa",
    "qa_score",
]


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


contact_draws = st.fixed_dictionaries(
    {
        "chat": st.integers(0, 5).map(lambda x: x == 0),  # one in six in the other program
        "who": st.sampled_from(["agent", "care_b_agent", None]),
        "moved": st.booleans(),  # counted for the other team that day (team at the time)
        "answered": st.booleans(),
        "day": st.integers(0, DAYS - 1),
        "channel": st.sampled_from(CHANNELS),
        "queue": st.sampled_from(QUEUES),
        "call_type": st.sampled_from(CALL_TYPES),
        "wait": maybe(st.integers(0, 60)),
        "talk": maybe(st.integers(0, 1800)),
        "hold": maybe(st.integers(0, 300)),
        "acw": maybe(st.integers(0, 300)),
        "transferred": st.booleans(),
        "escalated": st.booleans(),
        "resolved": maybe(st.booleans()),
        "derived": maybe(st.booleans()),
        "provisional": st.booleans(),
        "csat": maybe(st.integers(1, 5)),
        "nps": maybe(st.integers(0, 10)),
        # QA evaluations of the contact (when handled): submitted scores, and a draft or a
        # calibration evaluation that must not count.
        "qa": st.lists(st.integers(0, 100), max_size=2),
        "qa_uncounted": st.sampled_from([None, "draft", "calibration"]),
    }
)


@st.composite
def activity_draws(draw: Callable[..., Any]) -> dict[str, Any]:
    logged_in = draw(maybe(st.integers(0, 30_000)))
    return {
        "who": draw(st.sampled_from(["agent", "care_b_agent"])),
        "day": draw(st.integers(0, DAYS - 1)),
        "scheduled": draw(maybe(st.integers(0, 30_000))),
        "logged_in": logged_in,
        "productive": None if logged_in is None else draw(st.integers(0, logged_in)),
        "adherent": draw(maybe(st.integers(0, 30_000))),
        "absent": draw(st.booleans()),
    }


exclusion_draws = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["day", "queue", "contacts"]),
            "start": st.integers(0, DAYS - 1),
            "length": st.integers(0, 4),
            "queue": st.sampled_from(QUEUES),
            "picks": st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
            "reverted": st.integers(0, 3).map(lambda x: x == 0),
        }
    ),
    max_size=3,
)


# --- the property ----------------------------------------------------------------------------


@pytest.fixture
def world(db: None) -> World:
    world = build_world()
    common = {"program": world.care, "unit": "ratio", "direction": "higher"}
    MetricDefinition.objects.create(
        slug="billing_fcr",
        label="Billing FCR",
        kind="rate",
        numerator="fcr_resolved",
        denominator="fcr_n",
        filters={"call_type": ["billing"]},
        **common,
    )
    MetricDefinition.objects.create(
        slug="chat_aht",
        label="Chat AHT",
        kind="mean",
        numerator="aht_sum",
        denominator="aht_n",
        square="aht_sq",
        filters={"channel": ["chat"]},
        **{**common, "unit": "s", "direction": "lower"},
    )
    MetricDefinition.objects.create(
        slug="vip_service_level",
        label="VIP service level",
        kind="rate",
        level="queue",
        numerator="answered_in_sl",
        denominator="contacts",
        filters={"queue": ["vip"]},
        **common,
    )
    return world


def _write(
    world: World, contact_rows: list[dict[str, Any]], activity_rows: list[dict[str, Any]]
) -> tuple[list[Fact], list[Day]]:
    agents = {"agent": world.agent, "care_b_agent": world.care_b_agent}
    home = {"agent": world.care_a, "care_b_agent": world.care_b}
    away = {"agent": world.care_b, "care_b_agent": world.care_a}
    # In the other program Alice helps out on chat-a; Bea's place is taken by Carl.
    chat_agents = {"agent": world.agent, "care_b_agent": world.chat_agent}
    facts: list[Fact] = []
    rows: list[Interaction] = []
    for draw in contact_rows:
        who = draw["who"]
        if draw["chat"]:
            program = world.chat
            agent = chat_agents[who] if who else None
            team = world.chat_a if who else None
        else:
            program = world.care
            agent = agents[who] if who else None
            team = (away if draw["moved"] else home)[who] if who else None
        answered = draw["answered"] and agent is not None
        fact = Fact(
            program=program,
            agent=agent,
            team=team,
            day=BASE + dt.timedelta(days=draw["day"]),
            answered=answered,
            channel=draw["channel"],
            queue=draw["queue"],
            call_type=draw["call_type"],
            wait=draw["wait"],
            talk=draw["talk"] if answered else None,
            hold=draw["hold"] if answered else None,
            acw=draw["acw"] if answered else None,
            transferred=draw["transferred"],
            escalated=draw["escalated"],
            resolved=draw["resolved"],
            derived=draw["derived"],
            provisional=draw["provisional"],
            csat=draw["csat"],
            nps=draw["nps"],
        )
        row = contact(
            program=program,
            day=fact.day,
            agent=agent,
            team=team,
            answered=answered,
            channel=fact.channel,
            queue=fact.queue,
            call_type=fact.call_type,
            wait_s=fact.wait,
            talk_s=fact.talk,
            hold_s=fact.hold,
            acw_s=fact.acw,
            transferred=fact.transferred,
            escalated=fact.escalated,
            resolved=fact.resolved,
            fcr_derived=fact.derived,
            csat=fact.csat,
            nps=fact.nps,
            save=False,
        )
        row.fcr_provisional = fact.provisional
        rows.append(row)
        facts.append(fact)
    saved = Interaction.objects.bulk_create(rows)
    facts = [replace(f, pk=row.pk) for f, row in zip(facts, saved, strict=True)]
    facts = _write_evaluations(world, contact_rows, facts)
    days: list[Day] = []
    for draw in activity_rows:
        day = Day(
            agent=agents[draw["who"]],
            team=home[draw["who"]],
            day=BASE + dt.timedelta(days=draw["day"]),
            scheduled=draw["scheduled"],
            logged_in=draw["logged_in"],
            productive=draw["productive"],
            adherent=draw["adherent"],
            absent=draw["absent"],
        )
        days.append(day)
        agent_day(
            program=world.care,
            agent=day.agent,
            team=day.team,
            day=day.day,
            scheduled_s=day.scheduled,
            logged_in_s=day.logged_in,
            productive_s=day.productive,
            adherent_s=day.adherent,
            absent=day.absent,
        )
    return facts, days


def _write_evaluations(
    world: World, contact_rows: list[dict[str, Any]], facts: list[Fact]
) -> list[Fact]:
    """Evaluation rows as the QA services leave them (scores given, not computed: scoring has
    its own tests)."""
    scorecard, _ = Scorecard.objects.get_or_create(key="property", version=1, name="Property")
    calibration = None
    rows: list[Evaluation] = []
    out: list[Fact] = []
    for draw, fact in zip(contact_rows, facts, strict=True):
        if not fact.answered or fact.agent is None:
            out.append(fact)
            continue
        common = {
            "interaction_id": fact.pk,
            "scorecard": scorecard,
            "program": fact.program,
            "agent": fact.agent,
            "team": fact.team,
            "local_date": fact.day,
        }
        for score in draw["qa"]:
            rows.append(Evaluation(status=EvaluationStatus.SUBMITTED, score=score, **common))
        if draw["qa_uncounted"] == "draft":
            rows.append(Evaluation(status=EvaluationStatus.DRAFT, score=50, **common))
        elif draw["qa_uncounted"] == "calibration":
            calibration = calibration or Calibration.objects.create(
                program=fact.program, scorecard=scorecard, name="c"
            )
            rows.append(
                Evaluation(
                    status=EvaluationStatus.SUBMITTED,
                    score=0,
                    calibration=calibration,
                    **{**common, "program": calibration.program},
                )
            )
        out.append(replace(fact, qa=tuple(draw["qa"])))
    Evaluation.objects.bulk_create(rows)
    return out


def _exclude(
    world: World, draws: list[dict[str, Any]], facts: list[Fact], days: list[Day]
) -> tuple[list[Fact], list[Day]]:
    """Create (and perhaps revert) exclusions in care through the services; return the records
    with their ``excluded`` flags as the definitions say."""
    care_facts = [f for f in facts if f.program == world.care]
    for draw in draws:
        start = BASE + dt.timedelta(days=draw["start"])
        end = start + dt.timedelta(days=draw["length"])
        kind = draw["kind"]
        queue = draw["queue"] if kind == "queue" else ""
        picked: set[int] = set()
        if kind == "contacts":
            if not care_facts:
                continue
            picked = {care_facts[i % len(care_facts)].pk or 0 for i in draw["picks"]}
        exclusion = services.exclusion_create(
            program=world.care,
            kind=kind,
            start=start,
            end=end,
            reason="property",
            by=None,
            queue=queue,
            interaction_ids=sorted(picked),
        )
        if draw["reverted"]:
            services.exclusion_revert(exclusion=exclusion, by=None)
            continue
        facts = [
            replace(f, excluded=f.excluded or hit(f, world.care, kind, start, end, queue, picked))
            for f in facts
        ]
        if kind == "day":
            days = [replace(d, excluded=d.excluded or start <= d.day <= end) for d in days]
    return facts, days


def _clean() -> None:
    Exclusion.objects.all().delete()
    Event.objects.filter(verb__startswith="exclusion.").delete()
    rollups = (DailyRollup, AgentDaily, ProgramDaily, RunningTotal, CallTypeRunningTotal)
    for model in (*rollups, PeerPrior, RecomputeMark):
        model.objects.all().delete()
    Evaluation.objects.all().delete()
    Calibration.objects.all().delete()
    Interaction.objects.all().delete()
    AgentDay.objects.all().delete()


def _recompute(world: World, facts: list[Fact], days: list[Day], *, via_marks: bool) -> None:
    """Either the full rebuild (``recompute --all``) or the marks an import leaves."""
    if not via_marks:
        services.rollups_rebuild()
        assert not RecomputeMark.objects.exists()
        return
    touched = {(f.program.pk, f.day) for f in facts} | {(world.care.pk, d.day) for d in days}
    RecomputeMark.objects.bulk_create(
        [RecomputeMark(program_id=p, date=day, reason="test") for p, day in sorted(touched)],
        ignore_conflicts=True,  # an exclusion may have marked the day already
    )
    services.rollups_apply_marks()
    assert not RecomputeMark.objects.exists()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    contact_rows=st.lists(contact_draws, max_size=50),
    activity_rows=st.lists(activity_draws(), max_size=12, unique_by=lambda d: (d["who"], d["day"])),
    exclusions=exclusion_draws,
    start_offset=st.integers(-3, DAYS),
    length=st.integers(0, DAYS + 3),
    granularity=st.sampled_from([None, "day", "week", "month"]),
    threshold=st.sampled_from([15, 20, 30]),
    first_weekday=st.integers(0, 6),
    via_marks=st.booleans(),
)
def test_kpis_summed_from_the_rollups_equal_the_definitions_computed_from_the_contacts(
    world: World,
    contact_rows: list[dict[str, Any]],
    activity_rows: list[dict[str, Any]],
    exclusions: list[dict[str, Any]],
    start_offset: int,
    length: int,
    granularity: str | None,
    threshold: int,
    first_weekday: int,
    via_marks: bool,
) -> None:
    care, chat = world.care, world.chat
    care.service_level_s = threshold
    care.first_weekday = first_weekday
    care.save(update_fields=["service_level_s", "first_weekday"])
    start = BASE + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    try:
        facts, days = _write(world, contact_rows, activity_rows)
        facts, days = _exclude(world, exclusions, facts, days)
        _recompute(world, facts, days, via_marks=via_marks)
        care_facts, days_in = within([f for f in facts if f.program == care], days, start, end)
        agent_definitions = selectors.definitions_for(care, AGENT_METRICS)
        all_definitions = selectors.definitions_for(care, AGENT_METRICS + QUEUE_METRICS)

        def check_report(
            subject: selectors.Subject,
            keep: Callable[[Any], bool],
            label: str,
            *,
            facts_in: list[Fact] = care_facts,
            definitions: list[MetricDefinition] = all_definitions,
            sl: int = threshold,
        ) -> None:
            report = selectors.kpi_report(
                subject=subject,
                start=start,
                end=end,
                definitions=definitions,
                granularity=granularity,
            )
            mine = [f for f in facts_in if keep(f)], [d for d in days_in if keep(d)]
            if subject.program != care:
                mine = mine[0], []
            for item in report.metrics:
                if item.definition.level == "queue" and subject.kind != "program":
                    # Queue metrics belong to the program and its queues, not to people.
                    assert (item.value, item.n) == (None, 0), f"{item.slug} {label}"
                    continue
                assert_same(item, expected(item.slug, *mine, sl), label)
            if granularity is None:
                assert report.series is None
                return
            assert report.series is not None
            calendar = expected_periods(start, end, granularity, subject.program.first_weekday)
            assert [begins for begins, _ in report.series] == [b for b, _ in calendar]
            for (begins, items), (_, last) in zip(report.series, calendar, strict=True):
                cut = within(*mine, max(begins, start), min(last, end))
                for item in items:
                    if item.definition.level == "queue" and subject.kind != "program":
                        continue
                    assert_same(item, expected(item.slug, *cut, sl), f"{label} {begins}")

        for agent in (world.agent, world.care_b_agent):
            check_report(
                selectors.subject_for_agent(agent, care),
                lambda r, agent=agent: r.agent == agent,
                f"agent {agent.external_id}",
            )
        for team in (world.care_a, world.care_b):
            check_report(
                selectors.subject_for_team(team), lambda r, team=team: r.team == team, team.code
            )
        check_report(selectors.subject_for_program(care), lambda r: True, "program")
        # The other program sees its own contacts only, Alice's help on chat included.
        chat_facts = [f for f in facts if f.program == chat and start <= f.day <= end]
        chat_definitions = selectors.definitions_for(chat, CHAT_METRICS)
        for subject, keep, label in (
            (selectors.subject_for_program(chat), lambda r: True, "chat"),
            (
                selectors.subject_for_agent(world.agent, chat),
                lambda r: r.agent == world.agent,
                "Alice on chat",
            ),
        ):
            check_report(
                subject,
                keep,
                label,
                facts_in=chat_facts,
                definitions=chat_definitions,
                sl=chat.service_level_s,
            )

        # The team page computes many agents at once: the same numbers.
        dashboard = selectors.team_dashboard(
            team=world.care_a,
            agents=[world.agent, world.care_b_agent],
            start=start,
            end=end,
            definitions=all_definitions,
        )
        assert [d.slug for d in dashboard.definitions] == AGENT_METRICS
        for row in dashboard.rows:
            mine = (
                [f for f in care_facts if f.agent == row.agent],
                [d for d in days_in if d.agent == row.agent],
            )
            for slug, item in row.kpis.items():
                assert_same(item, expected(slug, *mine, threshold), f"dashboard {row.agent}")
        team_facts = (
            [f for f in care_facts if f.team == world.care_a],
            [d for d in days_in if d.team == world.care_a],
        )
        for slug, item in dashboard.total.items():
            assert_same(item, expected(slug, *team_facts, threshold), "dashboard total")

        # Distributions and sparklines read AgentDaily: the same numbers again.
        plain = [d.slug for d in agent_definitions if not d.filters]
        values = selectors.agent_values(
            program=care, start=start, end=end, definitions=agent_definitions
        )
        # The same values computed for all agents at once, as arrays (program page, percentile).
        arrays = selectors.agent_value_arrays(
            program=care, start=start, end=end, definitions=agent_definitions
        )
        assert sorted(arrays.ids) == sorted(values)
        for agent in (world.agent, world.care_b_agent):
            mine = (
                [f for f in care_facts if f.agent == agent and not f.excluded],
                [d for d in days_in if d.agent == agent and not d.excluded],
            )
            if agent.pk not in values:
                assert not mine[0] and not mine[1]
                continue
            assert sorted(values[agent.pk]) == sorted(plain)
            row = arrays.ids.index(agent.pk)
            for slug, observation in values[agent.pk].items():
                wanted = expected(slug, *mine, threshold)
                in_array = float(arrays.values[slug][row])
                if wanted.value is None:
                    assert observation.value is None, slug
                    assert math.isnan(in_array), slug
                else:
                    assert observation.value == pytest.approx(wanted.value, rel=1e-9), slug
                    assert in_array == pytest.approx(wanted.value, rel=1e-9), slug
                assert observation.n == pytest.approx(wanted.n), slug
                assert float(arrays.n[slug][row]) == pytest.approx(wanted.n), slug
        thirteen_weeks = expected_periods(end - dt.timedelta(weeks=12), end, "week", first_weekday)
        assert dashboard.weeks == [begins for begins, _ in thirteen_weeks]
        care_all = [f for f in facts if f.program == care]
        for row in dashboard.rows:
            for slug, weekly in row.weekly.items():
                wanted_weeks = [
                    expected(
                        slug,
                        *within(
                            [f for f in care_all if f.agent == row.agent],
                            [d for d in days if d.agent == row.agent],
                            week,
                            min(week + dt.timedelta(days=6), end),
                        ),
                        threshold,
                    ).value
                    for week in dashboard.weeks
                ]
                assert [v is None for v in weekly] == [v is None for v in wanted_weeks], slug
                assert [v for v in weekly if v is not None] == pytest.approx(
                    [v for v in wanted_weeks if v is not None], rel=1e-9
                ), f"weekly {slug}"
    finally:
        _clean()

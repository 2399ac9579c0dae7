"""Facts written straight into the tables, for metric tests that need exact, hand-chosen data.

Imports are tested in ``coachloop.ingest``; here a test says "Alice handled 40 billing calls of
600 s on 5 October" in one line and reads the KPI back. Contacts start at 10:00 UTC on their
local day (midday or morning in the personas' programs), so ``local_date`` and ``started_at``
agree.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from coachloop.core.personas import World
from coachloop.interactions.models import AgentDay, CsatScale, Interaction
from coachloop.metrics import selectors, services
from coachloop.metrics.kpis import Kpi
from coachloop.metrics.selectors import KpiReport
from coachloop.org import services as org
from coachloop.org.models import Membership, Person, Program, Team

_serial = itertools.count(1)


def team_of(person: Person, on: dt.date) -> Team | None:
    """The team the person was on that day (what an import stamps on a contact)."""
    membership = Membership.objects.on(on).filter(person=person).select_related("team").first()
    return membership.team if membership else None


def contact(
    *,
    program: Program,
    day: dt.date,
    agent: Person | None = None,
    team: Team | str | None = "current",
    answered: bool | None = None,
    channel: str = "voice",
    queue: str = "general",
    call_type: str = "general",
    wait_s: float | None = 10.0,
    talk_s: float | None = 300.0,
    hold_s: float | None = 0.0,
    acw_s: float | None = 0.0,
    transferred: bool = False,
    escalated: bool = False,
    resolved: bool | None = None,
    fcr_derived: bool | None = None,
    csat: int | None = None,
    nps: int | None = None,
    save: bool = True,
) -> Interaction:
    """One contact. ``answered`` defaults to whether there is an agent; ``team`` to the agent's
    team that day; ``csat`` is a 1-5 answer (normalized and top-2 flagged as the importer
    does)."""
    if answered is None:
        answered = agent is not None
    if team == "current":
        team = team_of(agent, day) if agent is not None else None
    assert not isinstance(team, str)
    serial = next(_serial)
    row = Interaction(
        program=program,
        external_id=f"t-{serial}",
        channel=channel,
        queue=queue,
        call_type=call_type,
        fcr_topic=call_type or queue,
        agent=agent,
        team=team,
        started_at=dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)
        + dt.timedelta(seconds=serial % 3600),
        local_date=day,
        answered=answered,
        wait_s=wait_s,
        talk_s=talk_s if answered else None,
        hold_s=hold_s if answered else None,
        acw_s=acw_s if answered else None,
        transferred=transferred,
        escalated=escalated,
        resolved=resolved,
        fcr_derived=fcr_derived,
        csat_raw=csat,
        csat_scale=CsatScale.ONE_TO_FIVE if csat is not None else "",
        csat_norm=float(csat) if csat is not None else None,
        csat_top2=(csat >= 4) if csat is not None else None,
        nps=nps,
    )
    if save:
        row.save()
    return row


def contacts(count: int, **fields: Any) -> list[Interaction]:
    """``count`` alike contacts, written in one statement."""
    if fields.get("team", "current") == "current" and fields.get("agent") is not None:
        fields["team"] = team_of(fields["agent"], fields["day"])
    rows = [contact(save=False, **fields) for _ in range(count)]
    return Interaction.objects.bulk_create(rows)


def agent_day(
    *,
    program: Program,
    agent: Person,
    day: dt.date,
    team: Team | str | None = "current",
    scheduled_s: float | None = 28_800.0,
    logged_in_s: float | None = 27_000.0,
    productive_s: float | None = 21_600.0,
    adherent_s: float | None = 25_000.0,
    absent: bool = False,
    save: bool = True,
) -> AgentDay:
    if team == "current":
        team = team_of(agent, day)
    assert not isinstance(team, str)
    row = AgentDay(
        program=program,
        agent=agent,
        team=team,
        date=day,
        scheduled_s=scheduled_s,
        logged_in_s=logged_in_s,
        productive_s=productive_s,
        adherent_s=adherent_s,
        absent=absent,
    )
    if save:
        row.save()
    return row


def agent_on(
    team: Team, external_id: str, *, hire_date: dt.date, name: str | None = None
) -> Person:
    """Another agent on ``team`` since their hire date, created as the roster import would."""
    person = org.person_create(
        external_id=external_id, name=name or f"Agent {external_id}", by=None, hire_date=hire_date
    )
    org.membership_move(person=person, team=team, on=hire_date, by=None)
    return person


def more_agents(world: World, count: int, *, hire_date: dt.date) -> list[Person]:
    """``count`` extra agents of ``care``, alternately on care-a and care-b."""
    teams = [world.care_a, world.care_b]
    return [
        agent_on(teams[index % 2], f"P{index + 1}", hire_date=hire_date) for index in range(count)
    ]


def rebuild() -> None:
    """Recompute every rollup and peer prior from the facts, as ``coachloop recompute --all``."""
    services.rollups_rebuild()


def report(
    *,
    agent: Person | None = None,
    team: Team | None = None,
    program: Program,
    start: dt.date,
    end: dt.date,
    metrics: list[str],
    granularity: str | None = None,
    team_id: int | None = None,
) -> KpiReport:
    """The KPI report of an agent, a team, or (with neither) the program."""
    if agent is not None:
        subject = selectors.subject_for_agent(agent, program)
    elif team is not None:
        subject = selectors.subject_for_team(team)
    else:
        subject = selectors.subject_for_program(program)
    return selectors.kpi_report(
        subject=subject,
        start=start,
        end=end,
        definitions=selectors.definitions_for(program, metrics),
        granularity=granularity,
        team_id=team_id,
    )


def kpi(
    *,
    agent: Person | None = None,
    team: Team | None = None,
    program: Program,
    start: dt.date,
    end: dt.date,
    metric: str,
    team_id: int | None = None,
) -> Kpi:
    """One metric of ``report``."""
    found = report(
        agent=agent,
        team=team,
        program=program,
        start=start,
        end=end,
        metrics=[metric],
        team_id=team_id,
    )
    return found.by_slug()[metric]


def figures(item: Kpi) -> tuple[float | None, float, float, float]:
    """(value, n, numerator, denominator): what an exact assertion compares."""
    return item.value, item.n, item.numerator, item.denominator

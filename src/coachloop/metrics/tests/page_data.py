"""A small, realistic dataset for the KPI pages and API, written through the ORM.

Three weeks of contacts ending yesterday (the program's local days) for the personas' agents:

- ``agent`` (Alice, care-a) takes 2 general calls and 1 billing call a day; the billing calls stay
  unresolved (source flag false), every third day brings an extra billing call whose outcome is
  only derived (unresolved), every seventh day a general call with a derived "resolved". Her
  FCR is well below the 75% target: the cell the dashboard flags. One handled call of hers has
  no known outcome at all (no source flag, nothing derived): AHT counts it, FCR does not.
- ``agent2`` (Aaron, care-a) resolves almost everything; every other day one call is transferred.
- ``care_b_agent`` (Bea, care-b) and ``chat_agent`` (Carl, chat) handle 2 calls a day.
- Each program has agentless abandoned contacts; CSAT answers come with some calls; each care
  agent has an activity day (WFM) on each weekday.

Then the rollups are rebuilt and a few program targets are set, as an import and a manager would
leave them. Expected figures are read back from the ORM by the tests, never copied from here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from functools import partial

from django.utils import timezone

from coachloop.core.personas import World
from coachloop.interactions.models import AgentDay, CsatScale, Interaction
from coachloop.metrics import services
from coachloop.org import services as org
from coachloop.org.models import Membership, Person, Program, Team

DAYS = 21
TARGETS = {"fcr": 0.75, "aht": 420.0, "csat": 0.7, "transfer_rate": 0.1, "adherence": 0.85}

_serial = itertools.count(1)


@dataclass(frozen=True)
class PageData:
    world: World
    first: dt.date
    last: dt.date  # the latest local day with data: "this week" and "last 4 weeks" end here


def team_on(person: Person, day: dt.date) -> Team | None:
    membership = Membership.objects.on(day).filter(person=person).select_related("team").first()
    return membership.team if membership else None


def call(
    program: Program,
    day: dt.date,
    agent: Person | None,
    *,
    team: Team | None = None,
    call_type: str = "general",
    queue: str = "general",
    talk_s: float = 300.0,
    hold_s: float = 20.0,
    acw_s: float = 40.0,
    wait_s: float = 12.0,
    resolved: bool | None = True,
    fcr_derived: bool | None = None,
    transferred: bool = False,
    csat: int | None = None,
) -> Interaction:
    """One unsaved contact at 09:00 UTC plus a few minutes (the same local day in London and in
    New York); answered exactly when there is an agent, stamped with the agent's team then."""
    serial = next(_serial)
    answered = agent is not None
    return Interaction(
        program=program,
        source="canonical",
        external_id=f"pg-{program.code}-{serial}",
        channel=program.channels[0] if program.channels else "voice",
        queue=queue,
        call_type=call_type,
        fcr_topic=call_type or queue,
        agent=agent,
        team=team if team is not None else (team_on(agent, day) if agent else None),
        customer_hash=f"c{serial}",
        started_at=dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)
        + dt.timedelta(minutes=serial % 400),
        local_date=day,
        answered=answered,
        wait_s=wait_s,
        talk_s=talk_s if answered else None,
        hold_s=hold_s if answered else None,
        acw_s=acw_s if answered else None,
        transferred=transferred,
        resolved=resolved if answered else None,
        fcr_derived=fcr_derived if answered else None,
        csat_raw=float(csat) if csat is not None else None,
        csat_scale=CsatScale.ONE_TO_FIVE if csat is not None else "",
        csat_norm=float(csat) if csat is not None else None,
        csat_top2=(csat >= 4) if csat is not None else None,
    )


def activity(
    program: Program, agent: Person, day: dt.date, *, adherent_s: float, team: Team | None
) -> AgentDay:
    return AgentDay(
        program=program,
        agent=agent,
        team=team,
        date=day,
        scheduled_s=28_800.0,
        logged_in_s=27_000.0,
        productive_s=21_600.0,
        adherent_s=adherent_s,
        absent=False,
    )


def days_until(last: dt.date, count: int = DAYS) -> list[dt.date]:
    return [last - dt.timedelta(days=count - 1 - index) for index in range(count)]


def _alice(world: World, days: list[dt.date]) -> list[Interaction]:
    care, agent = world.care, world.agent
    team = team_on(agent, days[0])
    take = partial(call, team=team)
    rows = []
    for index, day in enumerate(days):
        rows.append(take(care, day, agent, csat=5 if index % 2 else 3))
        rows.append(take(care, day, agent, talk_s=280.0))
        rows.append(
            take(
                care,
                day,
                agent,
                call_type="billing",
                queue="billing",
                talk_s=600.0,
                hold_s=60.0,
                acw_s=60.0,
                resolved=False,
            )
        )
        if index % 3 == 0:
            rows.append(
                take(
                    care,
                    day,
                    agent,
                    call_type="billing",
                    queue="billing",
                    talk_s=540.0,
                    resolved=None,
                    fcr_derived=False,
                )
            )
        if index % 7 == 0:
            rows.append(take(care, day, agent, resolved=None, fcr_derived=True))
    # A handled call nobody knows the outcome of: in AHT's n, not in FCR's.
    rows.append(take(care, days[0], agent, resolved=None, fcr_derived=None))
    return rows


def _aaron(world: World, days: list[dt.date]) -> list[Interaction]:
    care, agent = world.care, world.agent2
    take = partial(call, team=team_on(agent, days[0]))
    rows = []
    for index, day in enumerate(days):
        rows.append(take(care, day, agent, talk_s=260.0, csat=4))
        rows.append(take(care, day, agent, talk_s=240.0, transferred=index % 2 == 0))
        rows.append(
            take(
                care,
                day,
                agent,
                call_type="billing",
                queue="billing",
                talk_s=420.0,
                resolved=index % 5 != 0,
            )
        )
    return rows


def _bea(world: World, days: list[dt.date]) -> list[Interaction]:
    care, agent = world.care, world.care_b_agent
    take = partial(call, team=team_on(agent, days[0]))
    rows = []
    for index, day in enumerate(days):
        rows.append(take(care, day, agent, talk_s=320.0, csat=4 if index % 3 else 2))
        rows.append(
            take(care, day, agent, call_type="billing", queue="billing", resolved=index % 4 != 0)
        )
    return rows


def _carl(world: World, days: list[dt.date]) -> list[Interaction]:
    chat, agent = world.chat, world.chat_agent
    take = partial(call, team=team_on(agent, days[0]))
    rows = []
    for index, day in enumerate(days):
        rows.append(take(chat, day, agent, queue="chat", talk_s=500.0, csat=4))
        rows.append(
            take(chat, day, agent, queue="chat", call_type="billing", resolved=index % 2 == 0)
        )
    return rows


def _abandoned(world: World, days: list[dt.date]) -> list[Interaction]:
    rows = [call(world.care, day, None, wait_s=140.0) for day in days]
    rows += [call(world.chat, day, None, queue="chat", wait_s=200.0) for day in days[::2]]
    return rows


def build_page_data(world: World, *, last: dt.date | None = None) -> PageData:
    """Write the dataset for ``world``, rebuild the rollups and set the program targets."""
    last = last or timezone.localdate() - dt.timedelta(days=1)
    days = days_until(last)
    contacts = (
        _alice(world, days)
        + _aaron(world, days)
        + _bea(world, days)
        + _carl(world, days)
        + _abandoned(world, days)
    )
    Interaction.objects.bulk_create(contacts)
    adherence = {world.agent: 22_000.0, world.agent2: 27_000.0, world.care_b_agent: 26_000.0}
    teams = {agent: team_on(agent, days[0]) for agent in adherence}
    AgentDay.objects.bulk_create(
        [
            activity(
                world.care,
                agent,
                day,
                adherent_s=adherent + 400.0 * (day.day % 4),
                team=teams[agent],
            )
            for agent, adherent in adherence.items()
            for day in days
            if day.weekday() < 5
        ]
    )
    services.rollups_rebuild()
    for metric, value in TARGETS.items():
        services.target_set(
            program=world.care, metric=metric, value=value, effective_from=days[0], by=None
        )
    services.target_set(
        program=world.chat, metric="fcr", value=0.75, effective_from=days[0], by=None
    )
    return PageData(world=world, first=days[0], last=last)


def add_agents(
    team: Team, count: int, *, last: dt.date, prefix: str = "N", per_day: int = 2
) -> list[Person]:
    """``count`` more agents on ``team`` with a few contacts and activity days each (the caller
    rebuilds the rollups): the bigger team of a query-count guard."""
    hired = last - dt.timedelta(days=120)
    people = []
    existing = Person.objects.filter(external_id__startswith=prefix).count()
    for index in range(existing, existing + count):
        person = org.person_create(
            external_id=f"{prefix}{index + 1}",
            name=f"Nadia {prefix}{index + 1:02d}",
            by=None,
            hire_date=hired,
        )
        org.membership_move(person=person, team=team, on=hired, by=None)
        people.append(person)
    days = days_until(last, 7)
    Interaction.objects.bulk_create(
        [
            call(
                team.program,
                day,
                person,
                team=team,
                call_type="billing" if slot % 2 else "general",
                resolved=(slot + index) % 3 != 0,
                csat=4 if slot == 0 else None,
            )
            for index, person in enumerate(people)
            for day in days
            for slot in range(per_day)
        ]
    )
    AgentDay.objects.bulk_create(
        [
            activity(team.program, person, day, adherent_s=25_000.0, team=team)
            for person in people
            for day in days
            if day.weekday() < 5
        ]
    )
    return people

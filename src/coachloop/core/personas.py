"""Personas for tests: a small organization with one person per role and a few outsiders.

    care (program)                         chat (program)
      care-a: agent, agent2, lead            chat-a: chat_agent, chat_lead
      care-b: care_b_agent, other_lead
      qa and manager of care;  admin of everything

``other_lead`` leads another team of the same program; ``chat_lead`` leads a team of another
program. Tests read as sentences about them: ``world.chat_lead`` must not see ``world.agent``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from coachloop.org import services as org
from coachloop.org.models import Person, Program, Role, Site, Team

PERSONA_PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (test fixture)


@dataclass
class World:
    care: Program
    chat: Program
    site: Site
    care_a: Team
    care_b: Team
    chat_a: Team
    agent: Person
    agent2: Person
    care_b_agent: Person
    chat_agent: Person
    lead: Person
    other_lead: Person
    chat_lead: Person
    qa: Person
    manager: Person
    admin: Person

    def user(self, person: Person) -> User:
        assert person.user is not None, f"{person} has no login"
        return person.user

    @property
    def personas(self) -> dict[str, Person]:
        return {
            "agent": self.agent,
            "lead": self.lead,
            "other_lead": self.other_lead,
            "chat_lead": self.chat_lead,
            "qa": self.qa,
            "manager": self.manager,
            "admin": self.admin,
        }


def build_world(*, today: dt.date | None = None) -> World:
    """Create the personas' organization through the services, as an import or the admin would."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=200)
    care = org.program_create(
        code="care",
        name="Energy Care",
        client="Northwind",
        channels=["voice"],
        timezone="Europe/London",
        by=None,
    )
    chat = org.program_create(
        code="chat",
        name="Telecom Chat",
        client="Contoso",
        channels=["chat"],
        timezone="America/New_York",
        by=None,
    )
    site = org.site_create(code="leeds", name="Leeds", by=None)
    care_a = org.team_create(program=care, site=site, code="care-a", name="Care A", by=None)
    care_b = org.team_create(program=care, site=site, code="care-b", name="Care B", by=None)
    chat_a = org.team_create(program=chat, site=site, code="chat-a", name="Chat A", by=None)

    def person(external_id: str, name: str, *, login: bool = True) -> Person:
        created = org.person_create(
            external_id=external_id,
            name=name,
            by=None,
            hire_date=start,
            email=f"{external_id.lower()}@example.com",
            other_ids={"acd": f"acd-{external_id}"},
        )
        if login:
            org.person_user_create(
                person=created, username=external_id.lower(), by=None, password=PERSONA_PASSWORD
            )
        return created

    def agent_on(team: Team, external_id: str, name: str) -> Person:
        created = person(external_id, name)
        org.membership_move(person=created, team=team, on=start, by=None)
        return created

    def lead_of(team: Team, external_id: str, name: str) -> Person:
        created = person(external_id, name)
        org.role_grant(person=created, role=Role.LEAD, team=team, by=None)
        return created

    agent = agent_on(care_a, "A1", "Alice Agent")
    agent2 = agent_on(care_a, "A2", "Aaron Agent")
    care_b_agent = agent_on(care_b, "B1", "Bea Otherteam")
    chat_agent = agent_on(chat_a, "C1", "Carl Chat")
    lead = lead_of(care_a, "L1", "Lena Lead")
    other_lead = lead_of(care_b, "L2", "Omar Otherlead")
    chat_lead = lead_of(chat_a, "L3", "Chen Chatlead")
    qa = person("Q1", "Quinn Qa")
    org.role_grant(person=qa, role=Role.QA, program=care, by=None)
    manager = person("M1", "Maya Manager")
    org.role_grant(person=manager, role=Role.MANAGER, program=care, by=None)
    admin = person("X1", "Xavier Admin")
    org.role_grant(person=admin, role=Role.ADMIN, by=None)
    return World(
        care=care,
        chat=chat,
        site=site,
        care_a=care_a,
        care_b=care_b,
        chat_a=chat_a,
        agent=agent,
        agent2=agent2,
        care_b_agent=care_b_agent,
        chat_agent=chat_agent,
        lead=lead,
        other_lead=other_lead,
        chat_lead=chat_lead,
        qa=qa,
        manager=manager,
        admin=admin,
    )

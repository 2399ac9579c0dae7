"""The demo organization behind ``make run`` and ``coachloop demo``.

Until the simulator lands (data-in issue) the demo is a small hand-made organization: two client
programs, three teams at two sites, agents with ids in several source systems, one agent who
moved team and one who left, and one login per role written to ``demo-logins.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from coachloop.org import services as org
from coachloop.org.models import Person, Program, Role

LOGINS_FILE = "demo-logins.json"

FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Farah",
    "Gabriel",
    "Hana",
    "Ivan",
    "Jasmine",
    "Kofi",
    "Lena",
    "Marco",
    "Nia",
    "Oscar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samir",
    "Tess",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Okafor",
    "Santos",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Murphy",
    "Reyes",
    "Lindqvist",
    "Mensah",
    "Tanaka",
    "Dubois",
    "Patel",
    "Moreau",
    "Schmidt",
    "Ibrahim",
    "Costa",
]


@dataclass
class DemoLogin:
    username: str
    password: str
    roles: list[str]
    scope: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": self.password,
            "roles": self.roles,
            "scope": self.scope,
        }


@dataclass
class DemoReport:
    logins: list[DemoLogin] = field(default_factory=list)
    stages: list[tuple[str, float]] = field(default_factory=list)
    logins_path: Path | None = None


def database_is_empty() -> bool:
    return not Program.objects.exists() and not Person.objects.exists()


def build_demo(
    *, agents: int = 24, seed: int = 1, progress: Callable[[str], None] | None = None
) -> DemoReport:
    """Build the demo organization into an empty database and write the logins file."""
    if agents < 3:
        raise ValueError("The demo needs at least 3 agents (one per team)")
    report = DemoReport()
    started = time.perf_counter()
    rng = random.Random(seed)
    today = timezone.localdate()
    # One password per role, hashed once: hashing each of hundreds of logins would take a minute.
    passwords = {role: secrets.token_urlsafe(9) for role in Role.values}
    hashes = {role: make_password(password) for role, password in passwords.items()}
    report.stages.append(("hash passwords", time.perf_counter() - started))

    stage = time.perf_counter()
    with transaction.atomic():
        people = _build_organization(rng=rng, today=today, agents=agents, hashes=hashes)
    report.stages.append(("organization", time.perf_counter() - stage))

    from coachloop.org.selectors import user_roles_and_scope

    for role, username in people["logins"]:
        user = Person.objects.get(user__username=username).user
        assert user is not None
        shape = user_roles_and_scope(user=user)
        report.logins.append(
            DemoLogin(
                username=username,
                password=passwords[role],
                roles=shape["roles"],
                scope=dict(shape["scope"]),
            )
        )
    report.logins_path = write_logins(report.logins)
    if progress:
        progress(f"demo built in {time.perf_counter() - started:.1f} s")
    return report


def _build_organization(
    *, rng: random.Random, today: dt.date, agents: int, hashes: dict[str, str]
) -> dict[str, Any]:
    by = None  # the installation itself
    org.organization_rename(name="Northwind Contact Services", by=by)
    care = org.program_create(
        code="care",
        name="Energy Care",
        client="Northwind Energy",
        channels=["voice", "email"],
        timezone="Europe/London",
        by=by,
    )
    chat = org.program_create(
        code="chat",
        name="Telecom Chat",
        client="Contoso Telecom",
        channels=["chat"],
        timezone="America/New_York",
        by=by,
    )
    leeds = org.site_create(code="leeds", name="Leeds", by=by)
    manila = org.site_create(code="manila", name="Manila", by=by)
    teams = [
        org.team_create(program=care, site=leeds, code="care-a", name="Care A", by=by),
        org.team_create(
            program=care, site=manila, code="care-b", name="Care B", by=by, coaching_cadence_days=7
        ),
        org.team_create(program=chat, site=manila, code="chat-a", name="Chat A", by=by),
    ]
    logins: list[tuple[str, str]] = []
    used_names: set[str] = set()

    def new_person(external_id: str, role_hint: str, **extra: Any) -> Person:
        name = _unique_name(rng, used_names)
        hire = today - dt.timedelta(days=rng.randint(30, 1500))
        return org.person_create(
            external_id=external_id,
            name=name,
            by=by,
            hire_date=hire,
            email=f"{external_id.lower()}@example.com",
            **extra,
        )

    for index in range(1, agents + 1):
        team = teams[(index - 1) % len(teams)]
        agent = new_person(
            f"A{index:04d}",
            "agent",
            other_ids={"acd": f"{5000 + index}", "wfm": f"W-{index:04d}"},
            program=team.program,
        )
        since = max(agent.hire_date or today, today - dt.timedelta(days=365))
        org.membership_move(person=agent, team=team, on=since, by=by)
        org.person_user_create(
            person=agent,
            username=agent.external_id.lower(),
            by=by,
            password_hash=hashes[Role.AGENT],
        )
        if index == 1:
            logins.append((Role.AGENT.value, agent.external_id.lower()))
    # History worth seeing: one agent moved from Care B to Care A a month ago, one left.
    mover = Person.objects.get(external_id="A0002")
    org.membership_move(person=mover, team=teams[0], on=today - dt.timedelta(days=30), by=by)
    leaver = Person.objects.get(external_id=f"A{agents:04d}")
    org.person_terminate(
        person=leaver,
        on=today - dt.timedelta(days=10),
        reason="resigned",
        by=by,
        program=teams[(agents - 1) % len(teams)].program,
    )

    for number, team in enumerate(teams, start=1):
        lead = new_person(f"L{number:03d}", "lead", program=team.program)
        org.role_grant(person=lead, role=Role.LEAD, team=team, by=by)
        username = f"lead-{team.code}"
        org.person_user_create(
            person=lead, username=username, by=by, password_hash=hashes[Role.LEAD]
        )
        logins.append((Role.LEAD.value, username))

    qa = new_person("Q001", "qa", program=care)
    for program in (care, chat):
        org.role_grant(person=qa, role=Role.QA, program=program, by=by)
    org.person_user_create(person=qa, username="qa", by=by, password_hash=hashes[Role.QA])
    logins.append((Role.QA.value, "qa"))

    manager = new_person("M001", "manager", program=care)
    org.role_grant(person=manager, role=Role.MANAGER, program=care, by=by)
    org.person_user_create(
        person=manager, username="manager", by=by, password_hash=hashes[Role.MANAGER]
    )
    logins.append((Role.MANAGER.value, "manager"))

    chat_manager = new_person("M002", "manager", program=chat)
    org.role_grant(person=chat_manager, role=Role.MANAGER, program=chat, by=by)
    org.person_user_create(
        person=chat_manager, username="manager-chat", by=by, password_hash=hashes[Role.MANAGER]
    )
    logins.append((Role.MANAGER.value, "manager-chat"))

    admin = new_person("X001", "admin")
    org.role_grant(person=admin, role=Role.ADMIN, by=by)
    org.person_user_create(person=admin, username="admin", by=by, password_hash=hashes[Role.ADMIN])
    logins.append((Role.ADMIN.value, "admin"))
    return {"logins": logins}


def _unique_name(rng: random.Random, used: set[str]) -> str:
    for _ in range(1000):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name not in used:
            used.add(name)
            return name
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {len(used)}"
    used.add(name)
    return name


def logins_path() -> Path:
    return Path(settings.COACHLOOP_HOME) / LOGINS_FILE


def write_logins(logins: list[DemoLogin]) -> Path:
    """Write the logins with owner-only permissions: the file holds passwords."""
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump([login.as_dict() for login in logins], handle, indent=2)
        handle.write("\n")
    temporary.chmod(stat.S_IRUSR | stat.S_IWUSR)
    temporary.replace(path)
    return path


def read_logins() -> list[dict[str, Any]]:
    path = logins_path()
    if not path.exists():
        return []
    loaded: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded

"""The demo contact center behind ``make run`` and ``coachloop demo``.

It simulates a contact center (``coachloop.simulator``, about 120 agents x 90 days ending
yesterday) and imports the simulator's files through the same importers a real export goes
through, so the demo exercises the real path: people, contacts and agent days, then the QA
side (transcripts, the scorecard and the evaluations, which feed the QA score KPI), then the
coaching history (sessions, whose focus skills are the scorecard's). Then it gives everyone a
login and writes one login per person to ``demo-logins.json`` (one password per role, hashed
once).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from coachloop.core.jobs import job_run_inline
from coachloop.org import services as org
from coachloop.org.models import Person, Program, Role, RoleAssignment

LOGINS_FILE = "demo-logins.json"
ADMIN_EXTERNAL_ID = "X001"
# The order files are imported in: people first, then what they did, then what QA made of it
# (an evaluation names its contact, evaluator and scorecard), then coaching sessions (their focus
# skills come into the catalog with the scorecard).
IMPORTS = (
    ("roster", "roster.csv"),
    ("interactions", "interactions.csv"),
    ("agent-days", "agent_days.csv"),
    ("transcripts", "transcripts.jsonl"),
    ("scorecard", "scorecard.json"),
    ("evaluations", "evaluations.csv"),
    ("sessions", "sessions.csv"),
)


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
    counts: dict[str, int] = field(default_factory=dict)


class DemoError(RuntimeError):
    pass


def database_is_empty() -> bool:
    return not Program.objects.exists() and not Person.objects.exists()


def build_demo(
    *,
    agents: int = 120,
    days: int = 90,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Simulate, import, and give everyone a login. The database must be empty."""
    from coachloop.simulator.services import simulate

    report = DemoReport()
    say = progress or (lambda text: None)

    def stage(name: str, started: float) -> None:
        report.stages.append((name, time.perf_counter() - started))
        say(f"  {name:<16} {report.stages[-1][1]:6.1f} s")

    started = time.perf_counter()
    folder = Path(settings.COACHLOOP_HOME) / "demo-data"
    simulate(
        out=folder,
        agents=agents,
        days=days,
        start=None,
        seed=seed,
        coaching_effect=0.5,
        program_problem=True,
    )
    stage("simulate", started)

    started = time.perf_counter()
    _create_programs(targets_from=timezone.localdate() - dt.timedelta(days=days + 1))
    stage("programs", started)
    for kind, name in IMPORTS:
        started = time.perf_counter()
        report.counts[kind] = _import(kind, folder / name)
        stage(f"import {kind}", started)

    started = time.perf_counter()
    report.counts["qa samples"] = _fill_qa_queues()
    stage("qa samples", started)

    started = time.perf_counter()
    passwords = {role: secrets.token_urlsafe(9) for role in Role.values}
    report.logins = _create_logins(passwords)
    report.logins_path = write_logins(report.logins)
    stage("logins", started)
    return report


# Targets a client might set: (metric, target, well-off-target threshold); AHT per program.
DEMO_TARGETS: tuple[tuple[str, float, float | None], ...] = (
    ("fcr", 0.72, 0.62),
    ("csat", 0.75, 0.65),
    ("transfer_rate", 0.10, 0.15),
    ("escalation_rate", 0.07, 0.10),
    ("adherence", 0.90, 0.85),
    ("attendance", 0.93, 0.85),
    ("service_level", 0.80, 0.70),
    ("asa", 30.0, 60.0),
    ("abandon_rate", 0.06, 0.10),
    ("qa_score", 85.0, 75.0),
)
DEMO_AHT = {"care": 360.0, "chat": 900.0, "billing": 420.0}


def _create_programs(*, targets_from: dt.date) -> None:
    """The simulator's programs with their names, channels, time zones and targets (a roster
    import would create them too, but in UTC, named by their codes and without targets)."""
    from coachloop.metrics.services import target_set
    from coachloop.simulator.catalog import PROGRAMS

    org.organization_rename(name="Northwind Contact Services", by=None)
    for program in PROGRAMS:
        created = org.program_create(
            code=program.key,
            name=program.name,
            client=program.name,
            channels=[channel for channel, _ in program.channel_mix],
            timezone=program.timezone,
            by=None,
        )
        aht = DEMO_AHT.get(program.key, 420.0)
        for metric, value, threshold in (*DEMO_TARGETS, ("aht", aht, aht * 1.15)):
            target_set(
                program=created,
                metric=metric,
                value=value,
                threshold=threshold,
                effective_from=targets_from,
                by=None,
            )
        # New hires ramp up: a looser AHT target for their first 90 days.
        target_set(
            program=created,
            metric="aht",
            value=aht * 1.2,
            threshold=aht * 1.4,
            tenure_min_days=0,
            tenure_max_days=90,
            effective_from=targets_from,
            by=None,
        )
        target_set(
            program=created,
            metric="occupancy",
            value=0.50,
            upper=0.85,
            threshold=0.40,
            effective_from=targets_from,
            by=None,
        )


def _fill_qa_queues() -> int:
    """Last week's QA queue of every program, from the default policy, so an analyst signing in
    finds contacts waiting."""
    from coachloop.metrics.selectors import week_start
    from coachloop.quality.services import samples_fill

    last_week = timezone.localdate() - dt.timedelta(days=7)
    return sum(
        len(samples_fill(program=program, week_start=week_start(last_week, program), by=None))
        for program in Program.objects.all()
    )


def _import(kind: str, path: Path) -> int:
    from coachloop.ingest.models import BatchStatus, ImportBatch
    from coachloop.ingest.services import import_create

    batch = import_create(kind=kind, path=path, file_name=path.name, by=None)
    job = job_run_inline(kind="import", params={"batch_id": batch.pk})
    batch.refresh_from_db()
    if batch.status != BatchStatus.SUCCEEDED:
        problems = "; ".join(str(p) for p in batch.problems.all()[:5])
        raise DemoError(
            f"Importing the simulated {path.name} failed ({batch.status}): "
            f"{batch.error or job.error or problems}"
        )
    ImportBatch.objects.filter(pk=batch.pk).update(job=job)
    if kind == "evaluations":
        # One row per answer: the count worth showing is of evaluations.
        from coachloop.quality.models import Evaluation

        return Evaluation.objects.filter(batch=batch).count()
    return batch.rows_inserted + batch.rows_updated


def _create_logins(passwords: dict[str, str]) -> list[DemoLogin]:
    """A login for every person (username = their id in lower case) and an org admin; one
    password per role, hashed once: hashing each of hundreds would take a minute."""
    from coachloop.org.selectors import user_roles_and_scope

    hashes = {role: make_password(password) for role, password in passwords.items()}
    admin = org.person_create(
        external_id=ADMIN_EXTERNAL_ID, name="Ada Admin", by=None, email="admin@coachloop.example"
    )
    org.role_grant(person=admin, role=Role.ADMIN, by=None)
    precedence = [Role.ADMIN, Role.MANAGER, Role.QA, Role.LEAD, Role.AGENT]
    roles_of: dict[int, set[str]] = {}
    for person_id, role in RoleAssignment.objects.values_list("person_id", "role"):
        roles_of.setdefault(person_id, set()).add(role)
    User = get_user_model()
    people = list(Person.objects.filter(user__isnull=True).order_by("external_id"))
    with transaction.atomic():
        users = []
        for person in people:
            held = roles_of.get(person.pk, {Role.AGENT.value})
            role = next(r for r in precedence if r in held)
            username = (
                "admin" if person.external_id == ADMIN_EXTERNAL_ID else person.external_id.lower()
            )
            users.append(User(username=username, email=person.email, password=hashes[role]))
        User.objects.bulk_create(users)
        by_name = {
            user.username: user
            for user in User.objects.filter(username__in=[user.username for user in users])
        }
        for person, user in zip(people, users, strict=True):
            person.user = by_name[user.username]
        Person.objects.bulk_update(people, ["user"])
    logins = []
    # The logins file lists every lead, QA analyst, manager and admin, and the first agents.
    shown_agents = 0
    for person in Person.objects.select_related("user").order_by("external_id"):
        assert person.user is not None
        shape = user_roles_and_scope(user=person.user)
        if not shape["roles"]:
            continue
        if shape["roles"] == [Role.AGENT.value]:
            if person.termination_date is not None or shown_agents >= 10:
                continue
            shown_agents += 1
        main_role = next(r for r in precedence if r in shape["roles"])
        logins.append(
            DemoLogin(
                username=person.user.get_username(),
                password=passwords[main_role],
                roles=shape["roles"],
                scope=dict(shape["scope"]),
            )
        )
    order = {role.value: index for index, role in enumerate(reversed(precedence))}
    logins.sort(key=lambda login: (order[login.roles[0]], login.username))
    return logins


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

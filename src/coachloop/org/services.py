"""Writes to the organization. Every change goes through one of these functions, which
validate, write inside a transaction and record an event."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction

from coachloop.core.errors import Conflict, ErrorDetail, InvalidInput
from coachloop.core.services import event_record
from coachloop.org.models import (
    Channel,
    ExternalId,
    Membership,
    Organization,
    Person,
    Program,
    Role,
    RoleAssignment,
    Site,
    Team,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    Actor = AbstractBaseUser | AnonymousUser | None

CANONICAL_SOURCE = "canonical"


def _invalid(field: str, value: object, expected: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {value!r} is not valid, expected {expected}",
        [ErrorDetail(column=field, value=value, expected=expected)],
    )


def validate_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _invalid("timezone", name, "an IANA time zone such as Europe/London") from None
    return name


def validate_channels(channels: Iterable[str]) -> list[str]:
    cleaned = []
    for channel in channels:
        if channel not in Channel.values:
            raise _invalid("channels", channel, "one of " + ", ".join(Channel.values))
        if channel not in cleaned:
            cleaned.append(channel)
    return cleaned


def organization_get() -> Organization:
    """The installation's one organization, created on first use."""
    organization = Organization.objects.order_by("pk").first()
    if organization is None:
        organization = Organization.objects.create(name="coachloop")
    return organization


@transaction.atomic
def organization_rename(*, name: str, by: Actor) -> Organization:
    organization = organization_get()
    organization.name = name
    organization.save(update_fields=["name", "updated_at"])
    event_record(verb="organization.renamed", actor=by, target=organization, params={"name": name})
    return organization


@transaction.atomic
def program_create(
    *,
    code: str,
    name: str,
    by: Actor,
    client: str = "",
    channels: Iterable[str] = (),
    timezone: str = "UTC",
    first_weekday: int = 0,
) -> Program:
    if Program.objects.filter(code=code).exists():
        raise Conflict(f"A program with code {code!r} already exists")
    if not 0 <= first_weekday <= 6:
        raise _invalid("first_weekday", first_weekday, "0 (Monday) to 6 (Sunday)")
    program = Program.objects.create(
        organization=organization_get(),
        code=code,
        name=name,
        client=client,
        channels=validate_channels(channels),
        timezone=validate_timezone(timezone),
        first_weekday=first_weekday,
    )
    event_record(verb="program.created", actor=by, target=program, program=program)
    return program


@transaction.atomic
def site_create(*, code: str, name: str, by: Actor) -> Site:
    if Site.objects.filter(code=code).exists():
        raise Conflict(f"A site with code {code!r} already exists")
    site = Site.objects.create(organization=organization_get(), code=code, name=name)
    event_record(verb="site.created", actor=by, target=site)
    return site


@transaction.atomic
def team_create(
    *,
    program: Program,
    code: str,
    name: str,
    by: Actor,
    site: Site | None = None,
    coaching_cadence_days: int = 14,
) -> Team:
    if Team.objects.filter(code=code).exists():
        raise Conflict(f"A team with code {code!r} already exists")
    if not 1 <= coaching_cadence_days <= 366:
        raise _invalid("coaching_cadence_days", coaching_cadence_days, "1 to 366 days")
    team = Team.objects.create(
        program=program,
        site=site,
        code=code,
        name=name,
        coaching_cadence_days=coaching_cadence_days,
    )
    event_record(verb="team.created", actor=by, target=team, program=program)
    return team


@transaction.atomic
def person_create(
    *,
    external_id: str,
    name: str,
    by: Actor,
    email: str = "",
    hire_date: dt.date | None = None,
    source: str = CANONICAL_SOURCE,
    other_ids: Mapping[str, str] | None = None,
    program: Program | None = None,
) -> Person:
    """Create a person known as ``external_id`` in ``source``, plus their ids in other systems.

    ``program`` only decides who may see the creation event."""
    if not external_id.strip():
        raise _invalid("external_id", external_id, "a non-empty id")
    if Person.objects.filter(external_id=external_id).exists():
        raise Conflict(f"A person with external id {external_id!r} already exists")
    person = Person.objects.create(
        organization=organization_get(),
        external_id=external_id,
        name=name,
        email=email,
        hire_date=hire_date,
    )
    ids = {source: external_id, **(other_ids or {})}
    for id_source, id_value in ids.items():
        _external_id_add(person=person, source=id_source, external_id=id_value)
    event_record(
        verb="person.created",
        actor=by,
        target=person,
        program=program,
        person=person,
        params={"external_ids": ids},
    )
    return person


def _external_id_add(*, person: Person, source: str, external_id: str) -> ExternalId:
    taken = ExternalId.objects.filter(source=source, external_id=external_id).first()
    if taken is not None and taken.person_id != person.pk:
        raise Conflict(
            f"External id {source}:{external_id} already belongs to {taken.person.external_id}",
            [
                ErrorDetail(
                    column=f"external_id:{source}",
                    value=external_id,
                    expected="an id no other person has in that source",
                )
            ],
        )
    row, _ = ExternalId.objects.update_or_create(
        person=person, source=source, defaults={"external_id": external_id}
    )
    return row


@transaction.atomic
def person_set_external_id(
    *, person: Person, source: str, external_id: str, by: Actor, program: Program | None = None
) -> ExternalId:
    """Record (or change) the person's id in ``source``; ids are unique per source."""
    row = _external_id_add(person=person, source=source, external_id=external_id)
    event_record(
        verb="person.external_id_set",
        actor=by,
        target=person,
        program=program,
        person=person,
        params={"source": source, "external_id": external_id},
    )
    return row


@transaction.atomic
def person_terminate(
    *, person: Person, on: dt.date, reason: str, by: Actor, program: Program | None = None
) -> Person:
    """Record that the person left on ``on``; their open team membership ends that day."""
    if person.hire_date is not None and on < person.hire_date:
        raise _invalid("termination_date", on.isoformat(), "a date on or after the hire date")
    person.termination_date = on
    person.termination_reason = reason
    person.save(update_fields=["termination_date", "termination_reason", "updated_at"])
    open_membership = Membership.objects.filter(person=person, valid_to__isnull=True).first()
    if open_membership is not None:
        if on <= open_membership.valid_from:
            raise _invalid(
                "termination_date",
                on.isoformat(),
                "a date after the start of the current team membership",
            )
        open_membership.valid_to = on
        open_membership.save(update_fields=["valid_to"])
    event_record(
        verb="person.terminated",
        actor=by,
        target=person,
        program=program,
        person=person,
        params={"on": on.isoformat(), "reason": reason},
    )
    return person


@transaction.atomic
def role_grant(
    *,
    person: Person,
    role: Role | str,
    by: Actor,
    program: Program | None = None,
    team: Team | None = None,
) -> RoleAssignment:
    """Give ``person`` a role: admin org-wide, lead of a team, agent/QA/manager in a program."""
    role = Role(role)
    if role == Role.ADMIN:
        program, team = None, None
    elif role == Role.LEAD:
        if team is None:
            raise _invalid("team", None, "the team the lead leads")
        program = team.program
    elif program is None:
        program = team.program if team is not None else None
        if program is None:
            raise _invalid("program", None, f"the program the {role.label} works in")
    if role != Role.LEAD:
        team = None
    assignment, created = RoleAssignment.objects.get_or_create(
        person=person, role=role, program=program, team=team, defaults={"ended_on": None}
    )
    if not created and assignment.ended_on is not None:
        assignment.ended_on = None
        assignment.save(update_fields=["ended_on", "updated_at"])
        created = True
    if created:
        event_record(
            verb="role.granted",
            actor=by,
            target=person,
            program=program,
            person=person,
            params={"role": role.value, "team": team.code if team else None},
        )
    return assignment


@transaction.atomic
def role_end(*, assignment: RoleAssignment, on: dt.date, by: Actor) -> RoleAssignment:
    assignment.ended_on = on
    assignment.save(update_fields=["ended_on", "updated_at"])
    event_record(
        verb="role.ended",
        actor=by,
        target=assignment.person,
        program=assignment.program,
        person=assignment.person,
        params={"role": assignment.role, "on": on.isoformat()},
    )
    return assignment


@transaction.atomic
def membership_move(*, person: Person, team: Team, on: dt.date, by: Actor) -> Membership:
    """Put ``person`` on ``team`` from ``on``: the open membership ends that day, history stays.

    Moving to another program also makes the person an agent of that program."""
    current = (
        Membership.objects.select_for_update().filter(person=person, valid_to__isnull=True).first()
    )
    if current is not None:
        if current.team_id == team.pk:
            return current
        if on < current.valid_from:
            raise _invalid(
                "team_since",
                on.isoformat(),
                f"a date on or after {current.valid_from.isoformat()}, when the person joined "
                f"{current.team.code}",
            )
        if on == current.valid_from:
            # Corrected on the day it started: the earlier team never took effect.
            current.team = team
            current.save(update_fields=["team"])
            membership = current
        else:
            current.valid_to = on
            current.save(update_fields=["valid_to"])
            membership = Membership.objects.create(person=person, team=team, valid_from=on)
    else:
        later = Membership.objects.filter(person=person, valid_to__gt=on).order_by("-valid_to")
        if later.exists():
            raise _invalid("team_since", on.isoformat(), "a date after the person's last team")
        membership = Membership.objects.create(person=person, team=team, valid_from=on)
    role_grant(person=person, role=Role.AGENT, program=team.program, by=by)
    if current is not None and current.team.program_id != team.program_id:
        # The program is a hard boundary: the old program's staff stop seeing the person.
        for old_role in RoleAssignment.objects.active(on).filter(
            person=person, role=Role.AGENT, program_id=current.team.program_id
        ):
            role_end(assignment=old_role, on=on, by=by)
    event_record(
        verb="membership.moved",
        actor=by,
        target=person,
        program=team.program,
        person=person,
        params={
            "team": team.code,
            "from_team": current.team.code
            if current is not None and current.pk != membership.pk
            else None,
            "on": on.isoformat(),
        },
    )
    return membership


@transaction.atomic
def person_user_create(
    *,
    person: Person,
    username: str,
    by: Actor,
    password: str | None = None,
    password_hash: str | None = None,
) -> AbstractBaseUser:
    """Give ``person`` a login. ``password_hash`` lets a bulk caller hash a shared password once."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Conflict(f"The username {username!r} is taken")
    user = User(username=username, email=person.email)
    if password_hash is not None:
        user.password = password_hash
    elif password is not None:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    person.user = user
    person.save(update_fields=["user", "updated_at"])
    event_record(
        verb="person.login_created",
        actor=by,
        target=person,
        person=person,
        params={"username": username},
    )
    return user

"""Reads of the organization. Every function takes the user and starts from ``visible_to``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from coachloop.org.models import (
    ExternalId,
    Membership,
    Person,
    PersonQuerySet,
    Program,
    Role,
    RoleAssignment,
    Team,
)
from coachloop.org.scope import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def _with_current_placement(people: PersonQuerySet, user: AnyUser) -> PersonQuerySet:
    """Annotate each person with their current team and program codes in subqueries, so a
    list of agents costs one query, not one per row. A placement outside the viewer's programs
    is left out: where someone works now is itself a record of that program."""
    current = (
        Membership.objects.visible_to(user)
        .current()
        .filter(person_id=OuterRef("pk"))
        .order_by("-valid_from")
    )
    agent_role = (
        RoleAssignment.objects.visible_to(user)
        .active()
        .filter(person_id=OuterRef("pk"), role=Role.AGENT)
        .order_by("-created_at")
    )
    return people.annotate(
        current_team_id=Subquery(current.values("team_id")[:1]),
        current_team_code=Subquery(current.values("team__code")[:1]),
        program_code=Coalesce(
            Subquery(current.values("team__program__code")[:1]),
            Subquery(agent_role.values("program__code")[:1]),
        ),
    ).prefetch_related(Prefetch("external_ids", queryset=ExternalId.objects.order_by("source")))


def agent_list(
    *,
    user: AnyUser,
    program: str | None = None,
    team: str | None = None,
    external_id: str | None = None,
    active: bool | None = None,
) -> QuerySet[Person]:
    """Agents the user may see, filtered by program or team (code or id) and any external id."""
    agents = Person.objects.visible_to(user).agents()
    if program:
        programs = Program.objects.filter(_code_or_id(program))
        agents = agents.filter(
            pk__in=RoleAssignment.objects.filter(role=Role.AGENT, program__in=programs).values(
                "person_id"
            )
        )
    if team:
        teams = Team.objects.filter(_code_or_id(team))
        agents = agents.filter(
            pk__in=Membership.objects.current().filter(team__in=teams).values("person_id")
        )
    if external_id:
        agents = agents.filter(
            Q(external_id=external_id)
            | Q(pk__in=ExternalId.objects.filter(external_id=external_id).values("person_id"))
        )
    if active:
        agents = agents.active_on(timezone.localdate())
    return _with_current_placement(agents, user).order_by("name", "pk")


def _code_or_id(value: str) -> Q:
    query = Q(code=value)
    if value.isdigit():
        query |= Q(pk=int(value))
    return query


def agent_get(*, user: AnyUser, pk: int) -> Person:
    """One agent the user may see, or 404 (out of scope and nonexistent look the same)."""
    agent = (
        _with_current_placement(Person.objects.visible_to(user).agents(), user)
        .filter(pk=pk)
        .first()
    )
    if agent is None:
        raise Http404("No such agent")
    return agent


def person_get(*, user: AnyUser, pk: int) -> Person:
    person = _with_current_placement(Person.objects.visible_to(user), user).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person")
    return person


def program_list(*, user: AnyUser) -> QuerySet[Program]:
    return Program.objects.visible_to(user).order_by("code")


def program_get(*, user: AnyUser, pk: int) -> Program:
    program = program_list(user=user).filter(pk=pk).first()
    if program is None:
        raise Http404("No such program")
    return program


def team_list(*, user: AnyUser, program: str | None = None) -> QuerySet[Team]:
    teams = Team.objects.visible_to(user).select_related("program", "site")
    if program:
        teams = teams.filter(program__in=Program.objects.filter(_code_or_id(program)))
    return teams.order_by("program__code", "code")


def teams_led(*, user: AnyUser) -> QuerySet[Team]:
    """The teams the user leads: a lead's home shows each of them."""
    return team_list(user=user).filter(pk__in=scope_for(user).lead_team_ids)


def programs_overseen(*, user: AnyUser) -> QuerySet[Program]:
    """The programs the user works as a whole (QA, manager; an org admin: all), for the
    program overview on their home page."""
    scope = scope_for(user)
    programs = program_list(user=user).prefetch_related("teams")
    if scope.is_admin:
        return programs
    return programs.filter(pk__in=scope.program_role_program_ids)


def team_get(*, user: AnyUser, pk: int) -> Team:
    team = team_list(user=user).filter(pk=pk).first()
    if team is None:
        raise Http404("No such team")
    return team


def team_current_agents(*, user: AnyUser, team: Team) -> QuerySet[Person]:
    return agent_list(user=user, team=str(team.pk))


def team_current_agent_ids(*, user: AnyUser, team_id: int) -> list[int]:
    """The ids of the team's current agents the user may see: ``team_current_agents`` without
    the placement annotations, for a page that only needs to know who they are."""
    return list(
        Person.objects.visible_to(user)
        .agents()
        .filter(pk__in=Membership.objects.current().filter(team_id=team_id).values("person_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def team_leads(*, team: Team) -> QuerySet[Person]:
    return Person.objects.filter(
        pk__in=RoleAssignment.objects.active().filter(role=Role.LEAD, team=team).values("person_id")
    ).order_by("name")


def person_team_history(*, user: AnyUser, person: Person) -> QuerySet[Membership]:
    return (
        Membership.objects.visible_to(user)
        .filter(person=person)
        .select_related("team", "team__program")
        .order_by("-valid_from")
    )


def person_roles(*, person: Person) -> QuerySet[RoleAssignment]:
    return (
        RoleAssignment.objects.active()
        .filter(person=person)
        .select_related("program", "team")
        .order_by("role", "program__code", "team__code")
    )


def leads_agent(*, user: AnyUser, agent_id: int, program_id: int) -> bool:
    """Whether the user is a lead of the program who sees the agent today (the agent's current
    lead): who may dispute for an agent, record their coaching and decide on their
    opportunities. Nobody is their own lead."""
    scope = scope_for(user)
    return (
        program_id in scope.lead_program_ids
        and scope.person_id != agent_id
        and Person.objects.visible_to(user).filter(pk=agent_id).exists()
    )


def person_team_on(*, person: Person, day: dt.date) -> Team | None:
    """The team the person was on that day: KPIs are attributed to it."""
    membership = Membership.objects.on(day).filter(person=person).select_related("team").first()
    return membership.team if membership else None


class ScopeShape(TypedDict):
    programs: list[str]
    teams: list[str]
    agent: str | None


class RolesAndScope(TypedDict):
    roles: list[str]
    scope: ScopeShape


def user_roles_and_scope(*, user: AnyUser) -> RolesAndScope:
    """The ``roles`` and ``scope`` of ``GET /api/v1/me`` and of demo-logins.json.

    ``scope.programs`` are the programs the user can see, ``scope.teams`` the teams the user
    leads or is on, ``scope.agent`` the user's own external id when they are an agent."""
    scope = scope_for(user)
    programs = list(
        Program.objects.visible_to(user).order_by("code").values_list("code", flat=True)
    )
    team_ids = scope.lead_team_ids | scope.agent_team_ids
    teams = list(
        Team.objects.filter(pk__in=team_ids).order_by("code").values_list("code", flat=True)
    )
    agent_external_id = None
    if scope.has_role(Role.AGENT) and scope.person_id is not None:
        agent_external_id = (
            Person.objects.filter(pk=scope.person_id).values_list("external_id", flat=True).first()
        )
    role_order = [role.value for role in Role]
    return {
        "roles": sorted(scope.roles, key=role_order.index),
        "scope": {"programs": programs, "teams": teams, "agent": agent_external_id},
    }

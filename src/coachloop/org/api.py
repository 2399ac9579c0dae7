"""``/api/v1/programs``, ``/teams``, ``/agents``: the organization, scoped to the caller."""

# No `from __future__ import annotations` here: django-ninja reads these annotations at run time.

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from coachloop.core.pagination import LimitOffset
from coachloop.org import selectors
from coachloop.org.models import Person, Program, Team

router = Router(tags=["organization"])


class ProgramOut(Schema):
    id: int
    code: str
    name: str
    client: str
    channels: list[str]
    timezone: str
    first_weekday: int = Field(description="0 = Monday ... 6 = Sunday")


class TeamOut(Schema):
    id: int
    code: str
    name: str
    program: str = Field(alias="program.code")
    site: str | None = Field(None, alias="site.code")
    coaching_cadence_days: int


class ExternalIdOut(Schema):
    source: str
    external_id: str


class AgentOut(Schema):
    id: int
    external_id: str = Field(description="The id the person was created with")
    external_ids: list[ExternalIdOut]
    name: str
    email: str
    program: str | None
    team: str | None
    hire_date: dt.date | None
    termination_date: dt.date | None

    @staticmethod
    def resolve_external_ids(obj: Person) -> list[dict[str, str]]:
        return [
            {"source": row.source, "external_id": row.external_id} for row in obj.external_ids.all()
        ]

    @staticmethod
    def resolve_program(obj: Person) -> str | None:
        return getattr(obj, "program_code", None)

    @staticmethod
    def resolve_team(obj: Person) -> str | None:
        return getattr(obj, "current_team_code", None)


class AgentFilters(Schema):
    program: str | None = Field(None, description="Program code or id")
    team: str | None = Field(None, description="Team code or id (agents currently on it)")
    external_id: str | None = Field(None, description="Any of the agent's ids in any source")
    active: bool | None = Field(None, description="true: only people who have not left")


@router.get("/programs", response=list[ProgramOut], summary="Programs in your scope")
@paginate(LimitOffset)
def programs(request: HttpRequest) -> QuerySet[Program]:
    return selectors.program_list(user=request.user)


@router.get("/programs/{program_id}", response=ProgramOut, summary="One program")
def program(request: HttpRequest, program_id: int) -> Program:
    return selectors.program_get(user=request.user, pk=program_id)


@router.get("/teams", response=list[TeamOut], summary="Teams in your scope")
@paginate(LimitOffset)
def teams(request: HttpRequest, program: str | None = None) -> QuerySet[Team]:
    return selectors.team_list(user=request.user, program=program)


@router.get("/teams/{team_id}", response=TeamOut, summary="One team")
def team(request: HttpRequest, team_id: int) -> Team:
    return selectors.team_get(user=request.user, pk=team_id)


@router.get("/agents", response=list[AgentOut], summary="Agents in your scope")
@paginate(LimitOffset)
def agents(request: HttpRequest, filters: Query[AgentFilters]) -> QuerySet[Person]:
    return selectors.agent_list(user=request.user, **filters.dict())


@router.get("/agents/{agent_id}", response=AgentOut, summary="One agent")
def agent(request: HttpRequest, agent_id: int) -> Any:
    return selectors.agent_get(user=request.user, pk=agent_id)

"""``/api/v1/interactions``: the contacts behind any number, scoped to the caller."""

# No `from __future__ import annotations` here: django-ninja reads these annotations at run time.

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from coachloop.core.pagination import LimitOffset
from coachloop.interactions import selectors
from coachloop.interactions.models import Interaction

router = Router(tags=["interactions"])


class InteractionQuery(Schema):
    agent: int | None = Field(None, description="Agent id")
    team: int | None = Field(None, description="Team id (the team at the time)")
    program: int | None = Field(None, description="Program id")
    start: dt.date | None = Field(None, description="First local day")
    end: dt.date | None = Field(None, description="Last local day, inclusive")
    call_type: str | None = None
    queue: str | None = None
    channel: str | None = None
    resolved: bool | None = Field(None, description="FCR outcome: source flag, else derived")
    outcome_known: bool | None = Field(None, description="Has an FCR outcome (in FCR's n)")
    timed: bool | None = Field(None, description="Has a talk time (in AHT's n)")
    answered: bool | None = None
    transferred: bool | None = None
    escalated: bool | None = None
    surveyed: bool | None = Field(None, description="Has a CSAT response")
    csat_top2: bool | None = None


class InteractionOut(Schema):
    id: int
    external_id: str
    source: str
    program: str = Field(alias="program.code")
    channel: str
    queue: str
    call_type: str
    agent_id: int | None
    agent: str | None = Field(None, alias="agent.external_id")
    team: str | None = Field(None, alias="team.code")
    started_at: dt.datetime
    local_date: dt.date
    answered: bool
    wait_s: float | None
    talk_s: float | None
    hold_s: float | None
    acw_s: float | None
    transferred: bool
    escalated: bool
    resolved: bool | None
    fcr_derived: bool | None
    fcr_provisional: bool
    csat: float | None = Field(None, alias="csat_raw")
    csat_scale: str
    csat_norm: float | None
    nps: int | None
    recording_url: str


@router.get("/interactions", response=list[InteractionOut], summary="Contacts, newest first")
@paginate(LimitOffset)
def interactions(request: HttpRequest, query: Query[InteractionQuery]) -> QuerySet[Interaction]:
    return selectors.interaction_list(
        user=request.user, filters=selectors.InteractionFilters(**query.dict())
    )


@router.get("/interactions/{interaction_id}", response=InteractionOut, summary="One contact")
def interaction(request: HttpRequest, interaction_id: int) -> Interaction:
    return selectors.interaction_get(user=request.user, pk=interaction_id)

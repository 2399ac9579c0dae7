"""``/api/v1/agents/{id}/diagnosis`` and ``/api/v1/coaching-queue`` (CONTRACTS.md, "Diagnosis
and queue API"). Leads, QA analysts, managers and admins who see the agent or team; an agent
sees what their lead shared, not the diagnosis itself."""

# No `from __future__ import annotations` here: django-ninja reads these annotations at run time.

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from coachloop.core.errors import InvalidInput
from coachloop.insights import selectors as insight_selectors
from coachloop.insights.contexts import shared_context
from coachloop.insights.diagnosis import diagnose
from coachloop.insights.queue import coaching_queue
from coachloop.metrics import selectors as kpi_selectors
from coachloop.org import selectors as org_selectors

router = Router(tags=["diagnosis"])


class WindowQuery(Schema):
    start: dt.date | None = Field(None, description="First local day (default: 13 weeks back)")
    end: dt.date | None = Field(None, description="Last local day, inclusive (default: today)")


class QueueQuery(WindowQuery):
    team: int = Field(..., description="Team id")


def _window(query: WindowQuery) -> tuple[dt.date, dt.date]:
    return kpi_selectors.recent_window(query.start, query.end)


def _require_coach(request: HttpRequest) -> None:
    if not insight_selectors.is_coach(request.user):
        raise PermissionDenied(
            "The diagnosis is for leads and QA staff; agents see what their lead shares"
        )


@router.get(
    "/agents/{agent_id}/diagnosis",
    response=dict[str, Any],
    summary="What to coach and why: opportunities, strengths, program issues",
)
def agent_diagnosis(
    request: HttpRequest, agent_id: int, query: Query[WindowQuery]
) -> dict[str, Any]:
    agent = org_selectors.agent_get(user=request.user, pk=agent_id)
    _require_coach(request)
    program = kpi_selectors.agent_program(user=request.user, agent=agent)
    if program is None:
        raise InvalidInput("This agent is not placed in a program you can see")
    start, end = _window(query)
    context = shared_context(program=program, start=start, end=end)
    diagnosis = diagnose(agent=agent, program=program, start=start, end=end, context=context)
    # The lead's decisions apply here as on the pages: dismissed and snoozed are set apart.
    applied = insight_selectors.apply_decisions(
        diagnosis, insight_selectors.decisions_for(agent, program), timezone.localdate()
    )
    diagnosis.opportunities = applied.active
    return {
        **diagnosis.as_api(),
        "hidden": [
            {
                "key": item.opportunity.key,
                "decision": item.decision.decision,
                "reason": item.decision.reason,
                "until": item.decision.until,
            }
            for item in applied.hidden
        ],
        "shared": sorted(applied.shared),
    }


@router.get(
    "/coaching-queue",
    response=dict[str, Any],
    summary="A team's agents ranked by the value of coaching them now",
)
def queue(request: HttpRequest, query: Query[QueueQuery]) -> dict[str, Any]:
    team = org_selectors.team_get(user=request.user, pk=query.team)
    _require_coach(request)
    start, end = _window(query)
    agents = list(org_selectors.team_current_agents(user=request.user, team=team))
    rows = coaching_queue(team=team, agents=agents, start=start, end=end)
    return {"items": [row.as_api() for row in rows], "count": len(rows)}

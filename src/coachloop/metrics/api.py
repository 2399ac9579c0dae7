"""``/api/v1/{agents|teams|programs}/{id}/kpis``: the KPI API of CONTRACTS.md."""

# No `from __future__ import annotations` here: django-ninja reads these annotations at run time.

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from coachloop.core.errors import ErrorDetail, InvalidInput, NotAllowed
from coachloop.metrics import selectors
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Program

router = Router(tags=["kpis"])
SMALL_GROUP = "Agents see the figures of a group only when it has at least 5 agents"


class KpiQuery(Schema):
    start: dt.date | None = Field(None, description="First local day (default: 4 weeks back)")
    end: dt.date | None = Field(None, description="Last local day, inclusive")
    granularity: Literal["day", "week", "month"] | None = Field(
        None, description="Add a series per day, week (program's first weekday) or month"
    )
    metrics: str | None = Field(None, description="Comma-separated slugs, e.g. aht,fcr")


class AdjustedOut(Schema):
    expected: float | None
    gap: float | None


class KpiOut(Schema):
    metric: str
    label: str
    unit: str
    value: float | None
    n: int
    numerator: float | None
    denominator: float | None
    target: float | None
    target_upper: float | None = None
    status: str
    probability_worse_than_target: float | None
    interval: list[float | None] | None
    adjusted: AdjustedOut | None
    provisional_n: int | None = None


class SeriesOut(Schema):
    period_start: dt.date
    metrics: list[KpiOut]


class KpiReportOut(Schema):
    start: dt.date
    end: dt.date
    metrics: list[KpiOut]
    series: list[SeriesOut] | None = None


def _report(
    subject: selectors.Subject, query: KpiQuery, *, team_id: int | None = None
) -> dict[str, Any]:
    try:
        period = selectors.period_resolve(subject.program, start=query.start, end=query.end)
        slugs = [s.strip() for s in (query.metrics or "").split(",") if s.strip()]
        definitions = selectors.definitions_for(subject.program, slugs or None)
    except selectors.BadPeriod as exc:
        raise InvalidInput(
            str(exc), [ErrorDetail(column="start", value=None, expected="start <= end")]
        ) from exc
    except selectors.UnknownMetric as exc:
        raise InvalidInput(
            str(exc), [ErrorDetail(column="metrics", value=query.metrics, expected="metric slugs")]
        ) from exc
    report = selectors.kpi_report(
        subject=subject,
        start=period.start,
        end=period.end,
        definitions=definitions,
        granularity=query.granularity,
        team_id=team_id,
    )
    body: dict[str, Any] = {
        "start": report.start,
        "end": report.end,
        "metrics": [kpi.as_api() for kpi in report.metrics],
    }
    if report.series is not None:
        body["series"] = [
            {"period_start": begins, "metrics": [kpi.as_api() for kpi in items]}
            for begins, items in report.series
        ]
    return body


@router.get(
    "/agents/{agent_id}/kpis",
    response=KpiReportOut,
    summary="An agent's KPIs, shrunk toward their program's peers",
    exclude_unset=True,
)
def agent_kpis(request: HttpRequest, agent_id: int, query: Query[KpiQuery]) -> dict[str, Any]:
    agent = org_selectors.agent_get(user=request.user, pk=agent_id)
    program = selectors.agent_program(user=request.user, agent=agent)
    if program is None:
        raise InvalidInput("This agent is not placed in a program you can see")
    team_id = getattr(agent, "current_team_id", None)
    return _report(selectors.subject_for_agent(agent, program), query, team_id=team_id)


@router.get(
    "/teams/{team_id}/kpis", response=KpiReportOut, summary="A team's KPIs", exclude_unset=True
)
def team_kpis(request: HttpRequest, team_id: int, query: Query[KpiQuery]) -> dict[str, Any]:
    team = org_selectors.team_get(user=request.user, pk=team_id)
    if not selectors.aggregates_visible(user=request.user, team=team, program=team.program):
        raise NotAllowed(SMALL_GROUP)
    return _report(selectors.subject_for_team(team), query)


@router.get(
    "/programs/{program_id}/kpis",
    response=KpiReportOut,
    summary="A program's KPIs",
    exclude_unset=True,
)
def program_kpis(request: HttpRequest, program_id: int, query: Query[KpiQuery]) -> dict[str, Any]:
    program: Program = org_selectors.program_get(user=request.user, pk=program_id)
    if not selectors.aggregates_visible(user=request.user, program=program):
        raise NotAllowed(SMALL_GROUP)
    return _report(selectors.subject_for_program(program), query)

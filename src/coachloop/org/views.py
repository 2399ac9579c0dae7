"""Program, team and agent pages. Each starts from a selector, so scope is never re-decided."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from coachloop.core import selectors as core_selectors
from coachloop.metrics import views as kpi_views
from coachloop.metrics.selectors import agent_contact_summary
from coachloop.org import selectors


@login_required
@require_GET
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    program = selectors.program_get(user=request.user, pk=pk)
    teams = selectors.team_list(user=request.user, program=str(program.pk))
    return render(
        request,
        "org/program_detail.html",
        {
            "program": program,
            "teams": teams,
            "events": core_selectors.program_timeline(user=request.user, program=program),
            **kpi_views.program_kpi_context(request, program),
        },
    )


@login_required
@require_GET
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.team_get(user=request.user, pk=pk)
    return render(
        request,
        "org/team_detail.html",
        {
            "leads": selectors.team_leads(team=team),
            **kpi_views.team_dashboard_context(request, team),
        },
    )


@login_required
@require_GET
def agent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent page: who they are, their KPIs with trends and call-type breakdown, where they
    sit, their history. Later issues add QA, diagnosis, goals and sessions here."""
    agent = selectors.agent_get(user=request.user, pk=pk)
    return render(
        request,
        "org/agent_detail.html",
        {
            "agent": agent,
            "memberships": selectors.person_team_history(user=request.user, person=agent),
            "roles": selectors.person_roles(person=agent),
            "events": core_selectors.person_timeline(user=request.user, person=agent),
            "contacts": agent_contact_summary(user=request.user, agent=agent),
            **kpi_views.agent_kpi_context(request, agent),
        },
    )

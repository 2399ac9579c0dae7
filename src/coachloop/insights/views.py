"""The coaching pages (``/coaching/``): a lead's coaching queue for a team, one agent's
diagnosis with the lead's decisions (dismiss, snooze, share), and the agent's own page of what
was shared with them and their strengths.

Scope comes from the selectors (out of scope is a 404); in scope but not a coach is a 403.
Decisions are plain POSTs that redirect back (they work without JS); a service's InvalidInput is
shown beside the field it names, with what was typed kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from coachloop.core.errors import CoachloopError, InvalidInput, NotAllowed
from coachloop.insights import selectors, services
from coachloop.insights.contexts import shared_context
from coachloop.insights.diagnosis import Opportunity, diagnose
from coachloop.insights.queue import coaching_queue
from coachloop.learning.models import Skill
from coachloop.metrics import display
from coachloop.metrics import selectors as kpi_selectors
from coachloop.metrics.models import MetricDefinition
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Membership, Person, Program, Role
from coachloop.org.scope import scope_for

SNOOZE_DAYS = 28  # the default snooze: about a month, the next review


def _require_coach(request: HttpRequest) -> None:
    if not selectors.is_coach(request.user):
        raise PermissionDenied(
            _("The diagnosis is for leads and QA staff; agents see what their lead shares.")
        )


def likelihood(probability: float | None) -> str:
    """The probability that the gap is real, in words a lead reads at a glance."""
    if probability is None:
        return ""
    if probability >= 0.95:
        return _("almost certain")
    if probability >= 0.8:
        return _("very likely")
    if probability >= 0.6:
        return _("likely")
    if probability >= 0.4:
        return _("as likely as not")
    return _("unlikely")


def _fmt(definition: MetricDefinition | None, value: Any) -> str:
    if value is None:
        return "—"
    if definition is None:  # the QA side: the share of credit lost on the skill's criteria
        return display.format_value(float(value), "percent0")
    return display.format_value(float(value), display.display_of(definition))


def present(
    item: dict[str, Any],
    definitions: dict[str, MetricDefinition],
    skills: dict[str, str],
    *,
    peers_visible: bool = True,
) -> dict[str, Any]:
    """An opportunity (its API shape: live or a share's snapshot) as the pages show it."""
    definition = definitions.get(str(item.get("metric") or ""))
    label = definition.label if definition else _("Credit lost on the skill's QA criteria")
    probability = item.get("probability")
    return {
        "key": item.get("key") or f"{item.get('metric')}:{item.get('skill') or '-'}",
        "metric": item.get("metric"),
        "label": label,
        "skill": skills.get(str(item.get("skill") or ""), item.get("skill") or ""),
        "gap_kind": item.get("gap_kind") or "",
        "call_type": item.get("call_type") or "",
        "value": _fmt(definition, item.get("value")),
        "target": _fmt(definition, item.get("target")) if item.get("target") is not None else "",
        "peer_median": _fmt(definition, item.get("peer_median")) if peers_visible else "",
        "n": item.get("n"),
        "probability": None if probability is None else round(100 * float(probability)),
        "likelihood": likelihood(None if probability is None else float(probability)),
        "concentration": [
            {
                **row,
                "value_text": _fmt(definition, row.get("value")),
                "peer_text": _fmt(definition, row.get("peer_value")),
                "share": round(100 * float(row.get("share_of_gap") or 0)),
            }
            for row in (item.get("concentration") or [])
        ]
        if peers_visible
        else [],
        "criteria": [
            {
                "label": row.get("label") or row.get("criterion"),
                "fail": _fmt(None, row.get("fail_rate")),
                "peer_fail": _fmt(None, row.get("peer_fail_rate")) if peers_visible else "",
                "n": row.get("n"),
            }
            for row in (item.get("criteria") or [])
        ],
        "evidence": list(item.get("evidence") or []),
        "impact": (item.get("impact") or {}).get("text") or "",
        "goal": (item.get("goal_draft") or {}).get("text") or "",
        "statement": (item.get("statement") or "") if peers_visible else "",
    }


def _definitions(program: Program) -> dict[str, MetricDefinition]:
    return {d.slug: d for d in kpi_selectors.definitions_for(program)}


def _skills() -> dict[str, str]:
    return dict(Skill.objects.values_list("key", "name"))


# --- the coaching queue ------------------------------------------------------------------------


@login_required
@require_GET
def team_queue(request: HttpRequest, team_id: int) -> HttpResponse:
    team = org_selectors.team_get(user=request.user, pk=team_id)
    _require_coach(request)
    start, end = selectors.window()
    agents = list(org_selectors.team_current_agents(user=request.user, team=team))
    # The queue leaves out what the lead dismissed or snoozed (insights.queue).
    rows = coaching_queue(team=team, agents=agents, start=start, end=end)
    definitions = _definitions(team.program)
    skills = _skills()
    lines = []
    for rank, row in enumerate(rows, start=1):
        top = row.top_opportunity
        lines.append(
            {
                "rank": rank,
                "row": row,
                "top": present(top.as_api(), definitions, skills) if top else None,
                "overdue": row.due_in_days is not None and row.due_in_days < 0,
                "overdue_days": -row.due_in_days if row.due_in_days is not None else 0,
            }
        )
    return render(
        request,
        "insights/queue.html",
        {"team": team, "lines": lines, "start": start, "end": end},
    )


# --- one agent's diagnosis ---------------------------------------------------------------------


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _decide(
    request: HttpRequest,
    *,
    agent: Person,
    program: Program,
    opportunities: dict[str, Opportunity],
) -> str:
    """Carry out the POSTed decision; returns the message to show after the redirect."""
    action = request.POST.get("action", "")
    key = request.POST.get("key", "")
    reason = request.POST.get("reason", "")
    by = request.user
    if action == "dismiss":
        services.opportunity_dismiss(agent=agent, program=program, key=key, reason=reason, by=by)
        return _("Dismissed: it is hidden from this page and the queue until you undo it.")
    if action == "snooze":
        until = _date(request.POST.get("until", ""))
        services.opportunity_snooze(
            agent=agent, program=program, key=key, until=until, reason=reason, by=by
        )
        return _("Snoozed until %(day)s.") % {"day": until}
    if action == "share":
        opportunity = opportunities.get(key)
        if opportunity is None:
            raise Http404("No such opportunity now")
        services.opportunity_share(
            agent=agent, program=program, opportunity=opportunity.as_api(), by=by
        )
        return _("Shared with %(name)s: they see it on their coaching page.") % {"name": agent.name}
    if action == "undo":
        decision = selectors.decision_get(user=by, pk=int(request.POST.get("decision") or 0))
        if decision is None or decision.agent_id != agent.pk:
            raise Http404("No such decision")
        services.decision_undo(decision=decision, by=by)
        return _("Undone.")
    raise InvalidInput(_("Unknown action"))


@login_required
@require_http_methods(["GET", "POST"])
def agent_diagnosis(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = org_selectors.agent_get(user=request.user, pk=agent_id)
    _require_coach(request)
    program = kpi_selectors.agent_program(user=request.user, agent=agent)
    if program is None:
        raise Http404("This agent is not placed in a program you can see")
    start, end = selectors.window()
    today = timezone.localdate()
    context = shared_context(program=program, start=start, end=end)
    diagnosis = diagnose(agent=agent, program=program, start=start, end=end, context=context)
    can_decide = services.can_decide(user=request.user, agent=agent, program=program)
    error: dict[str, str] = {}
    if request.method == "POST":
        try:
            if not can_decide:
                raise NotAllowed(
                    _("Only the agent's lead, managers and org admins decide on these.")
                )
            note = _decide(
                request,
                agent=agent,
                program=program,
                opportunities={o.key: o for o in diagnosis.opportunities},
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except InvalidInput as exc:
            detail = exc.details[0] if exc.details else None
            error = {
                "key": request.POST.get("key", ""),
                "action": request.POST.get("action", ""),
                "field": (detail.column or "") if detail else "",
                "message": (detail.expected if detail else exc.message).capitalize(),
            }
        except CoachloopError as exc:
            messages.error(request, exc.message)
            return redirect("insights:diagnosis", agent_id=agent.pk)
        else:
            messages.success(request, note)
            return redirect("insights:diagnosis", agent_id=agent.pk)
    applied = selectors.apply_decisions(diagnosis, selectors.decisions_for(agent, program), today)
    definitions = _definitions(program)
    skills = _skills()

    def card(opportunity: Opportunity) -> dict[str, Any]:
        shown = present(opportunity.as_api(), definitions, skills)
        shown["shared"] = applied.shared.get(opportunity.key)
        shown["error"] = error if error.get("key") == opportunity.key else {}
        return shown

    hidden = []
    for decided in applied.hidden:
        shown = present(decided.opportunity.as_api(), definitions, skills)
        shown["decision"] = decided.decision
        hidden.append(shown)
    return render(
        request,
        "insights/diagnosis.html",
        {
            "agent": agent,
            "program": program,
            "start": start,
            "end": end,
            "strengths": diagnosis.strengths,
            "dips": diagnosis.dips,
            "opportunities": [card(o) for o in applied.active],
            "hidden": hidden,
            "program_issues": [
                present(o.as_api(), definitions, skills) for o in diagnosis.program_issues
            ],
            "can_decide": can_decide,
            "snooze_default": (today + dt.timedelta(days=SNOOZE_DAYS)).isoformat(),
            "posted": {
                "reason": request.POST.get("reason", ""),
                "until": request.POST.get("until", ""),
            },
        },
    )


# --- the agent's own page ----------------------------------------------------------------------


@login_required
@require_GET
def my_coaching(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.person_id is None:
        raise Http404("You have no person in the roster")
    agent = Person.objects.get(pk=scope.person_id)
    view = selectors.shared_with(agent)
    membership = Membership.objects.current().filter(person=agent).select_related("team").first()
    peers_visible = view.program is not None and kpi_selectors.aggregates_visible(
        user=request.user,
        team=membership.team if membership else None,
        program=view.program,
    )
    skills = _skills()
    shares = []
    for share in view.shares:
        shown = present(
            share.snapshot, _definitions(share.program), skills, peers_visible=peers_visible
        )
        shown["decision"] = share
        shares.append(shown)
    strengths = [
        {**s, "peer_median": s.get("peer_median") if peers_visible else None}
        for s in view.strengths
    ]
    definitions = _definitions(view.program) if view.program else {}
    for strength in strengths:
        definition = definitions.get(str(strength.get("metric")))
        strength["value_text"] = _fmt(definition, strength.get("value")) if definition else ""
        strength["peer_text"] = (
            _fmt(definition, strength["peer_median"])
            if definition and strength["peer_median"] is not None
            else ""
        )
    return render(
        request,
        "insights/me.html",
        {
            "agent": agent,
            "shares": shares,
            "strengths": strengths,
            "peers_visible": peers_visible,
            "is_agent": scope.has_role(Role.AGENT),
        },
    )

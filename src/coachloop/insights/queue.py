"""The coaching queue of a team: its agents ranked by the value of coaching them now.

score = the top opportunity's probability (when it is at least 0.8) + how overdue the agent is
against the team's cadence (a cadence's worth of overdue adds 1, at most 1) + 0.5 when a metric
dipped in the last two weeks + 0.25 for a new hire (under 90 days), so on equal terms new hires
come first. Agents with nothing significant score only on cadence, dips and tenure and say so,
with their strengths, instead of being padded with weak flags. An opportunity the lead dismissed
or snoozed does not count. Goals at risk join the score when the goals issue lands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from coachloop.coaching import selectors as coaching_selectors
from coachloop.insights.contexts import shared_context
from coachloop.insights.diagnosis import Diagnosis, Opportunity, diagnose, reports_for
from coachloop.insights.explain import explain
from coachloop.insights.models import OpportunityDecision
from coachloop.insights.selectors import apply_decisions
from coachloop.metrics.kpis import FLAG_PROBABILITY
from coachloop.org.models import Person, Team

NEW_HIRE_DAYS = 90
NEW_HIRE_BONUS = 0.25
DIP_BONUS = 0.5


@dataclass
class QueueRow:
    agent: Person
    score: float
    reason: str
    top_opportunity: Opportunity | None
    days_since_session: int | None
    due_in_days: int | None  # negative: overdue by that many days
    strengths: list[dict[str, Any]] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        return {
            "agent": {"id": self.agent.pk, "name": self.agent.name},
            "score": round(self.score, 4),
            "reason": self.reason,
            "top_opportunity": self.top_opportunity.as_api() if self.top_opportunity else None,
            "days_since_session": self.days_since_session,
            "due_in_days": self.due_in_days,
            "strengths": self.strengths,
        }


def significant(diagnosis: Diagnosis) -> Opportunity | None:
    return next((o for o in diagnosis.opportunities if o.probability >= FLAG_PROBABILITY), None)


def coaching_queue(
    *,
    team: Team,
    agents: Sequence[Person],
    start: dt.date,
    end: dt.date,
    today: dt.date | None = None,
) -> list[QueueRow]:
    today = today or timezone.localdate()
    program = team.program
    context = shared_context(program=program, start=start, end=end)
    ids = [agent.pk for agent in agents]
    last = coaching_selectors.last_session_by_agent(program=program, agent_ids=ids)
    overdue = coaching_selectors.due_by_cadence(team=team, agent_ids=ids, today=today)
    cadence = max(team.coaching_cadence_days, 1)
    rows = []
    decisions: dict[int, list[OpportunityDecision]] = {}
    for decision in (
        OpportunityDecision.objects.current()
        .filter(program=program, agent_id__in=ids)
        .order_by("-created_at", "-id")
    ):
        decisions.setdefault(decision.agent_id, []).append(decision)
    reports = reports_for(context, agents)
    for agent in agents:
        diagnosis = diagnose(
            agent=agent,
            program=program,
            start=start,
            end=end,
            context=context,
            explained=0,
            report=reports[agent.pk],
        )
        # What the lead dismissed or snoozed does not rank the agent; the next one may.
        diagnosis.opportunities = apply_decisions(
            diagnosis, decisions.get(agent.pk, []), today
        ).active
        top = significant(diagnosis)
        if top is not None:
            # A row shows its top opportunity only: the others need no evidence or goal here.
            explain(
                top,
                agent=agent,
                context=context,
                report=reports[agent.pk],
                skill_name=context.skills[top.skill].name if top.skill else "",
            )
        late = overdue.get(agent.pk)
        new_hire = agent.hire_date is not None and (today - agent.hire_date).days < NEW_HIRE_DAYS
        score = (top.probability if top else 0.0) + min(max(late or 0, 0) / cadence, 1.0)
        score += NEW_HIRE_BONUS if new_hire else 0.0
        score += DIP_BONUS if diagnosis.dips else 0.0
        rows.append(
            QueueRow(
                agent=agent,
                score=score,
                reason=_reason(top, late, new_hire, diagnosis),
                top_opportunity=top,
                days_since_session=(today - last[agent.pk]).days if agent.pk in last else None,
                due_in_days=-late if late is not None else None,
                strengths=diagnosis.strengths,
            )
        )
    return sorted(rows, key=lambda row: (-row.score, row.agent.name))


def _reason(top: Opportunity | None, late: int | None, new_hire: bool, diagnosis: Diagnosis) -> str:
    parts = []
    if top is not None:
        parts.append(f"{top.statement.split('. Work on')[0]} ({100 * top.probability:.0f}% likely)")
    else:
        parts.append("Nothing stands out")
        if diagnosis.strengths:
            parts.append("strong on " + ", ".join(s["label"] for s in diagnosis.strengths[:2]))
    parts += [dip["statement"].rstrip(".") for dip in diagnosis.dips[:1]]
    if late is not None and late > 0:
        parts.append(f"{late} days overdue for a one-to-one")
    elif late is not None:
        parts.append(f"one-to-one due in {-late} days")
    if new_hire:
        parts.append("new hire")
    return "; ".join(parts)

"""What makes an opportunity usable in a conversation: where the gap is concentrated, the calls
that show it, what closing it is worth, a SMART goal draft, and one plain statement built only
from these numbers."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q

from coachloop.interactions.models import Interaction
from coachloop.metrics import kpis
from coachloop.metrics import selectors as kpi_selectors
from coachloop.metrics.display import display_of, format_value
from coachloop.metrics.models import MetricDefinition
from coachloop.org.models import Person
from coachloop.quality.models import Answer, Comment
from coachloop.quality.scoring import CRITICAL_PASS

if TYPE_CHECKING:
    from coachloop.insights.diagnosis import Opportunity, ProgramContext

EVIDENCE = 4
GOAL_WEEKS = 6
DAYS_PER_MONTH = 30.4
# What a metric's contact is, for the evidence query: the contacts that show the gap.
SHOWS_GAP: dict[str, Q] = {
    "fcr": Q(resolved=False) | Q(resolved__isnull=True, fcr_derived=False),
    "transfer_rate": Q(transferred=True),
    "escalation_rate": Q(escalated=True),
    "csat": Q(csat_norm__lte=2),
}


def fmt(definition: MetricDefinition | None, value: float | None) -> str:
    if definition is None:
        return "-" if value is None else f"{100 * value:.0f}%"
    return format_value(value, display_of(definition))


def explain(
    opportunity: Opportunity,
    *,
    agent: Person,
    context: ProgramContext,
    report: kpi_selectors.KpiReport,
    skill_name: str,
) -> None:
    definition = context.definitions.get(opportunity.metric)
    if definition is not None:
        opportunity.concentration = concentration(definition, report)
    opportunity.evidence = evidence(opportunity, agent=agent, context=context)
    opportunity.impact = impact(opportunity, definition, report, context)
    opportunity.goal_draft = goal_draft(opportunity, definition, context, skill_name)
    opportunity.statement = statement(opportunity, definition, skill_name)


def concentration(
    definition: MetricDefinition, report: kpi_selectors.KpiReport
) -> list[dict[str, Any]]:
    """The call types that carry the gap: each one's share of the agent's contacts-weighted gap
    against the rest of the program on the same call type, largest first."""
    if report.peers is None:
        return []
    mine = kpi_selectors.by_call_type(definition, report.rows)
    program = report.peers.by_call_type(definition)
    lines = []
    for call_type, sums in mine.items():
        own = kpis.observe(definition, sums)
        rest = {
            key: value - sums.get(key, 0.0) for key, value in program.get(call_type, {}).items()
        }
        others = kpis.observe(definition, rest)
        if own.value is None or others.value is None or own.n < 1:
            continue
        gap = own.value - others.value
        worse = -gap if definition.direction == "higher" else gap
        lines.append((call_type, own, others, worse * own.n))
    total = sum(weight for *_, weight in lines if weight > 0)
    out: list[dict[str, Any]] = [
        {
            "call_type": call_type or None,
            "share_of_gap": round(weight / total, 4),
            "value": round(own.value or 0.0, 4),
            "peer_value": round(others.value or 0.0, 4),
            "n": int(own.n),
        }
        for call_type, own, others, weight in lines
        if weight > 0 and total > 0
    ]
    return sorted(out, key=lambda line: -float(line["share_of_gap"]))[:5]


def evidence(
    opportunity: Opportunity, *, agent: Person, context: ProgramContext
) -> list[dict[str, Any]]:
    """Three to five contacts that show the gap, chosen to be representative, not the worst:
    first evaluated contacts where a criterion of the skill failed (with the evaluator's
    comment), then contacts that show the metric's failure (on the call type when the gap is
    on one), spread evenly over the period."""
    chosen: list[dict[str, Any]] = []
    criteria = [c["criterion"] for c in opportunity.criteria]
    if criteria:
        failed = list(
            Answer.objects.filter(
                evaluation__agent=agent,
                evaluation__program=context.program,
                evaluation__local_date__range=(context.start, context.end),
                evaluation__status="submitted",
                evaluation__calibration__isnull=True,
                criterion__key__in=criteria,
                credit__lt=CRITICAL_PASS,
            )
            .select_related("criterion", "evaluation")
            .order_by("-evaluation__local_date")[:50]
        )
        comments = {
            (evaluation_id, criterion_id): text
            for evaluation_id, criterion_id, text in Comment.objects.filter(
                evaluation_id__in=[a.evaluation_id for a in failed]
            ).values_list("evaluation_id", "criterion_id", "text")
        }
        # What the evaluator wrote down makes the best evidence: commented answers first.
        failed.sort(key=lambda a: (a.evaluation_id, a.criterion_id) not in comments)
        for answer in failed[:EVIDENCE]:
            comment = comments.get((answer.evaluation_id, answer.criterion_id))
            why = f"QA: failed '{answer.criterion.question}'"
            chosen.append(
                {
                    "interaction_id": answer.evaluation.interaction_id,
                    "evaluation_id": answer.evaluation_id,
                    "why": f"{why}: {comment}" if comment else why,
                }
            )
    contacts = Interaction.objects.filter(
        agent=agent,
        program=context.program,
        local_date__range=(context.start, context.end),
        answered=True,
    ).exclude(pk__in=[item["interaction_id"] for item in chosen])
    if opportunity.call_type:
        contacts = contacts.filter(call_type=opportunity.call_type)
    condition = SHOWS_GAP.get(opportunity.metric)
    if condition is not None:
        contacts = contacts.filter(condition)
    elif opportunity.metric in ("aht", "acw", "hold"):
        column = {"aht": "talk_s", "acw": "acw_s", "hold": "hold_s"}[opportunity.metric]
        contacts = contacts.filter(**{f"{column}__isnull": False}).order_by(F(column).desc())
    else:
        contacts = contacts.none()
    room = max(EVIDENCE - len(chosen), 0)
    if room:
        if opportunity.metric in ("aht", "acw", "hold"):
            # The long quarter, not the longest: typical of the gap, not a freak call.
            ids = list(contacts.values_list("pk", flat=True)[:200])
            ids = ids[len(ids) // 8 :] if len(ids) > 8 else ids
        else:
            ids = list(contacts.order_by("started_at").values_list("pk", flat=True)[:500])
        step = max(len(ids) // room, 1)
        reason = _why(opportunity)
        chosen += [{"interaction_id": pk, "why": reason} for pk in ids[::step][:room]]
    return chosen[: EVIDENCE + 1]


def _why(opportunity: Opportunity) -> str:
    where = f" on {opportunity.call_type}" if opportunity.call_type else ""
    return {
        "fcr": f"not resolved{where}",
        "transfer_rate": f"transferred{where}",
        "escalation_rate": f"escalated{where}",
        "csat": f"CSAT 1-2{where}",
        "aht": f"long handle time{where}",
        "acw": f"long after-call work{where}",
        "hold": f"long hold{where}",
    }.get(opportunity.metric, opportunity.metric)


def impact(
    opportunity: Opportunity,
    definition: MetricDefinition | None,
    report: kpi_selectors.KpiReport,
    context: ProgramContext,
) -> dict[str, Any]:
    """Closing the gap to the peers, in the center's own units per month: repeat contacts,
    agent hours, transfers, escalations, satisfied customers."""
    if definition is None or opportunity.value is None or opportunity.peer_value is None:
        return {"text": "", "per_month": None}
    gap = opportunity.value - opportunity.peer_value
    if definition.direction == "higher":
        gap = -gap
    if gap <= 0:
        return {"text": "", "per_month": None}
    days = (context.end - context.start).days + 1
    monthly = DAYS_PER_MONTH / days
    volume = opportunity.n * monthly
    where = f" on {opportunity.call_type}" if opportunity.call_type else ""
    if opportunity.metric in ("aht", "acw", "hold"):
        hours = gap * volume / 3600
        return {
            "text": f"-{gap:.0f} s {definition.label}{where} = "
            f"about {hours:.0f} agent hours a month",
            "per_month": round(hours, 1),
            "unit": "agent_hours",
        }
    units = {
        "fcr": ("fewer repeat contacts", "repeat_contacts"),
        "transfer_rate": ("fewer transfers", "transfers"),
        "escalation_rate": ("fewer escalations", "escalations"),
        "csat": ("more satisfied customers", "satisfied_customers"),
    }
    words, unit = units.get(opportunity.metric, ("contacts", "contacts"))
    count = gap * volume
    return {
        "text": f"+{100 * gap:.0f} pts {definition.label}{where} = "
        f"about {count:.0f} {words} a month",
        "per_month": round(count, 1),
        "unit": unit,
    }


def goal_draft(
    opportunity: Opportunity,
    definition: MetricDefinition | None,
    context: ProgramContext,
    skill_name: str,
) -> dict[str, Any]:
    """A SMART goal draft: the metric, the baseline with its n, a target the peers show is
    achievable (their figure on the same work), and a deadline six weeks out."""
    target = opportunity.peer_value
    if opportunity.target is not None:
        target = opportunity.target if target is None else target
    deadline = context.end + dt.timedelta(weeks=GOAL_WEEKS)
    if definition is None:  # a QA-only gap: the goal is the criteria's pass rate
        label = opportunity.criteria[0]["label"] if opportunity.criteria else skill_name
        now = None if opportunity.value is None else 1 - opportunity.value
        aim = None if target is None else 1 - target
        return {
            "metric": "qa_pass_rate",
            "call_type": None,
            "skill": opportunity.skill,
            "baseline": None if now is None else round(now, 4),
            "baseline_n": opportunity.n,
            "target": None if aim is None else round(aim, 4),
            "deadline": deadline.isoformat(),
            "text": f"Pass '{label}' on {fmt(None, aim)} of evaluated contacts (now "
            f"{fmt(None, now)}, n={opportunity.n}) by {deadline}, working on {skill_name}.",
        }
    return {
        "metric": opportunity.metric,
        "call_type": opportunity.call_type or None,
        "skill": opportunity.skill,
        "baseline": None if opportunity.value is None else round(opportunity.value, 4),
        "baseline_n": opportunity.n,
        "target": None if target is None else round(target, 4),
        "deadline": deadline.isoformat(),
        "text": (
            f"Bring {definition.label}"
            f"{' on ' + opportunity.call_type if opportunity.call_type else ''} from "
            f"{fmt(definition, opportunity.value)} (n={opportunity.n}) to "
            f"{fmt(definition, target)} by {deadline}, "
            f"working on {skill_name}."
        ),
    }


def statement(
    opportunity: Opportunity, definition: MetricDefinition | None, skill_name: str
) -> str:
    """One plain sentence from the numbers: the gap, where it sits, the behaviour behind it."""
    parts = []
    label = definition.label if definition else "QA"
    where = f" on {opportunity.call_type}" if opportunity.call_type else ""
    if definition is not None:
        parts.append(
            f"{label}{where} {fmt(definition, opportunity.value)} vs peers "
            f"{fmt(definition, opportunity.peer_value)} (n={opportunity.n})"
        )
        top = opportunity.concentration[0] if opportunity.concentration else None
        if top and not opportunity.call_type and top["share_of_gap"] >= 0.5:
            parts.append(f"{100 * top['share_of_gap']:.0f}% of it on {top['call_type']}")
    for criterion in opportunity.criteria[:2]:
        if criterion["fail_rate"] is None:
            continue
        parts.append(
            f"QA: fails '{criterion['label']}' {100 * criterion['fail_rate']:.0f}% vs "
            f"{100 * (criterion['peer_fail_rate'] or 0):.0f}% (n={criterion['n']})"
        )
    return "; ".join(parts) + f". Work on {skill_name}."

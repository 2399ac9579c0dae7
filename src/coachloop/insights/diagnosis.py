"""Diagnosis of one agent: what to coach, why, and the calls that show it.

Measured against the simulator's truth by ``bench/diagnosis.py`` (docs/performance.md).
Concentration, evidence, impact, the goal draft and the statement of each opportunity are in
``explain.py``.

**Every skill of every agent is estimated by a measurement model learned from the program's
own data**, in between-agent standard deviations (positive = worse) with a standard error:

- **QA**: each criterion is put on its own scale first (the agent's mean credit against the
  rest of the program, in the spread of agents' true mean credit, their sampling noise taken
  out), since criteria differ in how much they tell: a 1-5 answer says more than a yes/no that
  nearly everyone passes. A skill's QA reading is the inverse-variance mean of its criteria's.
- **KPIs**: every metric on every call type (channels apart, as a chat's handling time is not a
  call's) is put on the same kind of scale, against the program's median agent. Which skill a
  metric reads is learned across the program's agents: the skill whose QA reading it covaries
  with most, clearly ahead of the next (billing FCR goes with billing knowledge, ACW with
  documentation, escalations with de-escalation); a metric several skills drive alike reads
  none. The covariance is also the metric's loading, and no metric is taken as a pure reading
  of its skill (RESIDUAL_FLOOR).

The readings of a skill are combined as an inverse-variance mean, then **shrunk toward the
agent's own level** by how noisy they are (empirical Bayes; the spread of skills around an
agent's level is estimated from the program): a skill read from 16 yes/no answers does not
outrank one read from thousands of contacts just by being noisy.

A skill is an opportunity when it **stands out from the agent's own profile**: ``probability``
is P(the skill is at least WEAKNESS_SD between-agent SD below the agent's next-weakest skill).
Skills are ranked weakest first by their (shrunk) gap; only the first can be more likely than
not to stand out. This differs from CONTRACTS.md
(P(worse than the target or the peer median)) and is a proposal: agents differ naturally on
every skill, and with thousands of contacts the contract's probability is near 1 for most
agents on something (78% false flags in the bench), while a coachable weakness is a skill well
below the agent's others. The agent's relatively weakest skill is always listed, however
unlikely it is to stand out, so that a lead sees where to look first; flagged at 0.8.

A gap the agent shares with everyone is not the agent's to fix. **Program issues** are found on
each rate metric and call type by comparing the program with itself over time: a drop of 3
standard errors from the previous window of the same length (or from the window's first half to
its second) is a process or tooling problem for the manager (``gap_kind: not_controllable``),
whatever the agent's own figure.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Sum
from scipy import special

from coachloop.insights.explain import explain
from coachloop.learning.models import Skill, SkillKind
from coachloop.metrics import kpis
from coachloop.metrics import selectors as kpi_selectors
from coachloop.metrics.models import DailyRollup, MetricDefinition
from coachloop.org.models import Person, Program
from coachloop.quality import analytics
from coachloop.quality.models import Answer, Evaluation

# The metrics a skill can move; queue metrics and activity ratios are not a coaching matter.
DIAGNOSED = ("fcr", "aht", "csat", "transfer_rate", "escalation_rate", "acw", "hold")
MIN_AGENTS_FOR_DRIVER = 10  # agents with both readings before a metric is linked to a skill
# A metric reads the skill it covaries with most only when that skill is this far ahead of the
# next (in covariance of SD-scaled readings): customer satisfaction, which resolution and
# empathy both drive, reads neither.
DRIVER_LEAD = 0.15
# A reading is divided by its metric's loading: a weak link is taken as this one, so that a
# small (noisy) covariance does not blow the reading up.
MIN_LOADING = 0.3
# No metric is a pure reading of one skill (case mix, the other skills, luck): at least this
# share of its between-agent variance is taken as someone else's doing.
RESIDUAL_FLOOR = 0.1
MIN_SPREAD_AGENTS = 3  # agents with MIN_ANSWERS answers, or MIN_CALL_TYPE_N contacts, per scale
MIN_ANSWERS = 3
MIN_CALL_TYPE_N = 10
# Answers that never vary (a few evaluations in a small program) are not certainty; real
# criteria vary more within an agent (0.03-0.19 in the bench), so this floor rarely applies.
CREDIT_VARIANCE_FLOOR = 0.02
LISTED = 0.05  # besides the agent's weakest skill, skills less likely than this are not listed
# A weakness is a skill at least this far (in between-agent SD) below the agent's others.
WEAKNESS_SD = 1.0
RECENT_DAYS = 14  # a dip is the last two weeks against the whole window
CHANGE_Z = 2.0  # an improvement or a dip needs a change this many standard errors deep
PROGRAM_DROP_Z = 3.0  # a program-wide drop this many standard errors deep is a program issue


@dataclass(frozen=True)
class Reading:
    """A gap in between-agent standard deviations (positive = worse) and its standard error."""

    gap: float
    error: float


@dataclass(frozen=True)
class Side:
    """What a lead is shown of a skill's gap: the metric, the agent's figure and the reference
    (the rest of the program on the same work)."""

    metric: str
    value: float | None
    reference: float | None
    n: float
    call_type: str = ""


@dataclass
class Opportunity:
    metric: str
    skill: str | None
    gap_kind: str  # knowledge | skill | not_controllable
    value: float | None
    target: float | None
    peer_median: float | None
    n: int
    interval: tuple[float, float] | None
    probability: float
    size: float
    call_type: str = ""
    peer_value: float | None = None  # the rest of the program on the same work
    concentration: list[dict[str, Any]] = field(default_factory=list)
    criteria: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    impact: dict[str, Any] = field(default_factory=dict)
    goal_draft: dict[str, Any] = field(default_factory=dict)
    statement: str = ""

    @property
    def key(self) -> str:
        return f"{self.metric}:{self.skill or self.call_type or '-'}"

    @property
    def score(self) -> float:
        return self.probability

    def as_api(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "metric": self.metric,
            "skill": self.skill,
            "gap_kind": self.gap_kind,
            "call_type": self.call_type or None,
            "value": _round(self.value),
            "target": _round(self.target),
            "peer_median": _round(self.peer_median),
            "n": self.n,
            "interval": [_round(x) for x in self.interval] if self.interval else None,
            "probability": round(self.probability, 4),
            "concentration": self.concentration,
            "criteria": self.criteria,
            "evidence": self.evidence,
            "impact": self.impact,
            "goal_draft": self.goal_draft,
            "statement": self.statement,
        }


@dataclass
class Diagnosis:
    agent: Person
    program: Program
    start: dt.date
    end: dt.date
    opportunities: list[Opportunity]
    strengths: list[dict[str, Any]]
    program_issues: list[Opportunity]
    dips: list[dict[str, Any]] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        return {
            "agent": self.agent.pk,
            "program": self.program.code,
            "start": self.start,
            "end": self.end,
            "opportunities": [o.as_api() for o in self.opportunities],
            "strengths": self.strengths,
            "program_issues": [o.as_api() for o in self.program_issues],
            "dips": self.dips,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def probability_of(z: float) -> float:
    return float(special.ndtr(z))


def oriented(definition: MetricDefinition, gap: float) -> float:
    """A gap (agent minus reference) with the sign turned so that positive is worse."""
    return -gap if definition.direction == "higher" else gap


# --- the program's context, shared by every agent of a diagnosis run --------------------------

Credits = dict[str, dict[int, tuple[float, float, float]]]  # criterion -> agent -> (n, sum, sq)
MetricKey = tuple[str, str]  # (metric, call type)


@dataclass
class SkillModel:
    """Every agent's reading of every skill, and what the program's data says about them."""

    estimates: dict[int, dict[str, Reading]]  # agent -> skill -> combined reading
    drivers: dict[MetricKey, tuple[str, float]]  # metric on a call type -> (skill, loading)
    metric_readings: dict[MetricKey, dict[int, Reading]]
    # How far an agent's skills spread around the agent's own level (in between-agent
    # variance); None without enough agents to tell, and then readings are not shrunk.
    specific_variance: float | None


@dataclass
class ProgramContext:
    program: Program
    start: dt.date
    end: dt.date
    definitions: dict[str, MetricDefinition]
    agents: dict[int, dict[str, kpis.Observation]]
    median: dict[str, float | None]
    better_quartile: dict[str, float | None]  # the 75th percentile, direction aware
    skills: dict[str, Skill]
    criterion_skills: dict[str, tuple[str, ...]]
    criterion_labels: dict[str, str]
    counts: analytics.Counts
    previous: dict[int, dict[str, kpis.Observation]]  # the window of the same length before
    recent: dict[int, dict[str, kpis.Observation]]  # the window's last RECENT_DAYS days
    credits: Credits
    model: SkillModel
    issues: list[Opportunity]
    # The program's sums over the window, which every agent's report compares with.
    peers: kpi_selectors.Peers
    # Every agent's criterion fail rates against the rest, from ``counts``.
    fail_index: analytics.FailRateIndex


def program_context(*, program: Program, start: dt.date, end: dt.date) -> ProgramContext:
    definitions = {d.slug: d for d in kpi_selectors.definitions_for(program, list(DIAGNOSED))}
    agents = kpi_selectors.agent_values(
        program=program, start=start, end=end, definitions=list(definitions.values())
    )
    median: dict[str, float | None] = {}
    quartile: dict[str, float | None] = {}
    for slug, definition in definitions.items():
        values = [
            float(obs[slug].value or 0.0)
            for obs in agents.values()
            if obs[slug].value is not None and obs[slug].n >= max(definition.min_n, 1)
        ]
        median[slug] = statistics.median(values) if values else None
        if len(values) >= 4:
            cuts = statistics.quantiles(values, n=4)
            quartile[slug] = cuts[0] if definition.direction == "lower" else cuts[2]
        else:
            quartile[slug] = None
    labels, criterion_skills = analytics.criterion_labels(program)
    credits = _criterion_credits(program, start, end)
    counts = analytics.criterion_counts(program=program, start=start, end=end)
    context = ProgramContext(
        program=program,
        start=start,
        end=end,
        definitions=definitions,
        agents=agents,
        median=median,
        better_quartile=quartile,
        skills={skill.key: skill for skill in Skill.objects.all()},
        criterion_skills=criterion_skills,
        criterion_labels=labels,
        counts=counts,
        previous=kpi_selectors.agent_values(
            program=program,
            start=start - dt.timedelta(days=(end - start).days + 1),
            end=start - dt.timedelta(days=1),
            definitions=list(definitions.values()),
        ),
        recent=kpi_selectors.agent_values(
            program=program,
            start=max(start, end - dt.timedelta(days=RECENT_DAYS - 1)),
            end=end,
            definitions=list(definitions.values()),
        ),
        credits=credits,
        model=skill_model(
            credits=credits,
            criterion_skills=criterion_skills,
            metric_readings=_metric_readings(program, start, end, definitions),
        ),
        issues=[],
        peers=kpi_selectors.peers_for(program, start, end, list(definitions.values())),
        fail_index=analytics.FailRateIndex(counts, labels=labels, skills=criterion_skills),
    )
    context.issues = program_issues(context)
    return context


def _criterion_credits(program: Program, start: dt.date, end: dt.date) -> Credits:
    """Per criterion and agent: answers (N/A aside), and the sum and sum of squares of their
    credit. Credit keeps what a 1-5 scale says (a 3 is not a 1), which a pass/fail line throws
    away."""
    rows = (
        Answer.objects.filter(
            evaluation__in=Evaluation.objects.counted().filter(
                program=program, local_date__range=(start, end)
            ),
            credit__isnull=False,
        )
        .values_list("evaluation__agent_id", "criterion__key")
        .annotate(n=Count("id"), total=Sum("credit"), square=Sum(F("credit") * F("credit")))
        .order_by()
    )
    out: Credits = {}
    for agent, key, n, total, square in rows:
        out.setdefault(key, {})[agent] = (float(n), float(total), float(square))
    return out


# --- the measurement model ---------------------------------------------------------------------


def skill_model(
    *,
    credits: Credits,
    criterion_skills: dict[str, tuple[str, ...]],
    metric_readings: dict[MetricKey, dict[int, Reading]],
) -> SkillModel:
    """Readings of every skill of every agent: QA's, and the metrics' that covary with them."""
    qa = _qa_readings(_criterion_readings(credits), criterion_skills)
    drivers = _drivers(metric_readings, qa)
    pooled: dict[int, dict[str, list[Reading]]] = {}
    for skill, by_agent in qa.items():
        for agent, reading in by_agent.items():
            pooled.setdefault(agent, {}).setdefault(skill, []).append(reading)
    for key, (skill, loading) in drivers.items():
        residual = max(1 - loading**2, RESIDUAL_FLOOR)
        for agent, reading in metric_readings[key].items():
            pooled.setdefault(agent, {}).setdefault(skill, []).append(
                Reading(reading.gap / loading, math.sqrt(reading.error**2 + residual) / loading)
            )
    estimates = {
        agent: {skill: _pooled(readings) for skill, readings in by_skill.items()}
        for agent, by_skill in pooled.items()
    }
    return SkillModel(
        estimates=estimates,
        drivers=drivers,
        metric_readings=metric_readings,
        specific_variance=_specific_variance(estimates),
    )


def _pooled(readings: Iterable[Reading]) -> Reading:
    """The inverse-variance mean of independent readings of the same thing."""
    weights = [(1 / r.error**2, r) for r in readings]
    total = sum(w for w, _ in weights)
    return Reading(sum(w * r.gap for w, r in weights) / total, math.sqrt(1 / total))


def _scaled(
    observed: dict[int, tuple[float, float]],
    settled: set[int],
    *,
    worse_if_higher: bool,
    against_median: bool,
) -> dict[int, Reading] | None:
    """Agents' (value, sampling variance) on one scale as readings in between-agent SD. The
    scale is the spread of the ``settled`` agents' (those with enough data) true values: the
    spread of what is observed less the sampling noise. Each agent is read against the settled
    agents' median (the typical agent, whom the few agents far behind on a skill do not drag
    along as they drag a mean), or against the mean of the rest of them."""
    if len(settled) < MIN_SPREAD_AGENTS:
        return None
    values = [observed[agent][0] for agent in settled]
    true_variance = statistics.pvariance(values) - statistics.fmean(
        observed[agent][1] for agent in settled
    )
    if true_variance <= 0:
        return None
    spread = math.sqrt(true_variance)
    median, total, count = statistics.median(values), sum(values), len(values)
    sign = 1.0 if worse_if_higher else -1.0
    out = {}
    for agent, (value, variance) in observed.items():
        mine = agent in settled
        typical = median if against_median else (total - value * mine) / (count - mine)
        out[agent] = Reading(sign * (value - typical) / spread, math.sqrt(variance) / spread)
    return out


def _criterion_readings(credits: Credits) -> dict[str, dict[int, Reading]]:
    """Each criterion on its own scale. The sampling variance of an agent's mean credit uses the
    criterion's pooled within-agent variance (three perfect answers are not certainty), floored
    for answers that never vary in a small program. Agents with a few answers are read too
    (with their larger error), not used for the scale."""
    out = {}
    for key, by_agent in credits.items():
        answers = sum(n for n, _, _ in by_agent.values())
        within_sum = sum(square - total * total / n for n, total, square in by_agent.values())
        within = max(within_sum / max(answers - len(by_agent), 1), CREDIT_VARIANCE_FLOOR)
        observed = {agent: (total / n, within / n) for agent, (n, total, _) in by_agent.items()}
        settled = {agent for agent, (n, _, _) in by_agent.items() if n >= MIN_ANSWERS}
        # Against the rest's mean, not the median: on a criterion nearly everyone passes the
        # median agent has full credit, and the median says nothing more.
        scaled = _scaled(observed, settled, worse_if_higher=False, against_median=False)
        if scaled is not None:
            out[key] = scaled
    return out


def _qa_readings(
    criteria: dict[str, dict[int, Reading]], criterion_skills: dict[str, tuple[str, ...]]
) -> dict[str, dict[int, Reading]]:
    """skill -> agent -> the pooled reading of the skill's criteria."""
    gathered: dict[str, dict[int, list[Reading]]] = {}
    for key, by_agent in criteria.items():
        for skill in criterion_skills.get(key, ()):
            for agent, reading in by_agent.items():
                gathered.setdefault(skill, {}).setdefault(agent, []).append(reading)
    return {
        skill: {agent: _pooled(readings) for agent, readings in by_agent.items()}
        for skill, by_agent in gathered.items()
    }


def _metric_readings(
    program: Program, start: dt.date, end: dt.date, definitions: dict[str, MetricDefinition]
) -> dict[MetricKey, dict[int, Reading]]:
    """Every metric on every call type as readings per agent: each (channel, call type) on its
    own scale, then an agent's channels pooled."""
    rows = kpi_selectors.grouped_sums(
        DailyRollup,
        {"program_id": program.pk, "excluded": False, "date__gte": start, "date__lte": end},
        ["agent_id", "channel", "call_type"],
        kpis.measures_of(definitions.values()),
    )
    cells: dict[tuple[str, str, str], dict[int, tuple[float, float]]] = {}
    for dims, sums in rows:
        if dims["agent_id"] is None:
            continue
        for slug, definition in definitions.items():
            observation = kpis.observe(definition, sums)
            if (
                observation.value is None
                or observation.n < MIN_CALL_TYPE_N
                or not 0 < observation.variance < math.inf
            ):
                continue
            cell = (slug, dims["call_type"] or "", dims["channel"] or "")
            cells.setdefault(cell, {})[dims["agent_id"]] = (
                observation.value,
                observation.variance,
            )
    gathered: dict[MetricKey, dict[int, list[Reading]]] = {}
    for (slug, call_type, _channel), observed in cells.items():
        scaled = _scaled(
            observed,
            set(observed),
            worse_if_higher=definitions[slug].direction != "higher",
            against_median=True,
        )
        for agent, reading in (scaled or {}).items():
            gathered.setdefault((slug, call_type), {}).setdefault(agent, []).append(reading)
    return {
        key: {agent: _pooled(readings) for agent, readings in by_agent.items()}
        for key, by_agent in gathered.items()
    }


def _drivers(
    metric_readings: dict[MetricKey, dict[int, Reading]],
    qa: dict[str, dict[int, Reading]],
) -> dict[MetricKey, tuple[str, float]]:
    """The skill each metric reads, with its loading: the covariance across agents of the
    metric's readings with each skill's QA readings (both in SD of true values, and their
    sampling noise independent, so the covariance estimates how much of the metric moves with
    one SD of the skill). Only when one skill is clearly ahead of the next."""
    out = {}
    for key, by_agent in metric_readings.items():
        covariances = {}
        for skill, qa_by_agent in qa.items():
            pairs = [
                (reading.gap, qa_by_agent[agent].gap)
                for agent, reading in by_agent.items()
                if agent in qa_by_agent
            ]
            if len(pairs) >= MIN_AGENTS_FOR_DRIVER:
                covariances[skill] = _covariance(pairs)
        ranked = sorted(covariances.items(), key=lambda item: -item[1])
        if len(ranked) < 2 or ranked[0][1] - ranked[1][1] < DRIVER_LEAD:
            continue
        skill, covariance = ranked[0]
        out[key] = (skill, min(max(covariance, MIN_LOADING), 1.0))
    return out


def _covariance(pairs: list[tuple[float, float]]) -> float:
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    return statistics.fmean((x - mean_x) * (y - mean_y) for x, y in pairs)


def _specific_variance(estimates: dict[int, dict[str, Reading]]) -> float | None:
    """How far an agent's skills spread around the agent's own level, in between-agent
    variance (method of moments: the squared deviations from the agent's mean skill, less their
    sampling variance)."""
    deviations, noise = [], []
    for by_skill in estimates.values():
        k = len(by_skill)
        if k < 3:
            continue
        level = statistics.fmean(r.gap for r in by_skill.values())
        for reading in by_skill.values():
            deviations.append((reading.gap - level) ** 2 * k / (k - 1))
            noise.append(reading.error**2)
    if len(estimates) < MIN_AGENTS_FOR_DRIVER or not deviations:
        return None
    variance = statistics.fmean(deviations) - statistics.fmean(noise)
    return variance if variance > 0 else None


# --- one agent ---------------------------------------------------------------------------------


def diagnose(
    *,
    agent: Person,
    program: Program,
    start: dt.date,
    end: dt.date,
    context: ProgramContext | None = None,
    explained: int | None = None,
    report: kpi_selectors.KpiReport | None = None,
) -> Diagnosis:
    """``explained`` limits the opportunities given evidence, impact, a goal draft and a
    statement to the first few (the queue shows only the top one); None explains all.
    ``report`` is the agent's KPI report over the window, when the caller read it already
    (a queue reads its agents' together)."""
    context = context or program_context(program=program, start=start, end=end)
    if report is None:
        report = reports_for(context, [agent])[agent.pk]
    kpi_by_slug = report.by_slug()
    criterion_fails = context.fail_index.rates(agent_id=agent.pk)
    estimates = {
        key: reading
        for key, reading in context.model.estimates.get(agent.pk, {}).items()
        if key in context.skills
    }
    beliefs = shrunk(estimates, context.model.specific_variance)
    # Weakest first by the (shrunk) gap: what the agent is relatively worst at. Only the first
    # can be more likely than not to stand out (every other one is compared with it), so the
    # order by gap is also the order by probability wherever that matters.
    ranked = sorted(
        ((key, stand_out(key, beliefs)) for key in beliefs), key=lambda item: -beliefs[item[0]].gap
    )
    opportunities = [
        _skill_opportunity(
            context.skills[key],
            context,
            report,
            agent.pk,
            criterion_fails,
            probability=probability,
            gap=beliefs[key].gap,
        )
        for rank, (key, probability) in enumerate(ranked)
        if len(beliefs) >= 2 and (rank == 0 or probability >= LISTED)
    ]
    for opportunity in opportunities[:explained]:
        explain(
            opportunity,
            agent=agent,
            context=context,
            report=report,
            skill_name=context.skills[opportunity.skill].name if opportunity.skill else "",
        )
    return Diagnosis(
        agent=agent,
        program=program,
        start=start,
        end=end,
        opportunities=opportunities,
        strengths=_strengths(context, kpi_by_slug, agent) + _improvements(context, agent),
        dips=_dips(context, agent),
        program_issues=list(context.issues),
    )


def reports_for(
    context: ProgramContext, agents: Sequence[Person]
) -> dict[int, kpi_selectors.KpiReport]:
    """The agents' KPI reports over the context's window, read together."""
    return kpi_selectors.agent_reports(
        program=context.program,
        agents=agents,
        start=context.start,
        end=context.end,
        definitions=list(context.definitions.values()),
        peers=context.peers,
    )


def shrunk(estimates: dict[str, Reading], specific_variance: float | None) -> dict[str, Reading]:
    """Each skill's reading pulled toward the agent's own level by how noisy it is (the
    posterior under a normal prior around that level): otherwise the skills read from a handful
    of answers would top every list by chance."""
    if specific_variance is None or len(estimates) < 2:
        return dict(estimates)
    weights = {key: 1 / (specific_variance + r.error**2) for key, r in estimates.items()}
    level = sum(weights[key] * r.gap for key, r in estimates.items()) / sum(weights.values())
    out = {}
    for key, reading in estimates.items():
        kept = specific_variance / (specific_variance + reading.error**2)
        out[key] = Reading(level + kept * (reading.gap - level), math.sqrt(kept) * reading.error)
    return out


def stand_out(key: str, beliefs: dict[str, Reading]) -> float:
    """P(the skill's gap exceeds the agent's next-worst skill's by WEAKNESS_SD): a weakness is a
    skill well below the agent's others, not a gap the agent has on everything."""
    mine = beliefs[key]
    others = [reading for other, reading in beliefs.items() if other != key]
    if not others:
        return 0.0
    runner = max(others, key=lambda reading: reading.gap)
    z = (mine.gap - runner.gap - WEAKNESS_SD) / math.sqrt(mine.error**2 + runner.error**2)
    return probability_of(z)


def _skill_opportunity(
    skill: Skill,
    context: ProgramContext,
    report: kpi_selectors.KpiReport,
    agent_id: int,
    criterion_fails: list[analytics.FailRate],
    *,
    probability: float,
    gap: float,
) -> Opportunity:
    shown = _metric_shown(skill.key, context, report, agent_id) or _qa_shown(
        context, skill.key, agent_id
    )
    kpi = report.by_slug().get(shown.metric)
    linked = [
        {
            "criterion": rate.key,
            "label": rate.label,
            "fail_rate": _round(rate.fail_rate),
            "peer_fail_rate": _round(rate.peer_fail_rate),
            "n": rate.n,
        }
        for rate in criterion_fails
        if skill.key in rate.skills and rate.n
    ]
    return Opportunity(
        metric=shown.metric,
        skill=skill.key,
        gap_kind="knowledge" if skill.kind == SkillKind.KNOWLEDGE else "skill",
        value=shown.value,
        target=kpi.target.value if kpi is not None and kpi.target else None,
        peer_median=context.median.get(shown.metric),
        n=int(shown.n),
        interval=kpi.interval if kpi is not None and not shown.call_type else None,
        probability=probability,
        size=max(gap, 0.0),
        call_type=shown.call_type,
        peer_value=shown.reference,
        criteria=linked,
    )


def _qa_shown(context: ProgramContext, skill: str, agent_id: int) -> Side:
    """The share of credit the agent loses on the skill's criteria, against the others."""
    mine, peers = [0.0, 0.0], [0.0, 0.0]
    for key, by_agent in context.credits.items():
        if skill not in context.criterion_skills.get(key, ()):
            continue
        for agent, (n, total, _) in by_agent.items():
            into = mine if agent == agent_id else peers
            into[0] += n
            into[1] += total
    return Side(
        metric="qa_score",
        value=1 - mine[1] / mine[0] if mine[0] else None,
        reference=1 - peers[1] / peers[0] if peers[0] else None,
        n=mine[0],
    )


def _metric_shown(
    skill: str, context: ProgramContext, report: kpi_selectors.KpiReport, agent_id: int
) -> Side | None:
    """The metric that shows the skill's gap best for this agent (the largest gap in standard
    errors among the metrics the skill drives): on its call type when the skill drives it on one
    call type (FCR on billing), over the program when on several (escalations)."""
    model = context.model
    read = [
        (reading.gap / reading.error, key)
        for key, (driven, _) in model.drivers.items()
        if driven == skill and (reading := model.metric_readings[key].get(agent_id))
    ]
    if not read:
        return None
    _, (slug, call_type) = max(read)
    call_types = {ct for (m, ct), (s, _) in model.drivers.items() if s == skill and m == slug}
    if len(call_types) > 1:
        return _overall_side(context, report, slug)
    return _call_type_side(context, report, slug, call_type)


def _gap_side(
    definition: MetricDefinition,
    mine: kpis.Observation,
    others: kpis.Observation,
    *,
    expected: float | None = None,
    call_type: str = "",
) -> Side | None:
    if mine.value is None or others.value is None:
        return None
    return Side(
        metric=definition.slug,
        value=mine.value,
        reference=expected if expected is not None else others.value,
        n=mine.n,
        call_type=call_type,
    )


def _minus(total: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    return {key: value - part.get(key, 0.0) for key, value in total.items()}


def _call_type_side(
    context: ProgramContext, report: kpi_selectors.KpiReport, slug: str, call_type: str
) -> Side | None:
    definition = context.definitions.get(slug)
    if definition is None or report.peers is None:
        return None
    mine = kpi_selectors.by_call_type(definition, report.rows).get(call_type, {})
    program = report.peers.by_call_type(definition).get(call_type, {})
    return _gap_side(
        definition,
        kpis.observe(definition, mine),
        kpis.observe(definition, _minus(program, mine)),
        call_type=call_type,
    )


def _overall_side(
    context: ProgramContext, report: kpi_selectors.KpiReport, slug: str
) -> Side | None:
    definition = context.definitions.get(slug)
    if definition is None or report.peers is None:
        return None
    mine: dict[str, float] = {}
    program: dict[str, float] = {}
    for sums in kpi_selectors.by_call_type(definition, report.rows).values():
        kpis.add_sums(mine, sums)
    for sums in report.peers.by_call_type(definition).values():
        kpis.add_sums(program, sums)
    kpi = report.by_slug().get(slug)
    return _gap_side(
        definition,
        kpis.observe(definition, mine),
        kpis.observe(definition, _minus(program, mine)),
        expected=kpi.expected if kpi is not None and definition.case_mix else None,
    )


# --- strengths ---------------------------------------------------------------------------------


def _strengths(
    context: ProgramContext, kpi_by_slug: dict[str, kpis.Kpi], agent: Person
) -> list[dict[str, Any]]:
    """Metrics where the agent is in the program's best quartile with enough data."""
    out = []
    for slug, kpi in kpi_by_slug.items():
        quartile = context.better_quartile.get(slug)
        definition = context.definitions[slug]
        if kpi.value is None or quartile is None or kpi.n < max(definition.min_n, 1):
            continue
        if kpis.is_worse(definition, quartile, kpi.value) or kpi.value == quartile:
            out.append(
                {
                    "metric": slug,
                    "label": definition.label,
                    "kind": "best_quarter",
                    "value": _round(kpi.value),
                    "peer_median": _round(context.median.get(slug)),
                    "n": int(kpi.n),
                    "statement": f"{definition.label} {_fmt(definition, kpi.value)} is in the "
                    f"program's best quarter (median {_fmt(definition, context.median.get(slug))},"
                    f" n={int(kpi.n)}).",
                }
            )
    return out


def _changes(
    before: kpis.Observation | None,
    after: kpis.Observation | None,
    definition: MetricDefinition,
) -> float | None:
    """How many standard errors ``after`` is better than ``before`` (negative: worse); None
    without enough data on either side."""
    if before is None or after is None or before.value is None or after.value is None:
        return None
    if min(before.n, after.n) < max(definition.min_n, 1):
        return None
    error = (max(before.variance, 0.0) + max(after.variance, 0.0)) ** 0.5
    if error == 0:
        return None
    return -oriented(definition, after.value - before.value) / error


def _improvements(context: ProgramContext, agent: Person) -> list[dict[str, Any]]:
    """Real improvements since the previous window of the same length: wins to open with."""
    out = []
    for slug, definition in context.definitions.items():
        before = context.previous.get(agent.pk, {}).get(slug)
        now = context.agents.get(agent.pk, {}).get(slug)
        z = _changes(before, now, definition)
        if z is None or z < CHANGE_Z or before is None or now is None:
            continue
        out.append(
            {
                "metric": slug,
                "label": definition.label,
                "kind": "improvement",
                "value": _round(now.value),
                "previous": _round(before.value),
                "n": int(now.n),
                "statement": f"{definition.label} improved from {_fmt(definition, before.value)}"
                f" to {_fmt(definition, now.value)} (n={int(before.n)} then, {int(now.n)} now).",
            }
        )
    return out


def _dips(context: ProgramContext, agent: Person) -> list[dict[str, Any]]:
    """Metrics that fell in the last two weeks against the agent's own whole window."""
    out = []
    for slug, definition in context.definitions.items():
        window = context.agents.get(agent.pk, {}).get(slug)
        recent = context.recent.get(agent.pk, {}).get(slug)
        z = _changes(window, recent, definition)
        if z is None or z > -CHANGE_Z or window is None or recent is None:
            continue
        out.append(
            {
                "metric": slug,
                "label": definition.label,
                "value": _round(recent.value),
                "before": _round(window.value),
                "n": int(recent.n),
                "statement": f"{definition.label} dipped to {_fmt(definition, recent.value)} in "
                f"the last {RECENT_DAYS} days (from {_fmt(definition, window.value)}, "
                f"n={int(recent.n)}).",
            }
        )
    return out


def _fmt(definition: MetricDefinition, value: float | None) -> str:
    from coachloop.metrics.display import display_of, format_value

    return format_value(value, display_of(definition))


# --- program issues ----------------------------------------------------------------------------


def program_issues(context: ProgramContext) -> list[Opportunity]:
    """(metric, call type) pairs on which the whole program dropped, significantly (3 standard
    errors), from the previous window of the same length (or, with no history before the
    window, from the window's first half to its second). A drop of the whole program's figure
    on hundreds of contacts is not one agent's doing."""
    definitions = list(context.definitions.values())
    length = (context.end - context.start).days + 1
    before_end = context.start - dt.timedelta(days=1)
    then = kpi_selectors.peers_for(
        context.program, before_end - dt.timedelta(days=length - 1), before_end, definitions
    )
    now = kpi_selectors.peers_for(context.program, context.start, context.end, definitions)
    if not then.rows:
        # No history before the window: compare its second half with its first.
        middle = context.start + dt.timedelta(days=length // 2)
        then = kpi_selectors.peers_for(
            context.program, context.start, middle - dt.timedelta(days=1), definitions
        )
        now = kpi_selectors.peers_for(context.program, middle, context.end, definitions)
    issues = []
    for slug, definition in context.definitions.items():
        if definition.kind != "rate":
            continue
        current = now.by_call_type(definition)
        previous = then.by_call_type(definition)
        for call_type, sums in current.items():
            a = kpis.observe(definition, sums)
            b = kpis.observe(definition, previous.get(call_type, {}))
            if a.value is None or b.value is None or a.n < 50 or b.n < 50:
                continue
            error = math.sqrt(a.variance + b.variance)
            if error == 0:
                continue
            z = oriented(definition, a.value - b.value) / error
            if z < PROGRAM_DROP_Z:
                continue
            issues.append(
                Opportunity(
                    metric=slug,
                    skill=None,
                    gap_kind="not_controllable",
                    value=a.value,
                    target=None,
                    peer_median=b.value,
                    n=int(a.n),
                    interval=None,
                    probability=probability_of(z),
                    size=z,
                    call_type=call_type,
                    statement=(
                        f"{definition.label} on {call_type or 'contacts without a call type'} "
                        f"went from {_fmt(definition, b.value)} to {_fmt(definition, a.value)} "
                        f"for the whole program (n={int(b.n)} then, {int(a.n)} now): a process "
                        "or tooling problem for the manager, not coaching."
                    ),
                )
            )
    return sorted(issues, key=lambda o: -o.size)

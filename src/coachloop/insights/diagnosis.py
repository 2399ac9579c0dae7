"""Diagnosis of one agent: what to coach, why, and the calls that show it.

**A first cut (issue 6 is open)**, measured against the simulator's truth by
``bench/diagnosis.py`` (docs/performance.md). Concentration, evidence, impact, the goal draft and
the statement of each opportunity are in ``explain.py``.

For every skill in the catalog the evidence comes from two independent places, each expressed
as a gap in between-agent standard deviations (positive = worse) with its standard error:

- **QA**: how much less credit the agent earns on the criteria linked to the skill than the
  rest of the program (credit keeps what a 1-5 scale says);
- **KPIs**: the metric the skill moves, against the rest of the program on the same work. A
  knowledge skill is about one call type, so it is read on that call type (FCR and AHT on
  billing for billing knowledge, in that call type's spread); a behaviour skill is read on the
  metric its criteria go with across the program's agents beyond general ability (partial
  correlation of the criterion's fail rate with each metric given the agent's overall fail
  rate), case-mix adjusted where the metric has case mix, and only when QA points at the
  behaviour too.

The two are combined as an inverse-variance mean. A skill is an opportunity when it **stands
out from the agent's own profile**: ``probability`` is P(its gap exceeds the gap of the
agent's next-worst skill by MARGIN_SD), and opportunities are ranked by it. This differs from
CONTRACTS.md (P(worse than the target or the peer median)) and is a proposal: agents differ
naturally on every skill, and with thousands of contacts the contract's probability is near 1
for most agents on something (78% false flags in the bench), while a coachable weakness is a
skill well below the agent's others.

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
KNOWLEDGE_METRICS = ("fcr", "aht")  # what a knowledge gap on one call type shows in
MIN_AGENTS_FOR_ASSOCIATION = 10
MIN_ASSOCIATION = 0.15  # |correlation| below this links a criterion to no metric
LISTED = 0.05  # opportunities less likely than this to stand out are not listed
# A gap is "real" when it is larger than this share of the between-agent spread: agents differ
# naturally on every skill, and coaching someone a hair below the median is not an opportunity.
MARGIN_SD = 0.75
CREDIT_VARIANCE_FLOOR = 0.05
MIN_CALL_TYPE_N = 10
RECENT_DAYS = 14  # a dip is the last two weeks against the whole window
CHANGE_Z = 2.0  # an improvement or a dip needs a change this many standard errors deep
PROGRAM_DROP_Z = 3.0  # a program-wide drop this many standard errors deep is a program issue


@dataclass(frozen=True)
class Side:
    """One source of evidence on a skill: an oriented gap (positive = worse) and its z."""

    metric: str
    value: float | None
    reference: float | None
    n: float
    effect: float  # the gap in between-agent standard deviations (positive = worse)
    effect_se: float  # its standard error, in the same unit
    call_type: str = ""

    @property
    def size(self) -> float:
        return max(self.effect, 0.0)


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


@dataclass
class ProgramContext:
    program: Program
    start: dt.date
    end: dt.date
    definitions: dict[str, MetricDefinition]
    agents: dict[int, dict[str, kpis.Observation]]
    spread: dict[str, float]  # between-agent standard deviation per metric
    call_type_spread: dict[tuple[str, str], float]  # ... per metric on one call type
    median: dict[str, float | None]
    better_quartile: dict[str, float | None]  # the 75th percentile, direction aware
    association: dict[str, list[tuple[str, float]]]  # criterion -> [(metric, correlation)]
    skills: dict[str, Skill]
    criterion_skills: dict[str, tuple[str, ...]]
    criterion_labels: dict[str, str]
    counts: analytics.Counts
    previous: dict[int, dict[str, kpis.Observation]]  # the window of the same length before
    recent: dict[int, dict[str, kpis.Observation]]  # the window's last RECENT_DAYS days
    skill_spread: dict[str, float]  # between-agent SD of each skill's mean credit
    credits: dict[str, dict[int, tuple[float, float, float]]]  # skill -> agent -> (n, sum, sq)
    issues: list[Opportunity]


def program_context(*, program: Program, start: dt.date, end: dt.date) -> ProgramContext:
    definitions = {d.slug: d for d in kpi_selectors.definitions_for(program, list(DIAGNOSED))}
    agents = kpi_selectors.agent_values(
        program=program, start=start, end=end, definitions=list(definitions.values())
    )
    spread: dict[str, float] = {}
    median: dict[str, float | None] = {}
    quartile: dict[str, float | None] = {}
    for slug, definition in definitions.items():
        values = [
            float(obs[slug].value or 0.0)
            for obs in agents.values()
            if obs[slug].value is not None and obs[slug].n >= max(definition.min_n, 1)
        ]
        spread[slug] = statistics.pstdev(values) if len(values) >= 3 else 0.0
        median[slug] = statistics.median(values) if values else None
        if len(values) >= 4:
            cuts = statistics.quantiles(values, n=4)
            quartile[slug] = cuts[0] if definition.direction == "lower" else cuts[2]
        else:
            quartile[slug] = None
    labels, criterion_skills = analytics.criterion_labels(program)
    counts = analytics.criterion_counts(program=program, start=start, end=end)
    context = ProgramContext(
        program=program,
        start=start,
        end=end,
        definitions=definitions,
        agents=agents,
        spread=spread,
        call_type_spread=_call_type_spreads(program, start, end, definitions),
        median=median,
        better_quartile=quartile,
        association=_associations(counts, agents, definitions),
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
        skill_spread={},
        credits=_skill_credits(program, start, end, criterion_skills),
        issues=[],
    )
    context.skill_spread = _credit_spreads(context.credits)
    context.issues = program_issues(context)
    return context


def _call_type_spreads(
    program: Program, start: dt.date, end: dt.date, definitions: dict[str, MetricDefinition]
) -> dict[tuple[str, str], float]:
    """Between-agent standard deviation of each knowledge metric on each call type (a call
    type's FCR varies more between agents than overall FCR does), less sampling noise."""
    chosen = [definitions[slug] for slug in KNOWLEDGE_METRICS if slug in definitions]
    rows = kpi_selectors.grouped_sums(
        DailyRollup,
        {"program_id": program.pk, "excluded": False, "date__gte": start, "date__lte": end},
        ["agent_id", "call_type"],
        kpis.measures_of(chosen),
    )
    values: dict[tuple[str, str], list[kpis.Observation]] = {}
    for dims, sums in rows:
        if dims["agent_id"] is None:
            continue
        for definition in chosen:
            observation = kpis.observe(definition, sums)
            if observation.value is not None and observation.n >= MIN_CALL_TYPE_N:
                values.setdefault((definition.slug, dims["call_type"]), []).append(observation)
    out = {}
    for key, observations in values.items():
        if len(observations) < 3:
            continue
        variance = statistics.pvariance([o.value or 0.0 for o in observations])
        noise = statistics.fmean(o.variance for o in observations)
        out[key] = math.sqrt(max(variance - noise, 0.0))
    return out


def _skill_credits(
    program: Program, start: dt.date, end: dt.date, criterion_skills: dict[str, tuple[str, ...]]
) -> dict[str, dict[int, tuple[float, float, float]]]:
    """Per skill and agent: answers to the skill's criteria (N/A aside), and the sum and sum of
    squares of their credit. Credit keeps what a 1-5 scale says (a 3 is not a 1), which a
    pass/fail line throws away."""
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
    out: dict[str, dict[int, tuple[float, float, float]]] = {}
    for agent, key, n, total, square in rows:
        for skill in criterion_skills.get(key, ()):
            have = out.setdefault(skill, {}).get(agent, (0.0, 0.0, 0.0))
            out[skill][agent] = (have[0] + n, have[1] + float(total), have[2] + float(square))
    return out


def _credit_spreads(credits: dict[str, dict[int, tuple[float, float, float]]]) -> dict[str, float]:
    """Between-agent standard deviation of each skill's mean credit (method of moments: the
    variance of agents' means less their average sampling variance)."""
    out = {}
    for skill, by_agent in credits.items():
        means, noise = [], []
        for n, total, square in by_agent.values():
            if n < 3:
                continue
            mean = total / n
            means.append(mean)
            noise.append(max(square / n - mean * mean, 0.0) / n)
        if len(means) >= 3:
            out[skill] = math.sqrt(max(statistics.pvariance(means) - statistics.fmean(noise), 0.0))
    return out


def _associations(
    counts: analytics.Counts,
    agents: dict[int, dict[str, kpis.Observation]],
    definitions: dict[str, MetricDefinition],
) -> dict[str, list[tuple[str, float]]]:
    """For each criterion, the metrics that agents who fail it more do worse on, beyond
    general ability: the partial correlation across agents of the criterion's fail rate with
    each metric, given the agent's fail rate over every criterion (oriented: positive = failing
    goes with worse). Strongest first, only above MIN_ASSOCIATION. Without the partial, every
    criterion "goes with" every metric, since better agents do better on all of them."""
    per_criterion: dict[str, dict[int, tuple[int, int]]] = {}
    overall: dict[int, list[int]] = {}
    for (agent, _team, key), (n, failed) in counts.items():
        have = per_criterion.setdefault(key, {}).get(agent, (0, 0))
        per_criterion[key][agent] = (have[0] + n, have[1] + failed)
        cell = overall.setdefault(agent, [0, 0])
        cell[0] += n
        cell[1] += failed
    out: dict[str, list[tuple[str, float]]] = {}
    for key, by_agent in per_criterion.items():
        linked = []
        for slug, definition in definitions.items():
            triples = [
                (
                    failed / n,
                    float(agents[agent][slug].value or 0.0),
                    overall[agent][1] / overall[agent][0],
                )
                for agent, (n, failed) in by_agent.items()
                if n >= 3 and agent in agents and agents[agent][slug].value is not None
            ]
            if len(triples) < MIN_AGENTS_FOR_ASSOCIATION:
                continue
            r = _partial_correlation(triples)
            if r is None:
                continue
            r = -r if definition.direction == "higher" else r
            if r >= MIN_ASSOCIATION:
                linked.append((slug, r))
        out[key] = sorted(linked, key=lambda item: -item[1])
    return out


def _partial_correlation(triples: list[tuple[float, float, float]]) -> float | None:
    xs, ys, gs = ([t[i] for t in triples] for i in range(3))
    if min(statistics.pstdev(xs), statistics.pstdev(ys), statistics.pstdev(gs)) == 0:
        return None
    r_xy = statistics.correlation(xs, ys)
    r_xg = statistics.correlation(xs, gs)
    r_yg = statistics.correlation(ys, gs)
    denominator = math.sqrt(max((1 - r_xg**2) * (1 - r_yg**2), 0.0))
    return (r_xy - r_xg * r_yg) / denominator if denominator > 1e-9 else None


# --- one agent ---------------------------------------------------------------------------------


def diagnose(
    *,
    agent: Person,
    program: Program,
    start: dt.date,
    end: dt.date,
    context: ProgramContext | None = None,
    explained: int | None = None,
) -> Diagnosis:
    """``explained`` limits the opportunities given evidence, impact, a goal draft and a
    statement to the first few (the queue shows only the top one); None explains all."""
    context = context or program_context(program=program, start=start, end=end)
    report = kpi_selectors.kpi_report(
        subject=kpi_selectors.subject_for_agent(agent, program),
        start=start,
        end=end,
        definitions=list(context.definitions.values()),
    )
    kpi_by_slug = report.by_slug()
    criterion_fails = analytics.fail_rates(
        context.counts,
        agent_id=agent.pk,
        labels=context.criterion_labels,
        skills=context.criterion_skills,
    )
    sides = {
        skill.key: _sides(skill, context, report, agent.pk, criterion_fails)
        for skill in context.skills.values()
    }
    effects = [side.effect for pair in sides.values() for side in pair if side is not None]
    # The agent's typical gap over all skills: a skill is an opportunity when it stands out
    # from the agent's own profile, not when the agent is a little behind on everything.
    baseline = statistics.median(effects) if len(effects) >= 3 else 0.0
    usable = {
        skill.key: _usable(skill, sides[skill.key], baseline) for skill in context.skills.values()
    }
    estimates = {key: est for key, pair in usable.items() if (est := _estimate(pair)) is not None}
    opportunities = []
    for skill in context.skills.values():
        opportunity = _skill_opportunity(
            skill,
            context,
            kpi_by_slug,
            usable[skill.key],
            criterion_fails,
            _stand_out(skill.key, estimates),
        )
        if opportunity is not None:
            opportunities.append(opportunity)
    opportunities.sort(key=lambda o: -o.score)
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


def _sides(
    skill: Skill,
    context: ProgramContext,
    report: kpi_selectors.KpiReport,
    agent_id: int,
    criterion_fails: list[analytics.FailRate],
) -> tuple[Side | None, Side | None]:
    """The QA side and the KPI side of a skill's evidence (either may be missing)."""
    return (
        _qa_side(
            context.credits.get(skill.key), agent_id, context.skill_spread.get(skill.key, 0.0)
        ),
        _kpi_side(skill, context, report, criterion_fails),
    )


def _usable(
    skill: Skill, pair: tuple[Side | None, Side | None], baseline: float
) -> tuple[Side | None, Side | None]:
    qa_side = pair[0]
    if skill.kind == SkillKind.BEHAVIOUR and (qa_side is None or qa_side.effect <= baseline):
        # A behaviour is read on a metric only through its association across agents, which
        # general ability and tenure also drive: without QA pointing at the behaviour itself,
        # a metric gap is not evidence for this skill.
        return qa_side, None
    return pair


def _estimate(pair: tuple[Side | None, Side | None]) -> tuple[float, float] | None:
    """The skill's gap in between-agent SDs: the inverse-variance mean of its sides."""
    sides = [side for side in pair if side is not None and side.effect_se > 0]
    if not sides:
        return None
    weights = [1 / side.effect_se**2 for side in sides]
    mean = sum(w * side.effect for w, side in zip(weights, sides, strict=True)) / sum(weights)
    return mean, math.sqrt(1 / sum(weights))


def _stand_out(key: str, estimates: dict[str, tuple[float, float]]) -> float | None:
    """P(the skill's gap exceeds the agent's next-worst skill's by MARGIN_SD): a weakness is a
    skill well below the agent's others, not a gap the agent has on everything."""
    if key not in estimates:
        return None
    mine, error = estimates[key]
    others = [value for other, value in estimates.items() if other != key]
    if not others:
        return None
    runner, runner_error = max(others, key=lambda item: item[0])
    z = (mine - runner - MARGIN_SD) / math.sqrt(error**2 + runner_error**2)
    return probability_of(z)


def _skill_opportunity(
    skill: Skill,
    context: ProgramContext,
    kpi_by_slug: dict[str, kpis.Kpi],
    pair: tuple[Side | None, Side | None],
    criterion_fails: list[analytics.FailRate],
    probability: float | None,
) -> Opportunity | None:
    qa_side, kpi_side = pair
    sides = [side for side in pair if side is not None]
    if not sides or probability is None or probability < LISTED:
        return None
    metric_side = kpi_side or qa_side
    assert metric_side is not None
    kpi = kpi_by_slug.get(metric_side.metric)
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
        metric=metric_side.metric,
        skill=skill.key,
        gap_kind="knowledge" if skill.kind == SkillKind.KNOWLEDGE else "skill",
        value=metric_side.value,
        target=kpi.target.value if kpi is not None and kpi.target else None,
        peer_median=context.median.get(metric_side.metric),
        n=int(metric_side.n),
        interval=kpi.interval if kpi is not None and not metric_side.call_type else None,
        probability=probability,
        size=max(s.size for s in sides),
        call_type=metric_side.call_type,
        peer_value=metric_side.reference,
        criteria=linked,
    )


def _qa_side(
    credits: dict[int, tuple[float, float, float]] | None, agent_id: int, spread: float
) -> Side | None:
    """The skill's criteria: how much less credit the agent earns on them than the others,
    each mean with its standard error (a variance floor keeps three perfect answers from
    being certainty)."""
    if not credits or agent_id not in credits or spread <= 0:
        return None
    n, total, square = credits[agent_id]
    peer_n = sum(v[0] for a, v in credits.items() if a != agent_id)
    if n == 0 or peer_n == 0:
        return None
    peer_total = sum(v[1] for a, v in credits.items() if a != agent_id)
    peer_square = sum(v[2] for a, v in credits.items() if a != agent_id)
    mine, peer = total / n, peer_total / peer_n
    variance = max(square / n - mine * mine, CREDIT_VARIANCE_FLOOR)
    peer_variance = max(peer_square / peer_n - peer * peer, CREDIT_VARIANCE_FLOOR)
    error = math.sqrt(variance / n + peer_variance / peer_n)
    return Side(
        metric="qa_score",
        value=1 - mine,
        reference=1 - peer,
        n=n,
        effect=(peer - mine) / spread,
        effect_se=error / spread,
    )


def _kpi_side(
    skill: Skill,
    context: ProgramContext,
    report: kpi_selectors.KpiReport,
    criterion_fails: list[analytics.FailRate],
) -> Side | None:
    """The worst-supported metric gap the skill explains, against the rest of the program."""
    candidates: list[Side] = []
    if skill.kind == SkillKind.KNOWLEDGE and skill.call_type:
        for slug in KNOWLEDGE_METRICS:
            side = _call_type_side(context, report, slug, skill.call_type)
            if side is not None:
                candidates.append(side)
    else:
        metrics = {
            slug
            for rate in criterion_fails
            if skill.key in rate.skills
            for slug, _ in context.association.get(rate.key, [])[:1]
        }
        for slug in metrics:
            side = _overall_side(context, report, slug)
            if side is not None:
                candidates.append(side)
    return max(candidates, key=lambda s: s.effect / s.effect_se) if candidates else None


def _gap_side(
    definition: MetricDefinition,
    mine: kpis.Observation,
    others: kpis.Observation,
    spread: float,
    *,
    expected: float | None = None,
    call_type: str = "",
) -> Side | None:
    if mine.value is None or others.value is None or mine.n < MIN_CALL_TYPE_N:
        return None
    reference = expected if expected is not None else others.value
    gap = oriented(definition, mine.value - reference)
    error = math.sqrt(max(mine.variance, 0.0) + max(others.variance, 0.0))
    if error == 0 or not math.isfinite(error) or spread <= 0:
        return None
    return Side(
        metric=definition.slug,
        value=mine.value,
        reference=reference,
        n=mine.n,
        effect=gap / spread,
        effect_se=error / spread,
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
        context.call_type_spread.get((slug, call_type), 0.0),
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
        context.spread.get(slug, 0.0),
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

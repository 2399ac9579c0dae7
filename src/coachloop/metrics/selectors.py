"""Reads of KPIs. Each page or endpoint costs a handful of grouped queries over the rollups
(never one per agent); ``kpis.py`` turns the sums into values, intervals and flags.

Callers resolve the subject (agent, team, program) through the org selectors first, so scope is
decided there; every query here is then bounded to that subject's program.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection
from django.db.models import Max, Model, Sum

from coachloop.metrics import kpis, stats
from coachloop.metrics.kpis import FILTER_DIMENSIONS, Kpi, Sums
from coachloop.metrics.models import (
    AgentDaily,
    CallTypeRunningTotal,
    DailyRollup,
    Exclusion,
    Level,
    MetricDefinition,
    PeerPrior,
    ProgramDaily,
    RollupStamp,
    RunningTotal,
    Target,
)
from coachloop.org.models import Membership, Person, Program, Role, RoleAssignment, Team
from coachloop.org.scope import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

DIMENSIONS = list(FILTER_DIMENSIONS)
Dims = dict[str, Any]
Row = tuple[Dims, dict[str, float]]


class Rows(list[Row]):
    """Grouped sums, with the totals already computed for a filter kept: a page asks for the
    same total (every metric without filters) many times, and summing once is enough."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        super().__init__(rows)
        self.memo: dict[tuple[Any, ...], Any] = {}


class UnknownMetric(ValueError):
    pass


# --- definitions, targets, priors ------------------------------------------------------------


def definitions_for(program: Program, slugs: Sequence[str] | None = None) -> list[MetricDefinition]:
    """The program's metrics, or the named ones in the order given (an unknown slug raises)."""
    available = MetricDefinition.objects.for_program(program)
    if not slugs:
        return available
    by_slug = {d.slug: d for d in available}
    unknown = [slug for slug in slugs if slug not in by_slug]
    if unknown:
        raise UnknownMetric(
            f"Unknown metric {', '.join(unknown)}; this program has: {', '.join(by_slug)}"
        )
    return [by_slug[slug] for slug in dict.fromkeys(slugs)]


class TargetBook:
    """The program's targets in memory (a handful of rows), answering "which target applied to
    this metric, team and tenure on that day"."""

    def __init__(self, program: Program) -> None:
        self.targets = list(Target.objects.filter(program=program).order_by("effective_from"))

    def target(
        self,
        metric: str,
        *,
        on: dt.date,
        team_id: int | None = None,
        tenure_days: int | None = None,
    ) -> Target | None:
        best: tuple[int, dt.date, int] | None = None
        chosen: Target | None = None
        for target in self.targets:
            if target.metric != metric or target.effective_from > on:
                continue
            if target.team_id is not None and target.team_id != team_id:
                continue
            banded = target.tenure_min_days is not None or target.tenure_max_days is not None
            if banded:
                if tenure_days is None:
                    continue
                if target.tenure_min_days is not None and tenure_days < target.tenure_min_days:
                    continue
                if target.tenure_max_days is not None and tenure_days >= target.tenure_max_days:
                    continue
            rank = (2 * (target.team_id is not None) + banded, target.effective_from, target.pk)
            if best is None or rank > best:
                best, chosen = rank, target
        return chosen


def rollups_version(program: Program) -> int:
    """Grows each time the program's rollups change (0: never built)."""
    version = RollupStamp.objects.filter(program=program).values_list("version", flat=True)
    return version.first() or 0


def priors_for(program: Program) -> dict[str, PeerPrior]:
    return {prior.metric: prior for prior in PeerPrior.objects.filter(program=program)}


# --- grouped sums ----------------------------------------------------------------------------


Where = dict[str, Any]
_COLUMN = re.compile(r"^[a-z][a-z0-9_]*$")
_OPERATORS = {"gte": ">=", "lte": "<=", "lt": "<", "gt": ">"}


def _where_sql(where: Where) -> tuple[str, list[Any]]:
    """``{"program_id": 3, "agent_id__in": [1, 2], "date__gte": d, "excluded": False}`` as SQL
    with parameters. Keys are column names from this module, never from a request."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in where.items():
        column, _, operator = key.partition("__")
        assert _COLUMN.match(column), column
        if operator == "in":
            values = list(value)
            if not values:
                clauses.append("1 = 0")
                continue
            clauses.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
        elif operator == "isnull":
            clauses.append(f"{column} IS {'NULL' if value else 'NOT NULL'}")
        elif operator:
            clauses.append(f"{column} {_OPERATORS[operator]} %s")
            params.append(value)
        elif isinstance(value, bool):
            clauses.append(column if value else f"NOT {column}")
        else:
            clauses.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(clauses) or "1 = 1", params


def grouped_sums(
    model: type[Model], where: Where, group: Sequence[str], measures: Iterable[str]
) -> Rows:
    """SUM of each measure over the rows matching ``where``, per distinct ``group`` values.

    Plain SQL rather than the ORM: pages run a dozen of these with forty SUMs each, and
    compiling them through the ORM cost more than running them."""
    names = sorted(set(measures))
    for column in (*group, *names):
        assert _COLUMN.match(column), column
    condition, params = _where_sql(where)
    selected = [*group, *(f"SUM({name})" for name in names)] or ["COUNT(*)"]
    # Names are this module's own column names (checked above) and a model's table: no input.
    sql = f"SELECT {', '.join(selected)} FROM {model._meta.db_table} WHERE {condition}"  # noqa: S608
    if group:
        sql += f" GROUP BY {', '.join(group)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    width = len(group)
    dates_as_text = connection.vendor == "sqlite" and "date" in group
    date_index = list(group).index("date") if dates_as_text else -1
    rows = Rows()
    for record in fetched:
        dims = dict(zip(group, record[:width], strict=True))
        if dates_as_text and isinstance(record[date_index], str):
            dims["date"] = dt.date.fromisoformat(record[date_index])
        rows.append(
            (dims, {name: float(v or 0.0) for name, v in zip(names, record[width:], strict=True)})
        )
    if not group and not rows:
        rows.append(({}, dict.fromkeys(names, 0.0)))
    return rows


def _window(start: dt.date, end: dt.date) -> Where:
    return {"date__gte": start, "date__lte": end}


def _filter_key(definition: MetricDefinition) -> tuple[Any, ...]:
    return tuple(sorted((k, tuple(v)) for k, v in (definition.filters or {}).items()))


def total_for(definition: MetricDefinition, rows: Rows, *, include_excluded: bool = False) -> Sums:
    """The sums over the rows the metric counts (its filters; excluded rows only for queue
    metrics). Kept on ``rows`` per filter, so metrics sharing one are summed once."""
    key = ("total", _filter_key(definition), include_excluded)
    if key not in rows.memo:
        total: dict[str, float] = {}
        for dims, sums in rows:
            if dims.get("excluded") and not include_excluded:
                continue
            if kpis.matches(definition, dims):
                kpis.add_sums(total, sums)
        rows.memo[key] = total
    return rows.memo[key]


def by_call_type(definition: MetricDefinition, rows: Rows) -> dict[str, dict[str, float]]:
    key = ("call_type", _filter_key(definition))
    if key not in rows.memo:
        result: dict[str, dict[str, float]] = defaultdict(dict)
        for dims, sums in rows:
            if dims.get("excluded") or not kpis.matches(definition, dims):
                continue
            kpis.add_sums(result[dims.get("call_type") or ""], sums)
        rows.memo[key] = dict(result)
    return rows.memo[key]


@dataclass
class Peers:
    """A program's totals over a window, per (queue, channel, call type, excluded), and the
    spread of agents' values from the last recompute: what shrinkage and case mix compare to."""

    program: Program
    rows: Rows
    priors: dict[str, PeerPrior]

    def prior(self, definition: MetricDefinition) -> stats.Prior | None:
        stored = self.priors.get(definition.slug)
        if stored is None:
            return None
        pooled = kpis.observe(definition, total_for(definition, self.rows)).value
        return stats.Prior(pooled if pooled is not None else stored.mean, stored.between_variance)

    def by_call_type(self, definition: MetricDefinition) -> dict[str, dict[str, float]]:
        return by_call_type(definition, self.rows)

    def value(self, definition: MetricDefinition) -> float | None:
        include = definition.level == Level.QUEUE
        return kpis.observe(
            definition, total_for(definition, self.rows, include_excluded=include)
        ).value


def peers_for(
    program: Program, start: dt.date, end: dt.date, definitions: Sequence[MetricDefinition]
) -> Peers:
    rows = grouped_sums(
        ProgramDaily,
        {"program_id": program.pk, **_window(start, end)},
        [*DIMENSIONS, "excluded"],
        kpis.measures_of(definitions) | {"fcr_provisional"},
    )
    return Peers(program=program, rows=rows, priors=priors_for(program))


# --- one subject -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    kind: str  # "agent" | "team" | "program"
    program: Program
    agent_id: int | None = None
    team_id: int | None = None
    hire_date: dt.date | None = None

    def where(self) -> Where:
        if self.kind == "agent":
            return {"program_id": self.program.pk, "agent_id": self.agent_id, "excluded": False}
        if self.kind == "team":
            return {"program_id": self.program.pk, "team_id": self.team_id, "excluded": False}
        return {"program_id": self.program.pk}

    @property
    def model(self) -> type[Model]:
        return ProgramDaily if self.kind == "program" else DailyRollup

    def key(self) -> tuple[str, int]:
        """The column and id of an agent or team subject in the per-agent or per-team tables."""
        if self.kind == "agent" and self.agent_id is not None:
            return "agent_id", self.agent_id
        if self.kind == "team" and self.team_id is not None:
            return "team_id", self.team_id
        raise ValueError(f"A {self.kind} subject has no key")

    def coarse_where(self) -> Where:
        """The subject in ``AgentDaily`` (which holds no excluded rows) or ``ProgramDaily``."""
        if self.kind == "agent":
            return {"program_id": self.program.pk, "agent_id": self.agent_id}
        if self.kind == "team":
            return {"program_id": self.program.pk, "team_id": self.team_id}
        return {"program_id": self.program.pk}

    def tenure_on(self, day: dt.date) -> int | None:
        return (day - self.hire_date).days if self.hire_date else None


def subject_for_agent(agent: Person, program: Program) -> Subject:
    return Subject("agent", program, agent_id=agent.pk, hire_date=agent.hire_date)


def subject_for_team(team: Team) -> Subject:
    return Subject("team", team.program, team_id=team.pk)


def subject_for_program(program: Program) -> Subject:
    return Subject("program", program)


@dataclass
class KpiReport:
    subject: Subject
    start: dt.date
    end: dt.date
    metrics: list[Kpi]
    series: list[tuple[dt.date, list[Kpi]]] | None = None
    exclusions: list[Exclusion] = field(default_factory=list)
    # What the figures were computed from, for a page that shows more of the same window
    # (the agent page's call-type breakdown) without asking the database again.
    rows: Rows = field(default_factory=Rows)
    peers: Peers | None = None

    def by_slug(self) -> dict[str, Kpi]:
        return {kpi.slug: kpi for kpi in self.metrics}


def _subject_kpi(
    definition: MetricDefinition,
    subject: Subject,
    rows: Rows,
    peers: Peers,
    book: TargetBook,
    *,
    on: dt.date,
    team_id: int | None,
    with_case_mix: bool = True,
) -> Kpi:
    queue_metric = definition.level == Level.QUEUE
    if queue_metric and subject.kind != "program":
        sums: Sums = {}  # queue metrics belong to the program and its queues, not to people
    else:
        sums = total_for(definition, rows, include_excluded=queue_metric)
    expected = None
    if with_case_mix and definition.case_mix and subject.kind != "program":
        expected = kpis.expected_from_mix(
            definition, by_call_type(definition, rows), peers.by_call_type(definition)
        )
    kpi = kpis.kpi_from_sums(
        definition,
        sums,
        prior=peers.prior(definition) if subject.kind == "agent" else None,
        target=book.target(
            definition.slug, on=on, team_id=team_id, tenure_days=subject.tenure_on(on)
        ),
        expected=expected,
    )
    kpi.peer_value = peers.value(definition)
    return kpi


def kpi_report(
    *,
    subject: Subject,
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
    granularity: str | None = None,
    team_id: int | None = None,
) -> KpiReport:
    """The KPIs of one agent, team or program over [start, end], with a series per day, week
    (starting on the program's first weekday) or month when ``granularity`` is given."""
    measures = kpis.measures_of(definitions) | {"fcr_provisional"}
    peers = peers_for(subject.program, start, end, definitions)
    book = TargetBook(subject.program)
    team_id = team_id if team_id is not None else subject.team_id
    group = [*DIMENSIONS, "excluded"] if subject.kind == "program" else DIMENSIONS
    if subject.kind == "program":
        rows = peers.rows
    elif _fine_dimensions_needed(definitions):
        rows = grouped_sums(
            subject.model, {**subject.where(), **_window(start, end)}, group, measures
        )
    else:
        key, id_ = subject.key()
        rows = call_type_window_rows(
            key, program=subject.program, start=start, end=end, measures=measures, ids=[id_]
        )[id_]
    report = _window_report(
        subject,
        definitions=definitions,
        rows=rows,
        peers=peers,
        book=book,
        exclusions=list(exclusions_overlapping(subject.program, start, end)),
        start=start,
        end=end,
        team_id=team_id,
    )
    if granularity:
        daily = _daily_sums(subject, start, end, definitions, measures)
        buckets: dict[dt.date, Rows] = defaultdict(Rows)
        for dims, sums in daily:
            buckets[period_start(dims["date"], granularity, subject.program)].append((dims, sums))
        report.series = []
        for begins in periods(start, end, granularity, subject.program):
            ends = min(period_end(begins, granularity), end)
            report.series.append(
                (
                    begins,
                    [
                        _subject_kpi(
                            d,
                            subject,
                            buckets.get(begins, Rows()),
                            peers,
                            book,
                            on=ends,
                            team_id=team_id,
                            with_case_mix=False,
                        )
                        for d in definitions
                    ],
                )
            )
    return report


def agents_window_rows(
    *,
    program: Program,
    agent_ids: Sequence[int],
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
) -> dict[int, Rows]:
    """Each agent's sums over [start, end] per call type (and queue and channel when a metric
    filters on them), in one query for all of them: what their reports are computed from."""
    measures = kpis.measures_of(definitions) | {"fcr_provisional"}
    per_agent: dict[int, Rows] = {id_: Rows() for id_ in agent_ids}
    if not _fine_dimensions_needed(definitions):
        per_agent.update(
            call_type_window_rows(
                "agent_id", program=program, start=start, end=end, measures=measures, ids=agent_ids
            )
        )
        return per_agent
    for dims, sums in grouped_sums(
        DailyRollup,
        {
            "program_id": program.pk,
            "agent_id__in": list(agent_ids),
            "excluded": False,
            **_window(start, end),
        },
        ["agent_id", *DIMENSIONS],
        measures,
    ):
        agent_id = dims.pop("agent_id")
        per_agent.setdefault(agent_id, Rows()).append((dims, sums))
    return per_agent


def agent_reports(
    *,
    program: Program,
    agents: Sequence[Person],
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
    peers: Peers | None = None,
) -> dict[int, KpiReport]:
    """``kpi_report`` of many agents over one window (no series), sharing what is the same
    for all of them (the peers, the targets, the exclusions) and reading their sums in one
    query: a team's queue in a handful of queries instead of a handful per agent. ``peers``
    may be given when the caller already holds the program's for this window."""
    peers = peers or peers_for(program, start, end, definitions)
    book = TargetBook(program)
    exclusions = list(exclusions_overlapping(program, start, end))
    per_agent = agents_window_rows(
        program=program,
        agent_ids=[agent.pk for agent in agents],
        start=start,
        end=end,
        definitions=definitions,
    )
    return {
        agent.pk: _window_report(
            subject_for_agent(agent, program),
            definitions=definitions,
            rows=per_agent.get(agent.pk, Rows()),
            peers=peers,
            book=book,
            exclusions=exclusions,
            start=start,
            end=end,
            team_id=None,
        )
        for agent in agents
    }


def _window_report(
    subject: Subject,
    *,
    definitions: Sequence[MetricDefinition],
    rows: Rows,
    peers: Peers,
    book: TargetBook,
    exclusions: list[Exclusion],
    start: dt.date,
    end: dt.date,
    team_id: int | None,
) -> KpiReport:
    """One subject's report over [start, end] from its sums (no series)."""
    return KpiReport(
        subject=subject,
        start=start,
        end=end,
        metrics=[
            _subject_kpi(d, subject, rows, peers, book, on=end, team_id=team_id)
            for d in definitions
        ],
        exclusions=exclusions,
        rows=rows,
        peers=peers,
    )


def _daily_sums(
    subject: Subject,
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
    measures: set[str],
) -> Rows:
    """The subject's sums per day for a series: from the per-agent-day table when no metric
    needs a finer dimension (ten times fewer rows), else from the fine rollup."""
    if any(d.filters for d in definitions):
        group = [*DIMENSIONS, "excluded"] if subject.kind == "program" else DIMENSIONS
        return grouped_sums(
            subject.model, {**subject.where(), **_window(start, end)}, ["date", *group], measures
        )
    if subject.kind == "program":
        return grouped_sums(
            ProgramDaily,
            {**subject.coarse_where(), **_window(start, end)},
            ["date", "excluded"],
            measures,
        )
    return grouped_sums(
        AgentDaily, {**subject.coarse_where(), **_window(start, end)}, ["date"], measures
    )


# --- periods ---------------------------------------------------------------------------------


def week_start(day: dt.date, program: Program) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() - program.first_weekday) % 7)


def period_start(day: dt.date, granularity: str, program: Program) -> dt.date:
    if granularity == "week":
        return week_start(day, program)
    if granularity == "month":
        return day.replace(day=1)
    return day


def period_end(begins: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return begins + dt.timedelta(days=6)
    if granularity == "month":
        following = (begins.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    return begins


def periods(start: dt.date, end: dt.date, granularity: str, program: Program) -> list[dt.date]:
    found: list[dt.date] = []
    current = period_start(start, granularity, program)
    while current <= end:
        found.append(current)
        current = period_end(current, granularity) + dt.timedelta(days=1)
    return found


def latest_day(program: Program) -> dt.date | None:
    """The last local day with any rolled-up facts: "this week" is relative to it, so a demo
    or an export that stops a few days ago still shows data."""
    row = ProgramDaily.objects.filter(program=program).order_by("-date").values("date").first()
    return row["date"] if row else None


def exclusions_overlapping(program: Program, start: dt.date, end: dt.date) -> Iterable[Exclusion]:
    return (
        Exclusion.objects.in_force()
        .filter(program=program, start__lte=end, end__gte=start)
        .order_by("start", "pk")
    )


# --- many agents at once ---------------------------------------------------------------------


@dataclass
class AgentRow:
    agent: Person
    kpis: dict[str, Kpi]
    weekly: dict[str, list[float | None]] = field(default_factory=dict)


@dataclass
class TeamDashboard:
    team: Team
    start: dt.date
    end: dt.date
    definitions: list[MetricDefinition]
    rows: list[AgentRow]
    total: dict[str, Kpi]
    weeks: list[dt.date]
    exclusions: list[Exclusion]


SPARK_WEEKS = 13


def team_dashboard(
    *,
    team: Team,
    agents: Sequence[Person],
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
) -> TeamDashboard:
    """One row per current agent (their contacts in the team's program, whichever team they
    were on), the team's own total (contacts attributed to the team at the time), and each
    agent's weekly values over the 13 weeks ending with the period."""
    program = team.program
    definitions = [d for d in definitions if d.level != Level.QUEUE]
    measures = kpis.measures_of(definitions) | {"fcr_provisional"}
    peers = peers_for(program, start, end, definitions)
    book = TargetBook(program)
    agent_ids = [agent.pk for agent in agents]
    per_agent = agents_window_rows(
        program=program, agent_ids=agent_ids, start=start, end=end, definitions=definitions
    )
    if _fine_dimensions_needed(definitions):
        team_rows = grouped_sums(
            DailyRollup,
            {
                "program_id": program.pk,
                "team_id": team.pk,
                "excluded": False,
                **_window(start, end),
            },
            DIMENSIONS,
            measures,
        )
    else:
        team_rows = call_type_window_rows(
            "team_id", program=program, start=start, end=end, measures=measures, ids=[team.pk]
        )[team.pk]
    team_subject = subject_for_team(team)
    total = {
        d.slug: _subject_kpi(d, team_subject, team_rows, peers, book, on=end, team_id=team.pk)
        for d in definitions
    }
    weeks = periods(end - dt.timedelta(weeks=SPARK_WEEKS - 1), end, "week", program)
    weekly = weekly_values(
        program=program, agent_ids=agent_ids, weeks=weeks, end=end, definitions=definitions
    )
    rows = []
    for agent in agents:
        subject = subject_for_agent(agent, program)
        rows.append(
            AgentRow(
                agent=agent,
                kpis={
                    d.slug: _subject_kpi(
                        d,
                        subject,
                        per_agent.get(agent.pk, Rows()),
                        peers,
                        book,
                        on=end,
                        team_id=team.pk,
                    )
                    for d in definitions
                },
                weekly=weekly.get(agent.pk, {}),
            )
        )
    return TeamDashboard(
        team=team,
        start=start,
        end=end,
        definitions=list(definitions),
        rows=rows,
        total=total,
        weeks=weeks,
        exclusions=list(exclusions_overlapping(program, start, end)),
    )


def weekly_values(
    *,
    program: Program,
    agent_ids: Sequence[int],
    weeks: Sequence[dt.date],
    end: dt.date,
    definitions: Sequence[MetricDefinition],
) -> dict[int, dict[str, list[float | None]]]:
    """Each agent's observed weekly value per metric without filters (from AgentDaily): the
    days' sums are added into an (agent, week) grid of measures and every value computed at
    once, instead of a dictionary per day."""
    plain = [d for d in definitions if not d.filters]
    if not weeks or not plain or not agent_ids:
        return {}
    names = sorted(kpis.measures_of(plain))
    columns = {name: index for index, name in enumerate(names)}
    rows = grouped_sums(
        AgentDaily,
        {"program_id": program.pk, "agent_id__in": list(agent_ids), **_window(weeks[0], end)},
        ["agent_id", "date"],
        names,
    )
    agent_index = {agent_id: index for index, agent_id in enumerate(agent_ids)}
    week_index = {begins: index for index, begins in enumerate(weeks)}
    grid = np.zeros((len(agent_ids), len(weeks), len(names)))
    for dims, sums in rows:
        week = week_index.get(week_start(dims["date"], program))
        if week is not None:
            grid[agent_index[dims["agent_id"]], week] += [sums[name] for name in names]
    flat = grid.reshape(-1, len(names))
    result: dict[int, dict[str, list[float | None]]] = {agent_id: {} for agent_id in agent_ids}
    for definition in plain:
        values, _ = kpis.values_of(definition, flat, columns)
        table = values.reshape(len(agent_ids), len(weeks)).tolist()
        for agent_id, series in zip(agent_ids, table, strict=True):
            result[agent_id][definition.slug] = [None if math.isnan(v) else v for v in series]
    return result


@dataclass(frozen=True)
class WindowSums:
    """Sums over a window, one row per agent (or team) in ``ids``, one column per measure."""

    ids: list[int]
    columns: dict[str, int]
    matrix: np.ndarray

    def as_dicts(self) -> dict[int, dict[str, float]]:
        names = list(self.columns)
        return {
            id_: dict(zip(names, row, strict=True))
            for id_, row in zip(self.ids, self.matrix.tolist(), strict=True)
        }


def _running_totals_on(
    key: str, where: Where, day: dt.date | None, names: list[str]
) -> dict[int, list[float]]:
    if day is None:
        return {}
    condition, params = _where_sql({**where, "date": day})
    sums = ", ".join(f"SUM({name})" for name in names)
    # Column names are the module's own (checked by the caller); values are parameters.
    sql = (
        f"SELECT {key}, {sums} FROM {RunningTotal._meta.db_table} WHERE {condition} "  # noqa: S608
        f"GROUP BY {key}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: [float(v or 0.0) for v in row[1:]] for row in cursor.fetchall()}


def window_sums(
    key: str,
    *,
    program: Program,
    start: dt.date,
    end: dt.date,
    measures: Iterable[str],
    ids: Sequence[int] | None = None,
) -> WindowSums:
    """Each agent's (``key="agent_id"``) or team's (``"team_id"``) sums over [start, end]:
    their running total at the window's last day minus the one before its first. Two rows per
    agent whatever the window's length, read straight into a matrix (a program page needs a
    thousand agents' values, and dictionaries of floats cost more than the query)."""
    names = sorted(set(measures))
    for column in (key, *names):
        assert _COLUMN.match(column), column
    columns = {name: index for index, name in enumerate(names)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(date) FROM metrics_runningtotal WHERE program_id = %s AND date <= %s",
            [program.pk, end],
        )
        last = cursor.fetchone()[0]
        cursor.execute(
            "SELECT MAX(date) FROM metrics_runningtotal WHERE program_id = %s AND date < %s",
            [program.pk, start],
        )
        before = cursor.fetchone()[0]
    empty = WindowSums([], columns, np.zeros((0, len(names))))
    if last is None or (before is not None and str(before) >= str(last)):
        return empty
    where: Where = {"program_id": program.pk, f"{key}__isnull": False}
    if ids is not None:
        where[f"{key}__in"] = list(ids)
    at_end = _running_totals_on(key, where, last, names)
    if not at_end:
        return empty
    at_start = _running_totals_on(key, where, before, names)
    found = list(at_end)
    matrix = np.array([at_end[id_] for id_ in found], dtype=float).reshape(len(found), len(names))
    if at_start:
        zero = [0.0] * len(names)
        matrix -= np.array([at_start.get(id_, zero) for id_ in found], dtype=float).reshape(
            matrix.shape
        )
    return WindowSums(found, columns, matrix)


def window_sums_by(
    key: str,
    *,
    program: Program,
    start: dt.date,
    end: dt.date,
    measures: Iterable[str],
    ids: Sequence[int] | None = None,
) -> dict[int, dict[str, float]]:
    """``window_sums`` as a dictionary of sums per agent or team."""
    return window_sums(
        key, program=program, start=start, end=end, measures=measures, ids=ids
    ).as_dicts()


def _fine_dimensions_needed(definitions: Sequence[MetricDefinition]) -> bool:
    """Whether a metric filters on a queue or channel: its sums need the fine rollup."""
    return any(
        dimension in ("queue", "channel")
        for definition in definitions
        for dimension in (definition.filters or {})
    )


def call_type_window_rows(
    key: str,
    *,
    program: Program,
    start: dt.date,
    end: dt.date,
    measures: Iterable[str],
    ids: Sequence[int],
) -> dict[int, Rows]:
    """Each agent's (team's) sums over [start, end] per call type, from the call-type running
    totals: the rows a report would otherwise group from the fine rollup, for metrics without
    queue or channel filters, in two rows per agent and call type whatever the window."""
    names = sorted(set(measures))
    for column in (key, *names):
        assert _COLUMN.match(column), column
    table = CallTypeRunningTotal._meta.db_table
    with connection.cursor() as cursor:
        # The table name is a model's; values are parameters.
        cursor.execute(
            f"SELECT MAX(date) FROM {table} WHERE program_id = %s AND date <= %s",  # noqa: S608
            [program.pk, end],
        )
        last = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT MAX(date) FROM {table} WHERE program_id = %s AND date < %s",  # noqa: S608
            [program.pk, start],
        )
        before = cursor.fetchone()[0]
    result: dict[int, Rows] = {id_: Rows() for id_ in ids}
    if last is None or not ids or (before is not None and str(before) >= str(last)):
        return result

    def totals_on(day: dt.date) -> dict[tuple[int, str], list[float]]:
        condition, params = _where_sql({"program_id": program.pk, "date": day, f"{key}__in": ids})
        sums = ", ".join(f"SUM({name})" for name in names)
        sql = (
            f"SELECT {key}, call_type, {sums} FROM {table} WHERE {condition} "  # noqa: S608
            f"GROUP BY {key}, call_type"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {(row[0], row[1]): [float(v or 0.0) for v in row[2:]] for row in cursor}

    at_end = totals_on(last)
    at_start = totals_on(before) if before is not None else {}
    for (id_, call_type), totals in at_end.items():
        base = at_start.get((id_, call_type))
        values = totals if base is None else [a - b for a, b in zip(totals, base, strict=True)]
        result[id_].append(({"call_type": call_type}, dict(zip(names, values, strict=True))))
    return result


@dataclass(frozen=True)
class AgentValues:
    """Every agent's observed value and n per metric over a window, as arrays in ``ids``
    order (NaN: no data): the program's distributions, percentiles and attainment."""

    ids: list[int]
    values: dict[str, np.ndarray]
    n: dict[str, np.ndarray]

    def present(
        self, slug: str, *, min_n: float = 0.0, leave_out: int | None = None
    ) -> list[float]:
        """The values of agents with data (and at least ``min_n``), but ``leave_out``'s."""
        if slug not in self.values:
            return []
        keep = ~np.isnan(self.values[slug]) & (self.n[slug] >= min_n)
        if leave_out is not None and leave_out in self.ids:
            keep[self.ids.index(leave_out)] = False
        return [float(v) for v in self.values[slug][keep]]


def agent_value_arrays(
    *,
    program: Program,
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
) -> AgentValues:
    """``agent_values`` without the sampling variances, computed for all agents at once."""
    plain = [d for d in definitions if not d.filters and d.level != Level.QUEUE]
    sums = window_sums(
        "agent_id", program=program, start=start, end=end, measures=kpis.measures_of(plain)
    )
    values, n = {}, {}
    for definition in plain:
        values[definition.slug], n[definition.slug] = kpis.values_of(
            definition, sums.matrix, sums.columns
        )
    return AgentValues(sums.ids, values, n)


def agent_values(
    *,
    program: Program,
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
    agent_ids: Sequence[int] | None = None,
) -> dict[int, dict[str, kpis.Observation]]:
    """Every agent's observed value per metric without filters over the window: distributions,
    percentiles and team medians. An agent without activity in the window reads as no data
    (value None, n 0), which callers leave out."""
    plain = [d for d in definitions if not d.filters and d.level != Level.QUEUE]
    sums_by_agent = window_sums_by(
        "agent_id",
        program=program,
        start=start,
        end=end,
        measures=kpis.measures_of(plain),
        ids=agent_ids,
    )
    return {
        agent_id: {d.slug: kpis.observe(d, sums) for d in plain}
        for agent_id, sums in sums_by_agent.items()
    }


MIN_GROUP = 5  # aggregates of fewer agents are not shown (CONTRACTS.md, Visibility)


def median_of(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if len(present) >= MIN_GROUP else None


def percentile_better_than(
    definition: MetricDefinition, value: float | None, others: Iterable[float | None]
) -> float | None:
    """The share of the program's other agents this value is better than, 0-100."""
    present = [v for v in others if v is not None]
    if value is None or len(present) < MIN_GROUP:
        return None
    better = sum(1 for other in present if kpis.is_worse(definition, other, value))
    return 100.0 * better / len(present)


# --- periods people choose -------------------------------------------------------------------

PERIODS = {"week": "This week", "4w": "Last 4 weeks", "13w": "Last 13 weeks", "custom": "Custom"}
DEFAULT_PERIOD = "4w"
MAX_WINDOW_DAYS = 3 * 366


RECENT_WEEKS = 13


def recent_window(
    start: dt.date | None = None, end: dt.date | None = None, *, weeks: int = RECENT_WEEKS
) -> tuple[dt.date, dt.date]:
    """[start, end] with the default the QA and coaching views share: the last 13 weeks up to
    today. Raises InvalidInput when start is after end."""
    from django.utils import timezone

    from coachloop.core.errors import ErrorDetail, InvalidInput

    end = end or timezone.localdate()
    start = start or end - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
    if start > end:
        raise InvalidInput(
            "start is after end",
            [ErrorDetail(column="start", value=start.isoformat(), expected="a day before end")],
        )
    return start, end


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return PERIODS.get(self.key, "Custom")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_resolve(
    program: Program,
    *,
    key: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Period:
    """A named period ("week", "4w", "13w") ending with the program's latest day of data (today
    when there is none), or a custom start and end. Weeks start on the program's first weekday;
    "this week" is the week holding the latest day."""
    if start is not None or end is not None or key == "custom":
        if start is None or end is None:
            raise BadPeriod("A custom period needs both start and end (YYYY-MM-DD)")
        if end < start:
            raise BadPeriod(f"end {end} is before start {start}")
        if (end - start).days + 1 > MAX_WINDOW_DAYS:
            raise BadPeriod(f"A period is at most {MAX_WINDOW_DAYS} days")
        return Period("custom", start, end)
    key = key or DEFAULT_PERIOD
    if key not in PERIODS:
        raise BadPeriod(f"Unknown period {key!r}: one of {', '.join(PERIODS)}")
    last = latest_day(program) or dt.date.today()
    this_week = week_start(last, program)
    weeks = {"week": 1, "4w": 4, "13w": 13}[key]
    return Period(key, this_week - dt.timedelta(weeks=weeks - 1), last)


def agent_program(*, user: AnyUser, agent: Person) -> Program | None:
    """The program an agent's KPIs are read in: where they work now (as the viewer may see)."""
    code = getattr(agent, "program_code", None)
    if not code:
        return None
    return Program.objects.visible_to(user).filter(code=code).first()


def team_kpis_side_by_side(
    *,
    program: Program,
    teams: Sequence[Team],
    start: dt.date,
    end: dt.date,
    definitions: Sequence[MetricDefinition],
) -> list[tuple[Team, dict[str, Kpi]]]:
    """Each team's KPIs (contacts attributed to the team at the time) in one grouped query.
    Metrics with filters need the finer rollup and are left empty here."""
    plain = [d for d in definitions if not d.filters]
    per_team = window_sums_by(
        "team_id",
        program=program,
        start=start,
        end=end,
        measures=kpis.measures_of(plain),
        ids=[t.pk for t in teams],
    )
    book = TargetBook(program)
    return [
        (
            team,
            {
                d.slug: kpis.kpi_from_sums(
                    d,
                    per_team.get(team.pk, {}) if not d.filters else {},
                    prior=None,
                    target=book.target(d.slug, on=end, team_id=team.pk),
                )
                for d in definitions
            },
        )
        for team in teams
    ]


def queue_breakdown(
    *, program: Program, start: dt.date, end: dt.date, definitions: Sequence[MetricDefinition]
) -> list[tuple[str, list[Kpi]]]:
    """Queue metrics per queue, excluded contacts included (the customers did call)."""
    if not definitions:
        return []
    peers = peers_for(program, start, end, definitions)
    per_queue: dict[str, Rows] = defaultdict(Rows)
    for dims, sums in peers.rows:
        per_queue[dims.get("queue") or ""].append((dims, sums))
    book = TargetBook(program)
    return [
        (
            queue,
            [
                kpis.kpi_from_sums(
                    d,
                    total_for(d, rows, include_excluded=True),
                    prior=None,
                    target=book.target(d.slug, on=end),
                )
                for d in definitions
            ],
        )
        for queue, rows in sorted(per_queue.items())
    ]


@dataclass(frozen=True)
class ContactSummary:
    handled: int
    latest: dt.date | None


def agent_contact_summary(*, user: AnyUser, agent: Person) -> ContactSummary:
    """How many contacts the agent handled in the programs the user can see, and the latest
    day, from the rollups (the raw contacts would cost a scan per page view)."""
    totals = AgentDaily.objects.filter(
        agent=agent, program__in=Program.objects.visible_to(user), handled__gt=0
    ).aggregate(handled=Sum("handled"), latest=Max("date"))
    return ContactSummary(handled=int(totals["handled"] or 0), latest=totals["latest"])


def aggregates_visible(*, user: AnyUser, team: Team | None = None, program: Program) -> bool:
    """CONTRACTS.md, Visibility: someone who is only an agent sees aggregates (team totals,
    medians, distributions) only of groups of at least 5 agents; leads, QA, managers and
    admins see them whatever the size."""
    scope = scope_for(user)
    if scope.is_admin or scope.roles - {Role.AGENT.value}:
        return True
    if team is not None:
        size = Membership.objects.current().filter(team=team).count()
    else:
        size = RoleAssignment.objects.active().filter(role=Role.AGENT, program=program).count()
    return size >= MIN_GROUP


def can_manage_kpis(*, user: AnyUser, program: Program) -> bool:
    """Targets and exclusions are the program's managers' (and org admins') to change."""
    scope = scope_for(user)
    return scope.is_admin or program.pk in scope.manager_program_ids


@dataclass(frozen=True)
class Attainment:
    definition: MetricDefinition
    target: Target | None
    values: list[float]  # one per agent with at least the metric's minimum n
    met: int | None  # how many of them are on target (None without a target)

    @property
    def share(self) -> float | None:
        if self.met is None or not self.values:
            return None
        return 100.0 * self.met / len(self.values)


def target_attainment(
    *, program: Program, start: dt.date, end: dt.date, definitions: Sequence[MetricDefinition]
) -> list[Attainment]:
    """Per metric, the values of the program's agents with enough data over the window and how
    many of them meet the target in force at its end (inside it, for a range)."""
    distribution = agent_value_arrays(
        program=program, start=start, end=end, definitions=definitions
    )
    book = TargetBook(program)
    rows = []
    for definition in definitions:
        present = distribution.present(definition.slug, min_n=definition.min_n)
        target = book.target(definition.slug, on=end)
        met = None
        if target is not None and present:
            met = sum(
                1
                for v in present
                if not kpis.is_worse(definition, v, target.value)
                and (target.upper is None or v <= target.upper)
            )
        rows.append(Attainment(definition, target, present, met))
    return rows

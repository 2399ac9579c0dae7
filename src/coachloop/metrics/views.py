"""The KPI parts of the team, agent and program pages, the team CSV export, and the forms
managers use for targets and exclusions. The org pages own their URLs and call the
``*_context`` builders here, so every page that shows a KPI shows it the same way."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from coachloop.core.charts import dot_plot, sparkline, trend_chart
from coachloop.metrics import kpis, selectors, services, stats
from coachloop.metrics.display import (
    Cell,
    cell,
    display_of,
    format_target,
    format_value,
    records_url,
)
from coachloop.metrics.forms import ExclusionForm, TargetForm
from coachloop.metrics.kpis import Kpi
from coachloop.metrics.models import Direction, Exclusion, Level, MetricDefinition, Target
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Person, Program, Team

DASHBOARD_DEFAULT = ("aht", "fcr", "csat", "transfer_rate", "adherence", "qa_score")


@dataclass
class PeriodChoice:
    period: selectors.Period
    error: str = ""
    chosen: list[str] = field(default_factory=list)


def _parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise selectors.BadPeriod(f"'{value}' is not a date YYYY-MM-DD") from exc


def period_from_request(request: HttpRequest, program: Program) -> PeriodChoice:
    """The period in the query string, or the default with the reason when it was wrong (the
    page still opens, and says what was wrong)."""
    key = request.GET.get("period") or None
    try:
        start = end = None
        if key == "custom":
            start, end = _parse_date(request.GET.get("start")), _parse_date(request.GET.get("end"))
        return PeriodChoice(selectors.period_resolve(program, key=key, start=start, end=end))
    except selectors.BadPeriod as exc:
        return PeriodChoice(selectors.period_resolve(program), error=str(exc))


def _chosen_definitions(
    request: HttpRequest, program: Program, default: tuple[str, ...]
) -> tuple[list[MetricDefinition], list[MetricDefinition]]:
    """(chosen, available) agent-level metrics; unknown names in the query are ignored."""
    available = [d for d in MetricDefinition.objects.for_program(program) if d.level == Level.AGENT]
    wanted = request.GET.getlist("m") or [s for s in default if s]
    by_slug = {d.slug: d for d in available}
    chosen = [by_slug[slug] for slug in dict.fromkeys(wanted) if slug in by_slug]
    return chosen or available[:6], available


# --- team ------------------------------------------------------------------------------------


@dataclass
class DashboardLine:
    agent: Person
    cells: list[Cell]
    sparks: list[Any]
    sort_key: Any = None


def _badness(kpi: Kpi) -> float | None:
    """How bad a figure is, bigger = worse: the case-mix adjusted gap where there is one, else
    the value, oriented by the metric's direction. None without data."""
    value = kpi.adjusted_gap if kpi.adjusted_gap is not None else kpi.value
    if value is None or not kpi.n:
        return None
    return value if kpi.definition.direction == Direction.LOWER else -value


def _sorted_by_metric(
    lines: list[DashboardLine], kpis_of: dict[int, dict[str, Kpi]], slug: str, *, worst_first: bool
) -> list[DashboardLine]:
    """Worst first (descending) or best first; agents without data last either way."""
    scored = [(line, _badness(kpis_of[line.agent.pk][slug])) for line in lines]
    present = [(line, score) for line, score in scored if score is not None]
    present.sort(key=lambda pair: pair[1], reverse=worst_first)
    return [line for line, _ in present] + [line for line, score in scored if score is None]


def team_dashboard_context(request: HttpRequest, team: Team) -> dict[str, Any]:
    choice = period_from_request(request, team.program)
    definitions, available = _chosen_definitions(request, team.program, DASHBOARD_DEFAULT)
    agents = list(org_selectors.team_current_agents(user=request.user, team=team))
    period = choice.period
    board = selectors.team_dashboard(
        team=team, agents=agents, start=period.start, end=period.end, definitions=definitions
    )
    week_labels = [w.strftime("%d %b") for w in board.weeks]
    lines = []
    for row in board.rows:
        scope = {"agent": row.agent.pk, "start": period.start, "end": period.end}
        lines.append(
            DashboardLine(
                agent=row.agent,
                cells=[cell(row.kpis[d.slug], records_url(d, **scope)) for d in definitions],
                sparks=[
                    sparkline(
                        row.weekly.get(d.slug, []),
                        label=_("%(metric)s per week, %(first)s to %(last)s")
                        % {
                            "metric": d.label,
                            "first": week_labels[0] if week_labels else "",
                            "last": week_labels[-1] if week_labels else "",
                        },
                    )
                    for d in definitions[:1]
                ],
            )
        )
    sort = request.GET.get("sort", "")
    descending = request.GET.get("dir") == "desc"
    if sort == "name" or sort not in {d.slug for d in definitions}:
        lines.sort(key=lambda line: line.agent.name.lower(), reverse=descending)
    else:
        kpis_of = {row.agent.pk: row.kpis for row in board.rows}
        lines = _sorted_by_metric(lines, kpis_of, sort, worst_first=descending)
    team_scope = {"team": team.pk, "start": period.start, "end": period.end}
    return {
        "team": team,
        "period": period,
        "period_error": choice.error,
        "periods": selectors.PERIODS,
        "definitions": definitions,
        "available": available,
        "chosen_slugs": [d.slug for d in definitions],
        "lines": lines,
        "total_cells": [
            cell(board.total[d.slug], records_url(d, **team_scope)) for d in definitions
        ],
        "targets": [format_target(board.total[d.slug]) for d in definitions],
        "exclusions": board.exclusions,
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "spark_metric": definitions[0] if definitions else None,
        "flagged": sum(1 for line in lines for c in line.cells if c.band),
        "show_total": selectors.aggregates_visible(
            user=request.user, team=team, program=team.program
        ),
    }


@login_required
@require_GET
def team_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The team dashboard as CSV: raw values, n, interval, probability, status per metric."""
    team = org_selectors.team_get(user=request.user, pk=pk)
    context = team_dashboard_context(request, team)
    period: selectors.Period = context["period"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{team.code}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    header = ["agent_external_id", "agent", "start", "end"]
    for definition in context["definitions"]:
        slug = definition.slug
        header += [
            slug,
            f"{slug}_n",
            f"{slug}_low",
            f"{slug}_high",
            f"{slug}_p_worse",
            f"{slug}_status",
        ]
    writer.writerow(header)
    board = selectors.team_dashboard(
        team=team,
        agents=[line.agent for line in context["lines"]],
        start=period.start,
        end=period.end,
        definitions=context["definitions"],
    )
    for row in board.rows:
        values: list[Any] = [
            _csv_text(row.agent.external_id),
            _csv_text(row.agent.name),
            period.start.isoformat(),
            period.end.isoformat(),
        ]
        for definition in context["definitions"]:
            kpi = row.kpis[definition.slug]
            low, high = kpi.interval or (None, None)
            values += [kpi.value, int(kpi.n), low, high, kpi.probability_worse, kpi.status]
        writer.writerow(["" if v is None else v for v in values])
    return response


def _csv_text(value: str) -> str:
    # A name starting with = + - @ would run as a formula in a spreadsheet.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# --- agent -----------------------------------------------------------------------------------


def agent_kpi_context(request: HttpRequest, agent: Person) -> dict[str, Any]:
    program = selectors.agent_program(user=request.user, agent=agent)
    if program is None:
        return {"kpi_program": None}
    choice = period_from_request(request, program)
    period = choice.period
    definitions = [
        d for d in MetricDefinition.objects.for_program(program) if d.level == Level.AGENT
    ]
    team_id = getattr(agent, "current_team_id", None)
    subject = selectors.subject_for_agent(agent, program)
    report = selectors.kpi_report(
        subject=subject,
        start=period.start,
        end=period.end,
        definitions=definitions,
        team_id=team_id,
    )
    scope = {"agent": agent.pk, "start": period.start, "end": period.end}
    # Percentile in the program and the team's weekly median: aggregates of >= 5 agents only.
    everyone = selectors.agent_value_arrays(
        program=program, start=period.start, end=period.end, definitions=definitions
    )
    rows = []
    for kpi in report.metrics:
        others = everyone.present(kpi.slug, leave_out=agent.pk)
        rows.append(
            {
                "kpi": kpi,
                "cell": cell(kpi, records_url(kpi.definition, **scope)),
                "target": format_target(kpi),
                "peer": format_value(kpi.peer_value, display_of(kpi.definition)),
                "expected": format_value(kpi.expected, display_of(kpi.definition))
                if kpi.expected is not None
                else "",
                "percentile": selectors.percentile_better_than(kpi.definition, kpi.value, others),
                "probability": round(100 * kpi.probability_worse)
                if kpi.probability_worse is not None
                else None,
            }
        )
    trends = _agent_trends(request, agent, program, team_id, period, definitions)
    breakdown = _call_type_breakdown(report, definitions, scope)
    return {
        "kpi_program": program,
        "period": period,
        "period_error": choice.error,
        "periods": selectors.PERIODS,
        "kpi_rows": rows,
        "trends": trends,
        "breakdown": breakdown,
        "exclusions": report.exclusions,
    }


TREND_METRICS = ("aht", "fcr", "csat", "adherence", "qa_score")


def _agent_trends(
    request: HttpRequest,
    agent: Person,
    program: Program,
    team_id: int | None,
    period: selectors.Period,
    definitions: list[MetricDefinition],
) -> list[dict[str, Any]]:
    """13 weekly points per metric ending with the period, against the target in force at its
    end and the median of the agent's current team: one read of the agent's and teammates'
    days."""
    chosen = [d for d in definitions if d.slug in TREND_METRICS and not d.filters]
    first = selectors.week_start(period.end, program) - dt.timedelta(weeks=12)
    weeks = selectors.periods(first, period.end, "week", program)
    teammates = (
        org_selectors.team_current_agent_ids(user=request.user, team_id=team_id)
        if team_id is not None
        else []
    )
    with_median = len(teammates) >= selectors.MIN_GROUP
    weekly = selectors.weekly_values(
        program=program,
        agent_ids=list(dict.fromkeys([agent.pk, *(teammates if with_median else [])])),
        weeks=weeks,
        end=period.end,
        definitions=chosen,
    )
    book = selectors.TargetBook(program)
    tenure = (period.end - agent.hire_date).days if agent.hire_date else None
    charts = []
    for definition in chosen:
        values = weekly.get(agent.pk, {}).get(definition.slug, [None] * len(weeks))
        median = (
            [
                selectors.median_of(weekly[mate][definition.slug][w] for mate in teammates)
                for w in range(len(weeks))
            ]
            if with_median
            else None
        )
        target = book.target(definition.slug, on=period.end, team_id=team_id, tenure_days=tenure)
        style = display_of(definition)
        charts.append(
            {
                "definition": definition,
                "svg": trend_chart(
                    labels=[w.strftime("%d %b") for w in weeks],
                    values=values,
                    median=median,
                    target=(target.value, target.upper) if target else None,
                    label=_("%(metric)s per week; target band; team median dashed")
                    % {"metric": definition.label},
                    formatter=partial(format_value, style=style),
                ),
                "has_median": median is not None,
            }
        )
    return charts


@dataclass(frozen=True)
class BreakdownLine:
    definition: MetricDefinition
    call_type: str
    value: str
    peer: str
    n: int
    worse: bool
    weight: float  # relative gap x sqrt(n): big and well-supported gaps first
    url: str | None
    enough: bool


def _call_type_breakdown(
    report: selectors.KpiReport, definitions: list[MetricDefinition], scope: dict[str, Any]
) -> list[BreakdownLine]:
    """Per call type: the agent's value next to the peers' for each case-mix metric, worst gap
    first ("FCR on billing 52% vs peers 78%, n=64"), from the sums the report already read."""
    chosen = [d for d in definitions if d.case_mix or d.slug in ("csat", "transfer_rate")]
    peers, own = report.peers, report.rows
    if peers is None:
        return []
    lines: list[BreakdownLine] = []
    for definition in chosen:
        mine = selectors.by_call_type(definition, own)
        theirs = peers.by_call_type(definition)
        for call_type, sums in mine.items():
            observed = kpis.observe(definition, sums)
            peer = kpis.observe(definition, theirs.get(call_type, {}))
            if observed.value is None or observed.n < 1:
                continue
            gap = observed.value - peer.value if peer.value is not None else None
            # "Worse" only when the evidence is strong: P(true value worse than the program's
            # value on this call type) >= 0.8, from the agent's own sampling distribution.
            belief = kpis.posterior(definition, observed, None)
            worse = (
                belief is not None
                and peer.value is not None
                and stats.probability_worse(
                    belief, direction=definition.direction, target=peer.value
                )
                >= kpis.FLAG_PROBABILITY
            )
            lines.append(
                BreakdownLine(
                    definition=definition,
                    call_type=call_type or _("(none)"),
                    value=format_value(observed.value, display_of(definition)),
                    peer=format_value(peer.value, display_of(definition)),
                    n=int(observed.n),
                    worse=worse,
                    weight=(abs(gap) / (abs(peer.value) or 1)) * observed.n**0.5
                    if gap and peer.value
                    else 0.0,
                    url=records_url(definition, call_type=call_type or None, **scope),
                    enough=observed.n >= max(definition.min_n // 2, 10),
                )
            )
    lines.sort(key=lambda line: (not line.worse, -line.weight))
    return lines


# --- program ---------------------------------------------------------------------------------


def program_kpi_context(request: HttpRequest, program: Program) -> dict[str, Any]:
    if not selectors.aggregates_visible(user=request.user, program=program):
        return {"kpi_hidden": True}
    choice = period_from_request(request, program)
    period = choice.period
    all_definitions = MetricDefinition.objects.for_program(program)
    agent_definitions = [d for d in all_definitions if d.level == Level.AGENT]
    queue_definitions = [d for d in all_definitions if d.level == Level.QUEUE]
    report = selectors.kpi_report(
        subject=selectors.subject_for_program(program),
        start=period.start,
        end=period.end,
        definitions=all_definitions,
    )
    by_slug = report.by_slug()
    program_scope = {"program": program.pk, "start": period.start, "end": period.end}
    teams = list(org_selectors.team_list(user=request.user, program=str(program.pk)))
    team_reports = selectors.team_kpis_side_by_side(
        program=program,
        teams=teams,
        start=period.start,
        end=period.end,
        definitions=agent_definitions,
    )
    attainment = []
    for row in selectors.target_attainment(
        program=program, start=period.start, end=period.end, definitions=agent_definitions
    ):
        definition, target = row.definition, row.target
        style = display_of(definition)
        attainment.append(
            {
                "definition": definition,
                "program_cell": cell(
                    by_slug[definition.slug], records_url(definition, **program_scope)
                ),
                "target": format_target(by_slug[definition.slug]),
                "agents": len(row.values),
                "met": row.met,
                "share": row.share,
                "svg": dot_plot(
                    values=row.values,
                    label=_("%(metric)s: one dot per agent with enough data")
                    % {"metric": definition.label},
                    formatter=partial(format_value, style=style),
                    target=(target.value, target.upper) if target else None,
                ),
            }
        )
    queue_rows = selectors.queue_breakdown(
        program=program, start=period.start, end=period.end, definitions=queue_definitions
    )
    trend = selectors.kpi_report(
        subject=selectors.subject_for_program(program),
        start=selectors.week_start(period.end, program) - dt.timedelta(weeks=12),
        end=period.end,
        definitions=[d for d in agent_definitions if d.slug in TREND_METRICS]
        + queue_definitions[:1],
        granularity="week",
    )
    trend_charts = []
    for index, overall in enumerate(trend.metrics):
        series = [(begins, items[index]) for begins, items in trend.series or []]
        style = display_of(overall.definition)
        last_target = series[-1][1].target if series else None
        trend_charts.append(
            {
                "definition": overall.definition,
                "svg": trend_chart(
                    labels=[b.strftime("%d %b") for b, _ in series],
                    values=[k.value for _, k in series],
                    target=(last_target.value, last_target.upper) if last_target else None,
                    label=_("%(metric)s per week; target band")
                    % {"metric": overall.definition.label},
                    formatter=partial(format_value, style=style),
                ),
            }
        )
    return {
        "period": period,
        "period_error": choice.error,
        "periods": selectors.PERIODS,
        "agent_definitions": agent_definitions,
        "queue_cells": [
            (
                d,
                cell(by_slug[d.slug], records_url(d, **program_scope)),
                format_target(by_slug[d.slug]),
            )
            for d in queue_definitions
        ],
        "queue_definitions": queue_definitions,
        "queue_rows": [
            (queue, [cell(kpi) for kpi in kpis_])
            for queue, kpis_ in queue_rows
            if any(kpi.n for kpi in kpis_)
        ],
        "team_rows": [
            (
                team,
                [
                    cell(
                        kpis_[d.slug],
                        records_url(d, team=team.pk, start=period.start, end=period.end),
                    )
                    for d in agent_definitions
                ],
            )
            for team, kpis_ in team_reports
            if _has_data(kpis_.values())
        ],
        # Teams without a contact or an activity day in the period are named, not tabled: a
        # program of a hundred teams, most of them idle or new, stays readable.
        "quiet_teams": [team for team, kpis_ in team_reports if not _has_data(kpis_.values())],
        "attainment": attainment,
        "trend_charts": trend_charts,
        "exclusions": report.exclusions,
        "can_manage": _can_manage(request, program),
    }


def _has_data(kpis_: Iterable[Kpi]) -> bool:
    return any(kpi.n for kpi in kpis_)


def _can_manage(request: HttpRequest, program: Program) -> bool:
    return selectors.can_manage_kpis(user=request.user, program=program)


# --- manager pages: targets and exclusions --------------------------------------------------


def _require_manager(request: HttpRequest, program: Program) -> None:
    if not _can_manage(request, program):
        raise PermissionDenied(_("Only the program's managers and org admins may change this."))


@login_required
@require_http_methods(["GET", "POST"])
def targets_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A program's targets with their history; managers add one from a date on."""
    program = org_selectors.program_get(user=request.user, pk=pk)
    form = TargetForm(program=program)
    if request.method == "POST":
        _require_manager(request, program)
        form = TargetForm(request.POST, program=program)
        if form.is_valid():
            try:
                services.target_set(program=program, by=request.user, **form.service_arguments())
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request, _("Target saved; earlier periods keep the target they had.")
                )
                return redirect("metrics:targets", pk=program.pk)
    targets = (
        Target.objects.visible_to(request.user)
        .filter(program=program)
        .select_related("team")
        .order_by("metric", "-effective_from", "-pk")
    )
    labels = {d.slug: d.label for d in MetricDefinition.objects.for_program(program)}
    return render(
        request,
        "metrics/targets.html",
        {
            "program": program,
            "form": form,
            "targets": [(t, labels.get(t.metric, t.metric)) for t in targets],
            "can_manage": _can_manage(request, program),
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def exclusions_page(request: HttpRequest, pk: int) -> HttpResponse:
    """What is left out of agent KPIs and why; managers exclude days, a queue or contacts."""
    program = org_selectors.program_get(user=request.user, pk=pk)
    form = ExclusionForm()
    if request.method == "POST":
        _require_manager(request, program)
        form = ExclusionForm(request.POST)
        if form.is_valid():
            try:
                services.exclusion_create(
                    program=program, by=request.user, **form.service_arguments(program)
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request, _("Excluded from agent KPIs; the figures are recomputed.")
                )
                return redirect("metrics:exclusions", pk=program.pk)
    return render(
        request,
        "metrics/exclusions.html",
        {
            "program": program,
            "form": form,
            "exclusions": Exclusion.objects.visible_to(request.user)
            .filter(program=program)
            .order_by("-created_at", "-pk"),
            "can_manage": _can_manage(request, program),
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def exclusion_revert(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first (GET), reverts on POST: the contacts count again."""
    exclusion = get_object_or_404(
        Exclusion.objects.visible_to(request.user).select_related("program"), pk=pk
    )
    if request.method == "POST":
        _require_manager(request, exclusion.program)
        services.exclusion_revert(exclusion=exclusion, by=request.user)
        messages.success(request, _("The exclusion is reverted; the contacts count again."))
        return redirect("metrics:exclusions", pk=exclusion.program_id)
    return render(
        request,
        "metrics/exclusion_revert.html",
        {"exclusion": exclusion, "can_manage": _can_manage(request, exclusion.program)},
    )


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field_name, errors in exc.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)

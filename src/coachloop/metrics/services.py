"""Writes of the metrics app: recomputing rollups and peer priors, targets, exclusions."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from coachloop.core.db import planner_statistics_refresh
from coachloop.core.services import event_record
from coachloop.interactions.models import AgentDay, Interaction, RecomputeMark
from coachloop.interactions.services import recompute_marks_add
from coachloop.metrics import kpis, rollups, stats
from coachloop.metrics.models import (
    AgentDaily,
    CallTypeRunningTotal,
    DailyRollup,
    ExcludedContact,
    Exclusion,
    ExclusionKind,
    Level,
    MetricDefinition,
    PeerPrior,
    ProgramDaily,
    RollupStamp,
    RunningTotal,
    Target,
)
from coachloop.metrics.selectors import DIMENSIONS, Rows, can_manage_kpis, grouped_sums
from coachloop.org.models import Program, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

PRIOR_WINDOW_DAYS = 91
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RecomputeSummary:
    programs: int
    ranges: int
    days: int
    seconds: float


# --- rollups ---------------------------------------------------------------------------------


def rollups_apply_marks(*, progress: Progress | None = None) -> RecomputeSummary:
    """Rebuild every marked program day, then drop the marks that were consumed. A mark written
    while this runs (a newer ``marked_at``) survives for the next run."""
    started = timezone.now()
    marks = list(RecomputeMark.objects.values_list("pk", "program_id", "date", "marked_at"))
    by_program: dict[int, list[dt.date]] = defaultdict(list)
    for _, program_id, day, _ in marks:
        by_program[program_id].append(day)
    ranges = [
        day_range
        for program_id, days in sorted(by_program.items())
        for day_range in rollups.contiguous_ranges(program_id, days)
    ]
    _rebuild(ranges, progress)
    # Drop the consumed marks in bulk; one marked again meanwhile has a newer time and stays.
    if marks:
        newest = max(marked_at for *_, marked_at in marks)
        ids = [pk for pk, *_ in marks]
        for chunk in range(0, len(ids), 500):
            RecomputeMark.objects.filter(
                pk__in=ids[chunk : chunk + 500], marked_at__lte=newest
            ).delete()
    for program_id in by_program:
        _rollups_changed(Program.objects.get(pk=program_id))
    _statistics_refresh(sum((r.end - r.start).days + 1 for r in ranges))
    return RecomputeSummary(
        programs=len(by_program),
        ranges=len(ranges),
        days=len(marks),
        seconds=(timezone.now() - started).total_seconds(),
    )


def rollups_rebuild(
    *, since: dt.date | None = None, progress: Progress | None = None
) -> RecomputeSummary:
    """Rebuild every program's rollups from ``since`` (all history when None) to its latest fact,
    and clear the marks inside that span."""
    started = timezone.now()
    ranges: list[rollups.DayRange] = []
    for program in Program.objects.order_by("pk"):
        span = _fact_span(program)
        if span is None:
            continue
        first, last = span
        first = max(first, since) if since else first
        if first <= last:
            ranges.extend(_chunks(program.pk, first, last))
    _rebuild(ranges, progress)
    marks = RecomputeMark.objects.all()
    if since:
        marks = marks.filter(date__gte=since)
    marks.delete()
    programs = {r.program_id for r in ranges}
    for program in Program.objects.filter(pk__in=programs):
        _rollups_changed(program)
    _statistics_refresh(sum((r.end - r.start).days + 1 for r in ranges))
    return RecomputeSummary(
        programs=len(programs),
        ranges=len(ranges),
        days=sum((r.end - r.start).days + 1 for r in ranges),
        seconds=(timezone.now() - started).total_seconds(),
    )


# A refresh of this many program-days or more (an import, not one evaluation) is a bulk change:
# the planner's statistics of the facts and the rollups are refreshed after it (the facts too:
# the diagnosis' evidence reads an agent's contacts, 54 ms through the wrong index against 7).
BULK_DAYS = 28
ANALYZED_MODELS = (
    Interaction,
    AgentDay,
    DailyRollup,
    AgentDaily,
    ProgramDaily,
    RunningTotal,
    CallTypeRunningTotal,
)


def _statistics_refresh(days: int) -> None:
    if days >= BULK_DAYS:
        planner_statistics_refresh([model._meta.db_table for model in ANALYZED_MODELS])


def _rollups_changed(program: Program) -> None:
    """After a program's rollups were rebuilt: new peer priors and a new version stamp."""
    stamp, _ = RollupStamp.objects.get_or_create(program=program)
    RollupStamp.objects.filter(pk=stamp.pk).update(version=F("version") + 1)
    peer_priors_refresh(program=program)


def _fact_span(program: Program) -> tuple[dt.date, dt.date] | None:
    """The days with facts or with rollups: a day whose facts were deleted must lose its
    rollups too."""
    contacts = Interaction.objects.filter(program=program).aggregate(
        first=Min("local_date"), last=Max("local_date")
    )
    days = AgentDay.objects.filter(program=program).aggregate(first=Min("date"), last=Max("date"))
    rolled = DailyRollup.objects.filter(program=program).aggregate(
        first=Min("date"), last=Max("date")
    )
    running = RunningTotal.objects.filter(program=program).aggregate(
        first=Min("date"), last=Max("date")
    )
    spans = (contacts, days, rolled, running)
    firsts = [span["first"] for span in spans if span["first"]]
    lasts = [span["last"] for span in spans if span["last"]]
    if not firsts:
        return None
    return min(firsts), max(lasts)


def _chunks(
    program_id: int, first: dt.date, last: dt.date, days: int = 31
) -> list[rollups.DayRange]:
    # A month per transaction: big rebuilds commit as they go and show progress.
    chunks = []
    start = first
    while start <= last:
        end = min(start + dt.timedelta(days=days - 1), last)
        chunks.append(rollups.DayRange(program_id, start, end))
        start = end + dt.timedelta(days=1)
    return chunks


def _rebuild(ranges: list[rollups.DayRange], progress: Progress | None) -> None:
    earliest: dict[int, dt.date] = {}
    for index, day_range in enumerate(ranges, start=1):
        rollups.range_rebuild(day_range)
        if progress:
            progress(
                f"{index}/{len(ranges)} program {day_range.program_id} "
                f"{day_range.start}..{day_range.end}"
            )
        first = earliest.get(day_range.program_id, day_range.start)
        earliest[day_range.program_id] = min(first, day_range.start)
    # Running totals carry every earlier day forward: rebuild each program's from its first
    # rebuilt day to the end.
    for program_id, since in sorted(earliest.items()):
        rollups.running_totals_rebuild(program_id, since)
        if progress:
            progress(f"running totals of program {program_id} from {since}")


def peer_priors_refresh(*, program: Program) -> list[PeerPrior]:
    """Estimate, per metric, how much agents' true values spread over the 13 weeks before the
    program's latest day (method of moments on agents with enough data)."""
    latest = AgentDaily.objects.filter(program=program).aggregate(last=Max("date"))["last"]
    if latest is None:
        PeerPrior.objects.filter(program=program).delete()
        return []
    start = latest - dt.timedelta(days=PRIOR_WINDOW_DAYS - 1)
    definitions = [
        d for d in MetricDefinition.objects.for_program(program) if d.level == Level.AGENT
    ]
    per_agent: dict[int, Rows] = defaultdict(Rows)
    for dims, sums in grouped_sums(
        DailyRollup,
        {
            "program_id": program.pk,
            "agent_id__isnull": False,
            "excluded": False,
            "date__gte": start,
            "date__lte": latest,
        },
        ["agent_id", *DIMENSIONS],
        kpis.measures_of(definitions),
    ):
        per_agent[dims["agent_id"]].append((dims, sums))
    kept: list[PeerPrior] = []
    with transaction.atomic():
        PeerPrior.objects.filter(program=program).delete()
        for definition in definitions:
            estimates: list[tuple[float, float]] = []
            for rows in per_agent.values():
                total: dict[str, float] = {}
                for dims, sums in rows:
                    if kpis.matches(definition, dims):
                        kpis.add_sums(total, sums)
                observation = kpis.observe(definition, total)
                if observation.value is not None and observation.n >= definition.min_n:
                    estimates.append((observation.value, observation.variance))
            spread = stats.between_variance(estimates)
            if spread is None or not math.isfinite(spread):
                continue
            kept.append(
                PeerPrior.objects.create(
                    program=program,
                    metric=definition.slug,
                    mean=sum(x for x, _ in estimates) / len(estimates),
                    between_variance=spread,
                    agents=len(estimates),
                    window_start=start,
                    window_end=latest,
                )
            )
    return kept


def _mark(program: Program, start: dt.date, end: dt.date, reason: str) -> None:
    days = {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
    recompute_marks_add(marks={(program.pk, day) for day in days}, reason=reason)


def _user_or_none(user: AnyUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


# --- targets ---------------------------------------------------------------------------------


def _require_manager(user: AnyUser, program: Program) -> None:
    if not can_manage_kpis(user=user, program=program):
        raise PermissionDenied("Only the program's managers and org admins may do this.")


@transaction.atomic
def target_set(
    *,
    program: Program,
    metric: str,
    value: float,
    effective_from: dt.date,
    by: AnyUser | None,
    team: Team | None = None,
    upper: float | None = None,
    threshold: float | None = None,
    tenure_min_days: int | None = None,
    tenure_max_days: int | None = None,
) -> Target:
    """Add a target from a date on; earlier periods keep the target they had."""
    if by is not None:
        _require_manager(by, program)
    known = {d.slug for d in MetricDefinition.objects.for_program(program)}
    if metric not in known:
        raise ValidationError({"metric": f"Unknown metric {metric!r}"})
    if team is not None and team.program_id != program.pk:
        raise ValidationError({"team": "The team is in another program"})
    if upper is not None and upper < value:
        raise ValidationError({"upper": "A range's high end must not be below its low end"})
    target = Target.objects.create(
        program=program,
        metric=metric,
        team=team,
        value=value,
        upper=upper,
        threshold=threshold,
        tenure_min_days=tenure_min_days,
        tenure_max_days=tenure_max_days,
        effective_from=effective_from,
        created_by=_user_or_none(by),
    )
    event_record(
        verb="target.set",
        actor=by,
        target=target,
        program=program,
        params={"metric": metric, "value": value, "effective_from": effective_from.isoformat()},
    )
    return target


# --- exclusions ------------------------------------------------------------------------------


@transaction.atomic
def exclusion_create(
    *,
    program: Program,
    kind: str,
    start: dt.date,
    end: dt.date,
    reason: str,
    by: AnyUser | None,
    queue: str = "",
    interaction_ids: list[int] | None = None,
) -> Exclusion:
    """Leave days, a queue or single contacts out of agent KPIs; the touched days are rebuilt
    before this returns, so dashboards show the change at once."""
    if by is not None:
        _require_manager(by, program)
    if kind not in ExclusionKind.values:
        raise ValidationError({"kind": f"One of {', '.join(ExclusionKind.values)}"})
    if not reason.strip():
        raise ValidationError({"reason": "Say why (an outage, a system failure...)"})
    if end < start:
        raise ValidationError({"end": "The last day is before the first"})
    if kind == ExclusionKind.QUEUE and not queue:
        raise ValidationError({"queue": "Name the queue"})
    contacts: list[Interaction] = []
    if kind == ExclusionKind.CONTACTS:
        contacts = list(Interaction.objects.filter(program=program, pk__in=interaction_ids or []))
        if not contacts:
            raise ValidationError({"interactions": "No contacts of this program were named"})
        start = min(c.local_date for c in contacts)
        end = max(c.local_date for c in contacts)
    exclusion = Exclusion.objects.create(
        program=program,
        kind=kind,
        start=start,
        end=end,
        queue=queue if kind == ExclusionKind.QUEUE else "",
        reason=reason.strip(),
        created_by=_user_or_none(by),
    )
    ExcludedContact.objects.bulk_create(
        [ExcludedContact(exclusion=exclusion, interaction=c) for c in contacts]
    )
    event_record(
        verb="exclusion.created",
        actor=by,
        target=exclusion,
        program=program,
        params={
            "kind": kind,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "queue": exclusion.queue,
            "contacts": len(contacts),
            "reason": exclusion.reason,
        },
    )
    _mark(program, start, end, "exclusion")
    transaction.on_commit(lambda: rollups_apply_marks())
    return exclusion


@transaction.atomic
def exclusion_revert(*, exclusion: Exclusion, by: AnyUser | None) -> Exclusion:
    """Put the excluded contacts back into agent KPIs (the exclusion stays, as history)."""
    if by is not None:
        _require_manager(by, exclusion.program)
    reverted = Exclusion.objects.filter(pk=exclusion.pk, reverted_at__isnull=True).update(
        reverted_at=timezone.now(),
        reverted_by=_user_or_none(by),
    )
    exclusion.refresh_from_db()
    if reverted:
        event_record(
            verb="exclusion.reverted",
            actor=by,
            target=exclusion,
            program=exclusion.program,
            params={"reason": exclusion.reason},
        )
        _mark(exclusion.program, exclusion.start, exclusion.end, "exclusion reverted")
        transaction.on_commit(lambda: rollups_apply_marks())
    return exclusion

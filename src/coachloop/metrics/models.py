"""Metric definitions, targets, exclusions, and the daily rollups every KPI is summed from.

Three rollup tables hold the same measure columns (``measures.MEASURES``) at three grains, each
rebuilt from the facts by ``rollups.py`` for the program days an import or an exclusion marked:

- ``DailyRollup``: one row per (program, local day, team at the time, agent or none, queue,
  channel, call type, excluded). The finest grain: filters on any dimension, call-type mixes,
  queue metrics (agent-less rows included). Activity (WFM) rows have an empty channel.
- ``AgentDaily``: one row per (program, day, team at the time, agent), excluded rows left out:
  what dashboards sum per agent and per team.
- ``ProgramDaily``: one row per (program, day, queue, channel, call type, excluded): program
  totals, peer rates per call type (case-mix) and queue metrics, summed per request for any
  window.

``PeerPrior`` keeps, per program and metric, the spread of agents' true values that shrinkage
needs, estimated once per recompute instead of on every request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from coachloop.interactions.models import Interaction
from coachloop.metrics.measures import MEASURE_NAMES
from coachloop.org.models import Person, Program, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class MetricKind(models.TextChoices):
    RATE = "rate", "rate (successes / trials: beta-binomial)"
    MEAN = "mean", "mean (sum / count with squares: normal-normal)"
    RATIO = "ratio", "ratio of two sums over days (delta method: normal-normal)"
    PER_HOUR = "per_hour", "count per exposure hour (Poisson: normal-normal)"


class Direction(models.TextChoices):
    HIGHER = "higher", "higher is better"
    LOWER = "lower", "lower is better"
    RANGE = "range", "inside a target range"


class Unit(models.TextChoices):
    SECONDS = "s", "seconds"
    RATIO = "ratio", "ratio 0-1"
    POINTS = "points", "points"
    SCORE = "score", "score 0-100"
    PER_HOUR = "per_hour", "per hour"


class Display(models.TextChoices):
    DURATION = "duration", "m:ss"
    SECONDS = "seconds", "seconds (412 s)"
    PERCENT = "percent", "percent, one decimal (73.4%)"
    PERCENT0 = "percent0", "percent, whole (73%)"
    PER_HOUR = "per_hour", "per hour (12.7/h)"
    POINTS = "points", "points (4.09, 48)"
    INTEGER = "integer", "whole number"
    DECIMAL1 = "decimal1", "one decimal"
    DECIMAL2 = "decimal2", "two decimals"


class Level(models.TextChoices):
    AGENT = "agent", "agent metric"
    QUEUE = "queue", "queue metric (program and queue only)"


class MetricDefinitionQuerySet(models.QuerySet["MetricDefinition"]):
    def for_program(self, program: Program) -> list[MetricDefinition]:
        """The program's metrics: the built-in defaults (``defaults.py``), replaced or extended
        by rows for every program (no program), then by the program's own rows, matched by slug;
        in display order."""
        from coachloop.metrics.defaults import default_definitions

        chosen = {definition.slug: definition for definition in default_definitions()}
        rows = self.filter(Q(program__isnull=True) | Q(program=program))
        for row in sorted(rows, key=lambda r: r.program_id is not None):
            chosen[row.slug] = row
        return sorted(
            (row for row in chosen.values() if row.active), key=lambda r: (r.position, r.slug)
        )


class MetricDefinition(models.Model):
    """A metric as data: a ratio of two sums of measures, optionally over rows whose dimensions
    match ``filters`` (``{"call_type": ["billing"], "channel": ["chat"]}``)."""

    program = models.ForeignKey(
        Program,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="metric_definitions",
        help_text="Empty: a default for every program",
    )
    slug = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=MetricKind.choices)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.AGENT)
    numerator = models.CharField(
        max_length=200, help_text="Measures joined by + and -, e.g. nps_promoters - nps_detractors"
    )
    denominator = models.CharField(max_length=50, help_text="One measure")
    square = models.CharField(
        max_length=200, blank=True, help_text="Mean: the sum of squares of the numerator's units"
    )
    denominator_square = models.CharField(max_length=50, blank=True, help_text="Ratio only")
    cross = models.CharField(max_length=50, blank=True, help_text="Ratio only")
    count = models.CharField(
        max_length=50, blank=True, help_text="Ratio and per-hour: the measure that is n"
    )
    scale = models.FloatField(default=1.0, help_text="value = scale x numerator / denominator")
    unit = models.CharField(max_length=10, choices=Unit.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    display = models.CharField(
        max_length=10,
        choices=Display.choices,
        blank=True,
        help_text="How values read on pages; empty: by unit (seconds as m:ss, ratios as 12.3%)",
    )
    filters: models.JSONField[dict[str, list[str]]] = models.JSONField(default=dict, blank=True)
    case_mix = models.BooleanField(
        default=False, help_text="Show the value expected from the agent's call-type mix"
    )
    min_n = models.PositiveIntegerField(default=30, help_text="Below this n: not enough data")
    position = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)

    objects = MetricDefinitionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(program__isnull=True),
                name="metric_default_slug_unique",
            ),
            models.UniqueConstraint(fields=["program", "slug"], name="metric_program_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class TargetQuerySet(models.QuerySet["Target"]):
    def visible_to(self, user: AnyUser) -> TargetQuerySet:
        return self.filter(program__in=Program.objects.visible_to(user))


class Target(models.Model):
    """What good looks like for a metric in a program, from a date on. A newer row replaces an
    older one only from its ``effective_from``, so past periods keep the target they had. A row
    for a team, or for a tenure band (days since hire), is more specific than the program's."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="targets")
    metric = models.SlugField(max_length=50)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="targets"
    )
    tenure_min_days = models.PositiveIntegerField(null=True, blank=True)
    tenure_max_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Exclusive: 0-90 days is min 0, max 90"
    )
    value = models.FloatField(help_text="The target; for a range, its low end")
    upper = models.FloatField(null=True, blank=True, help_text="A range's high end")
    threshold = models.FloatField(
        null=True, blank=True, help_text="Beyond this, on the worse side: well off target"
    )
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TargetQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["program", "metric"], name="target_program_metric_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(upper__isnull=True) | Q(upper__gte=models.F("value")),
                name="target_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.metric} {self.value} from {self.effective_from}"


class ExclusionKind(models.TextChoices):
    DAY = "day", "whole days"
    QUEUE = "queue", "a queue on some days"
    CONTACTS = "contacts", "single contacts"


class ExclusionQuerySet(models.QuerySet["Exclusion"]):
    def visible_to(self, user: AnyUser) -> ExclusionQuerySet:
        return self.filter(program__in=Program.objects.visible_to(user))

    def in_force(self) -> ExclusionQuerySet:
        return self.filter(reverted_at__isnull=True)


class Exclusion(models.Model):
    """Contacts left out of agent KPIs for a reason (an outage, a system failure). Queue
    metrics still count them: the customers did call. Reverting puts them back."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="exclusions")
    kind = models.CharField(max_length=10, choices=ExclusionKind.choices)
    start = models.DateField(help_text="Local days, inclusive")
    end = models.DateField()
    queue = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ExclusionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="exclusion_dates"),
            models.CheckConstraint(
                condition=~Q(kind="queue") | ~Q(queue=""), name="exclusion_queue_named"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ExclusionKind.values), name="exclusion_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start}..{self.end}: {self.reason}"


class ExcludedContact(models.Model):
    exclusion = models.ForeignKey(Exclusion, on_delete=models.CASCADE, related_name="contacts")
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exclusion", "interaction"], name="excluded_contact_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.exclusion_id}: {self.interaction_id}"


class MeasureColumns(models.Model):
    """One float column per canonical measure (sums, counts, sums of squares)."""

    for _name in MEASURE_NAMES:
        locals()[_name] = models.FloatField(default=0)
    del _name

    class Meta:
        abstract = True


# The rollups' foreign keys have no index of their own: the composite (x, date) indexes serve
# every query, and a lone program_id index tempts PostgreSQL into scanning a program's whole
# history for long windows (measured: 121 ms against 20 ms at 1M contacts).
class DailyRollup(MeasureColumns):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    team = models.ForeignKey(
        Team, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent = models.ForeignKey(
        Person, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    queue = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, blank=True, help_text="Empty: an activity row")
    call_type = models.CharField(max_length=100, blank=True)
    excluded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["program", "date"], name="rollup_program_day_idx"),
            models.Index(fields=["agent", "date"], name="rollup_agent_day_idx"),
            models.Index(fields=["team", "date"], name="rollup_team_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.date} {self.agent_id}"


class AgentDaily(MeasureColumns):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    team = models.ForeignKey(
        Team, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["program", "date"], name="agentdaily_program_day_idx"),
            models.Index(fields=["agent", "date"], name="agentdaily_agent_day_idx"),
            models.Index(fields=["team", "date"], name="agentdaily_team_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.date}"


class ProgramDaily(MeasureColumns):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    queue = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    call_type = models.CharField(max_length=100, blank=True)
    excluded = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["program", "date"], name="programdaily_day_idx")]

    def __str__(self) -> str:
        return f"{self.program_id} {self.date}"


class RunningTotal(MeasureColumns):
    """Per program and day, each agent's (or team's) sums from their first day through this
    one, on every day the program has activity. Any window's per-agent sums are then two rows
    per agent, the window's last day minus the day before it: the program page's distribution
    and the agent page's percentile cost the same for a week and for a year."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    agent = models.ForeignKey(
        Person, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        indexes = [models.Index(fields=["program", "date"], name="runningtotal_day_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(agent__isnull=True) | Q(team__isnull=True),
                name="runningtotal_agent_or_team",
            )
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.date} {self.agent_id or self.team_id}"


class CallTypeRunningTotal(MeasureColumns):
    """RunningTotal per call type too, from the fine rollup (excluded rows left out; activity
    rows under the empty call type): any window's sums of an agent or team on each call type
    in two rows per type. The team dashboard's and reports' case-mix comparison then costs the
    same for a week and for a year."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    agent = models.ForeignKey(
        Person, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    call_type = models.CharField(max_length=100, blank=True)

    class Meta:
        # A report reads one agent's (team's) rows on two days: (agent, date) finds them
        # without scanning every agent of the program on those days.
        indexes = [
            models.Index(fields=["program", "date"], name="calltypetotal_day_idx"),
            models.Index(fields=["agent", "date"], name="calltypetotal_agent_day_idx"),
            models.Index(fields=["team", "date"], name="calltypetotal_team_day_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(agent__isnull=True) | Q(team__isnull=True),
                name="calltypetotal_agent_or_team",
            )
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.date} {self.agent_id or self.team_id} {self.call_type}"


class RollupStamp(models.Model):
    """How many times a program's rollups have changed. Whoever keeps results derived from
    them (the diagnosis context, insights/contexts.py) compares versions instead of re-reading
    the rollups."""

    program = models.OneToOneField(
        Program, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.program_id} v{self.version}"


class PeerPrior(models.Model):
    """How much agents' true values spread in a program, per metric: the prior of the shrinkage.
    Estimated by the method of moments over the 13 weeks before the program's latest day."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    metric = models.SlugField(max_length=50)
    mean = models.FloatField()
    between_variance = models.FloatField()
    agents = models.PositiveIntegerField()
    window_start = models.DateField()
    window_end = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "metric"], name="peer_prior_unique")
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.metric}"

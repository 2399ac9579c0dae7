"""The organization: programs, sites, teams, people, their ids in other systems, roles and teams
over time. Visibility of every model is its queryset's ``visible_to(user)`` (see ``scope.py``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from coachloop.core.models import TimeStampedModel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class Channel(models.TextChoices):
    VOICE = "voice", "Voice"
    CHAT = "chat", "Chat"
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    SOCIAL = "social", "Social"


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    LEAD = "lead", "Team lead"
    QA = "qa", "QA analyst"
    MANAGER = "manager", "Program manager"
    ADMIN = "admin", "Org admin"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Organization(TimeStampedModel):
    """The one organization of an installation (a BPO or an in-house contact center)."""

    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class ProgramQuerySet(models.QuerySet["Program"]):
    def visible_to(self, user: AnyUser) -> ProgramQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        return self.filter(pk__in=scope.all_program_ids)


class Program(TimeStampedModel):
    """A client's line of business: the hard data boundary."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="programs"
    )
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    client = models.CharField(max_length=200, blank=True)
    channels: models.JSONField[list[str]] = models.JSONField(default=list, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    first_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY
    )
    service_level_s = models.PositiveIntegerField(
        default=20,
        help_text="Service level: the share of contacts answered within this many seconds",
    )

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_weekday__gte=0, first_weekday__lte=6),
                name="program_first_weekday_0_6",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SiteQuerySet(models.QuerySet["Site"]):
    def visible_to(self, user: AnyUser) -> SiteQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        return self.filter(pk__in=Team.objects.visible_to(user).values("site_id"))


class Site(TimeStampedModel):
    """A physical or virtual location agents work from."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sites")
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class TeamQuerySet(models.QuerySet["Team"]):
    def visible_to(self, user: AnyUser) -> TeamQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        return self.filter(
            Q(program_id__in=scope.program_role_program_ids)
            | Q(pk__in=scope.lead_team_ids)
            | Q(pk__in=scope.agent_team_ids)
        )


class Team(TimeStampedModel):
    """A lead's team inside one program, at one site, with its coaching cadence."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="teams")
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="teams"
    )
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    coaching_cadence_days = models.PositiveSmallIntegerField(
        default=14, help_text="An agent is due a one-to-one this many days after the last one."
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["program__code", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(coaching_cadence_days__gte=1, coaching_cadence_days__lte=366),
                name="team_cadence_1_366_days",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PersonQuerySet(models.QuerySet["Person"]):
    def visible_to(self, user: AnyUser) -> PersonQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        if not scope.is_authenticated:
            return self.none()
        in_program_roles = RoleAssignment.objects.active().filter(
            program_id__in=scope.program_role_program_ids
        )
        on_led_teams = Membership.objects.current().filter(team_id__in=scope.lead_team_ids)
        return self.filter(
            Q(pk=scope.person_id)
            | Q(pk__in=in_program_roles.values("person_id"))
            | Q(pk__in=on_led_teams.values("person_id"))
        )

    def agents(self) -> PersonQuerySet:
        return self.filter(
            pk__in=RoleAssignment.objects.filter(role=Role.AGENT).values("person_id")
        )

    def active_on(self, day: dt.date) -> PersonQuerySet:
        return self.filter(Q(termination_date__isnull=True) | Q(termination_date__gt=day))


class Person(TimeStampedModel):
    """An agent or a member of staff. ``external_id`` is the id the person was created with;
    their ids in each source system (ACD, WFM, QA tool, HR) are ``ExternalId`` rows."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="people")
    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    hire_date = models.DateField(null=True, blank=True)
    termination_date = models.DateField(null=True, blank=True)
    termination_reason = models.CharField(max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name", "external_id"]
        verbose_name_plural = "people"
        constraints = [
            models.CheckConstraint(
                condition=Q(termination_date__isnull=True)
                | Q(hire_date__isnull=True)
                | Q(termination_date__gte=models.F("hire_date")),
                name="person_terminated_after_hire",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"

    def is_active_on(self, day: dt.date) -> bool:
        return self.termination_date is None or self.termination_date > day


class ExternalIdQuerySet(models.QuerySet["ExternalId"]):
    def visible_to(self, user: AnyUser) -> ExternalIdQuerySet:
        return self.filter(person__in=Person.objects.visible_to(user).values("pk"))


class ExternalId(models.Model):
    """A person's id in one source system: one per (person, source), unique per source."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="external_ids")
    source = models.SlugField(max_length=50)
    external_id = models.CharField(max_length=100)

    objects = ExternalIdQuerySet.as_manager()

    class Meta:
        ordering = ["source"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="external_id_per_source"
            ),
            models.UniqueConstraint(fields=["person", "source"], name="one_external_id_per_source"),
        ]
        indexes = [models.Index(fields=["external_id"], name="external_id_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active(self, on: dt.date | None = None) -> RoleAssignmentQuerySet:
        day = on or timezone.localdate()
        return self.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))

    def visible_to(self, user: AnyUser) -> RoleAssignmentQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        return self.filter(
            person__in=Person.objects.visible_to(user).values("pk"),
            program_id__in=scope.all_program_ids,
        )


class RoleAssignment(TimeStampedModel):
    """A role a person holds: agent or QA or manager in a program, lead of a team, org admin.

    A person may hold several. Ending a role sets ``ended_on`` so the history stays.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=10, choices=Role.choices)
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="role_assignments"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="role_assignments"
    )
    ended_on = models.DateField(null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["person", "role"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role=Role.ADMIN) & Q(program__isnull=True) & Q(team__isnull=True))
                | (~Q(role=Role.ADMIN) & Q(program__isnull=False)),
                name="role_admin_has_no_program_others_do",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.LEAD) | Q(team__isnull=False),
                name="role_lead_has_team",
            ),
            models.UniqueConstraint(
                fields=["person", "role", "program", "team"],
                condition=Q(team__isnull=False),
                name="role_unique_with_team",
            ),
            models.UniqueConstraint(
                fields=["person", "role", "program"],
                condition=Q(team__isnull=True, program__isnull=False),
                name="role_unique_in_program",
            ),
            models.UniqueConstraint(
                fields=["person", "role"],
                condition=Q(program__isnull=True),
                name="role_unique_org_wide",
            ),
        ]

    def __str__(self) -> str:
        where = self.team or self.program or "organization"
        return f"{self.person.name}: {self.get_role_display()} of {where}"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def on(self, day: dt.date) -> MembershipQuerySet:
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day), valid_from__lte=day)

    def current(self) -> MembershipQuerySet:
        return self.on(timezone.localdate())

    def visible_to(self, user: AnyUser) -> MembershipQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        return self.filter(
            person__in=Person.objects.visible_to(user).values("pk"),
            team__program_id__in=scope.all_program_ids,
        )


class Membership(models.Model):
    """An agent on a team from ``valid_from`` (inclusive) until ``valid_to`` (exclusive; open
    when null). History is kept so KPIs go to the team the agent was on at the time."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="memberships")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["person", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="membership_ends_after_it_starts",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(valid_to__isnull=True),
                name="membership_one_open_per_person",
            ),
            models.UniqueConstraint(
                fields=["person", "valid_from"], name="membership_one_start_per_day"
            ),
        ]
        indexes = [models.Index(fields=["team", "valid_from"], name="membership_team_idx")]

    def __str__(self) -> str:
        until = self.valid_to.isoformat() if self.valid_to else "now"
        return f"{self.person.name} on {self.team.code} {self.valid_from.isoformat()} to {until}"

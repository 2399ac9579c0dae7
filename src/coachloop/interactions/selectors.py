"""Reads of the facts, scoped to the user."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404

from coachloop.interactions.models import Interaction

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


@dataclass(frozen=True)
class InteractionFilters:
    agent: int | None = None
    team: int | None = None
    program: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    call_type: str | None = None
    queue: str | None = None
    channel: str | None = None
    resolved: bool | None = None  # the FCR outcome: the source flag, else the derived one
    outcome_known: bool | None = None  # has an FCR outcome (counts in FCR's n)
    timed: bool | None = None  # has a talk time (counts in AHT's n)
    answered: bool | None = None
    transferred: bool | None = None
    escalated: bool | None = None
    surveyed: bool | None = None  # has a CSAT response
    csat_top2: bool | None = None


def interaction_list(
    *, user: AbstractBaseUser | AnonymousUser, filters: InteractionFilters
) -> QuerySet[Interaction]:
    """The contacts behind a number, newest first: every KPI cell links here with the filters
    that select its records."""
    contacts = Interaction.objects.visible_to(user).select_related("agent", "program", "team")
    exact = {
        "agent_id": filters.agent,
        "team_id": filters.team,
        "program_id": filters.program,
        "local_date__gte": filters.start,
        "local_date__lte": filters.end,
        "call_type": filters.call_type,
        "queue": filters.queue,
        "channel": filters.channel,
        "answered": filters.answered,
        "transferred": filters.transferred,
        "escalated": filters.escalated,
        "csat_top2": filters.csat_top2,
    }
    contacts = contacts.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.surveyed is not None:
        contacts = contacts.filter(csat_norm__isnull=not filters.surveyed)
    if filters.timed is not None:
        contacts = contacts.filter(talk_s__isnull=not filters.timed)
    # The FCR outcome is the source's flag where it has one, else the derived one.
    known = Q(resolved__isnull=False) | Q(fcr_derived__isnull=False)
    if filters.outcome_known is not None:
        contacts = contacts.filter(known if filters.outcome_known else ~known)
    if filters.resolved is not None:
        contacts = contacts.filter(
            Q(resolved=filters.resolved) | Q(resolved__isnull=True, fcr_derived=filters.resolved),
            answered=True,
        )
    return contacts.order_by("-started_at", "-pk")


def interaction_get(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> Interaction:
    contact = (
        Interaction.objects.visible_to(user)
        .select_related("agent", "program", "team")
        .filter(pk=pk)
        .first()
    )
    if contact is None:
        raise Http404("No such interaction")
    return contact

"""Reads of the facts, scoped to the user."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Max

from coachloop.interactions.models import Interaction

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from coachloop.org.models import Person


@dataclass(frozen=True)
class ContactSummary:
    handled: int
    latest: dt.date | None


def agent_contact_summary(
    *, user: AbstractBaseUser | AnonymousUser, agent: Person
) -> ContactSummary:
    """How many contacts the agent handled that the user may see, and the latest day."""
    totals = (
        Interaction.objects.visible_to(user)
        .filter(agent=agent, answered=True)
        .aggregate(handled=Count("id"), latest=Max("local_date"))
    )
    return ContactSummary(handled=totals["handled"] or 0, latest=totals["latest"])

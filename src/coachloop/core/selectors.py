"""Reads of cross-cutting records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from coachloop.core.models import ApiToken, Event

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from coachloop.org.models import Person, Program

TIMELINE_LENGTH = 50


def person_timeline(*, user: AbstractBaseUser | AnonymousUser, person: Person) -> QuerySet[Event]:
    """The latest events about ``person`` that ``user`` may see, newest first."""
    return (
        Event.objects.visible_to(user)
        .filter(person=person)
        .select_related("actor")
        .order_by("-created_at", "-id")[:TIMELINE_LENGTH]
    )


def program_timeline(
    *, user: AbstractBaseUser | AnonymousUser, program: Program
) -> QuerySet[Event]:
    return (
        Event.objects.visible_to(user)
        .filter(program=program)
        .select_related("actor", "person")
        .order_by("-created_at", "-id")[:TIMELINE_LENGTH]
    )


def token_list(*, username: str | None = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user").order_by("-created_at")
    if username:
        tokens = tokens.filter(user__username=username)
    return tokens

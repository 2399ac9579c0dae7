"""Writes for cross-cutting records: events and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from coachloop.core.models import ApiToken, Event

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

    from coachloop.org.models import Person, Program

TOKEN_PREFIX = "cl_"  # noqa: S105 (a marker, not a secret)


def event_record(
    *,
    verb: str,
    actor: AbstractBaseUser | AnonymousUser | None,
    target: models.Model | None = None,
    program: Program | None = None,
    person: Person | None = None,
    params: dict[str, Any] | None = None,
) -> Event:
    """Append one event. Services call this inside their transaction, so an event exists only
    if the change it describes was committed."""
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    return Event.objects.create(
        verb=verb,
        actor_id=actor_id,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=target.pk if target is not None else None,
        target_label=str(target)[:200] if target is not None else "",
        program=program,
        person=person,
        params=params or {},
    )


def token_digest(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a plain SHA-256 is safe to store and fast to check.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the token, which is never stored."""
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=token_digest(token))
    event_record(verb="token.created", actor=user, target=row, params={"prefix": prefix})
    return row, token


@transaction.atomic
def token_revoke(*, token: ApiToken, by: AbstractBaseUser | None) -> ApiToken:
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    if revoked:
        event_record(verb="token.revoked", actor=by, target=token, params={"prefix": token.prefix})
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token matching ``raw``, with its last use recorded; None when unknown."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(digest=token_digest(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Record use at most once a minute: a busy integration should not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token

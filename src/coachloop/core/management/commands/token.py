"""``coachloop token create|list|revoke USERNAME``: API tokens for machines.

``create`` prints the token alone as the last line of stdout (so scripts can capture it) and
everything else on stderr; only a digest is stored, so it cannot be shown again."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachloop.core import selectors
from coachloop.core.models import ApiToken
from coachloop.core.services import token_create, token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("username", nargs="?", help="The user (required for create)")
        parser.add_argument("--name", default="", help="create: what the token is for")
        parser.add_argument("--prefix", help="revoke: only the token with this prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action: str = options["action"]
        username: str | None = options["username"]
        if action == "create":
            self._create(username, options["name"])
        elif action == "list":
            self._list(username)
        else:
            self._revoke(username, options["prefix"])

    def _user(self, username: str | None) -> Any:
        if not username:
            raise CommandError("Give the USERNAME")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}")
        return user

    def _create(self, username: str | None, name: str) -> None:
        row, token = token_create(user=self._user(username), name=name)
        self.stderr.write(
            f"Token {row.prefix} created for {row.user}. It is shown once; store it now."
        )
        self.stdout.write(token)

    def _list(self, username: str | None) -> None:
        tokens = selectors.token_list(username=username)
        self.stdout.write(
            f"{'prefix':<10} {'user':<20} {'status':<8} {'created':<17} {'last used':<17} name"
        )
        for token in tokens:
            status = "active" if token.is_active else "revoked"
            last = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
            self.stdout.write(
                f"{token.prefix:<10} {token.user.get_username():<20} {status:<8} "
                f"{token.created_at:%Y-%m-%d %H:%M} {last:<17} {token.name}"
            )
        if not tokens:
            self.stderr.write("No tokens.")

    def _revoke(self, username: str | None, prefix: str | None) -> None:
        user = self._user(username)
        tokens = ApiToken.objects.active().filter(user=user)
        if prefix:
            tokens = tokens.filter(prefix=prefix)
        revoked = [token_revoke(token=token, by=None).prefix for token in tokens]
        if not revoked:
            raise CommandError(
                f"No active token of {username!r}" + (f" with prefix {prefix!r}" if prefix else "")
            )
        self.stdout.write(f"Revoked {len(revoked)} token(s): {', '.join(revoked)}")

"""Typed readers for environment variables.

Every setting coachloop takes from the environment goes through one of these helpers, so a bad
value fails at start-up with the variable's name and what was expected, never later and vaguely.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_required(name: str, why: str) -> str:
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set: {why}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = env_str(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()


def secret_from_env_or_file(name: str, home: Path, filename: str, *, production: bool) -> str:
    """A secret from the environment; in development, generated once into ``home``.

    Production refuses to start without the variable: a generated key on a disposable disk would
    silently log everyone out (SECRET_KEY) or break repeat-contact matching (COACHLOOP_HASH_KEY).
    """
    value = env_str(name)
    if value is not None:
        return value
    if production:
        raise ImproperlyConfigured(
            f"{name} must be set when COACHLOOP_ENV=production (see .env.example)"
        )
    path = home / filename
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(50)
    # Written with owner-only permissions from the first byte: the file is a credential.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another process generated it a moment ago: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(generated + "\n")
    return generated

"""Configuration from the environment: loud failures, production hardening, generated keys."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from coachloop.core import env

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "debug": s.DEBUG, "hsts": getattr(s, "SECURE_HSTS_SECONDS", 0),
    "ssl_redirect": getattr(s, "SECURE_SSL_REDIRECT", False),
    "session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE,
    "hosts": s.ALLOWED_HOSTS, "engine": s.DATABASES["default"]["ENGINE"],
    "secret": s.SECRET_KEY, "hash_key": s.COACHLOOP_HASH_KEY,
}))
"""


def load_settings(home: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Start a fresh interpreter with only these variables, as an operator would."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "SECRET_KEY",
            "COACHLOOP_HASH_KEY",
            "ALLOWED_HOSTS",
            "COACHLOOP_ENV",
            "COACHLOOP_HOME",
        }
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "coachloop.settings", "COACHLOOP_HOME": str(home)})
    clean.update(environment)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_development_generates_the_keys_once_into_the_home_with_owner_only_access(
    tmp_path: Path,
) -> None:
    first = load_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    second = json.loads(load_settings(tmp_path).stdout)
    assert json.loads(first.stdout)["secret"] == second["secret"]
    assert second["secret"] != second["hash_key"]
    for name in ("secret_key", "hash_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    assert second["engine"].endswith("sqlite3")
    assert second["hosts"] == ["localhost", "127.0.0.1", "[::1]"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "COACHLOOP_HASH_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_its_secrets_and_hosts(
    tmp_path: Path, missing: str
) -> None:
    environment = {
        "COACHLOOP_ENV": "production",
        "SECRET_KEY": "s" * 50,
        "COACHLOOP_HASH_KEY": "h" * 50,
        "ALLOWED_HOSTS": "coach.example.com",
    }
    del environment[missing]
    result = load_settings(tmp_path, **environment)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_turns_on_https_only_settings(tmp_path: Path) -> None:
    result = load_settings(
        tmp_path,
        COACHLOOP_ENV="production",
        SECRET_KEY="s" * 50,
        COACHLOOP_HASH_KEY="h" * 50,
        ALLOWED_HOSTS="coach.example.com",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["hsts"] == 31_536_000
    assert loaded["ssl_redirect"] and loaded["session_secure"] and loaded["csrf_secure"]
    assert loaded["debug"] is False


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    result = load_settings(tmp_path, DATABASE_URL="postgres://u@db.example:5432/coach")
    assert json.loads(result.stdout)["engine"] == "django.db.backends.postgresql"


def test_an_unsupported_database_is_refused_by_name(tmp_path: Path) -> None:
    result = load_settings(tmp_path, DATABASE_URL="mysql://u@localhost/coach")
    assert result.returncode != 0
    assert "DATABASE_URL must be sqlite:///path or postgres://" in result.stderr


def test_env_helpers_name_the_variable_and_what_was_expected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("X_BOOL", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL='perhaps' is not a boolean"):
        env.env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT='ten' is not an integer"):
        env.env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env.env_int("X_INT", 1, minimum=1)
    monkeypatch.setenv("X_CHOICE", "staging")
    with pytest.raises(ImproperlyConfigured, match="must be one of: development, production"):
        env.env_choice("X_CHOICE", ("development", "production"), "development")
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]


def test_an_empty_boolean_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "")
    assert env.env_bool("X_BOOL", True) is True


def test_the_deploy_check_warns_when_password_reset_mail_goes_nowhere(tmp_path: Path) -> None:
    clean = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    clean.update(
        {
            "COACHLOOP_ENV": "production",
            "SECRET_KEY": "s" * 60,
            "COACHLOOP_HASH_KEY": "h" * 50,
            "ALLOWED_HOSTS": "coach.example.com",
            "COACHLOOP_HOME": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "coachloop.settings",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "coachloop.cli", "check", "--deploy"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "coachloop.W001" in result.stdout + result.stderr

"""Settings for the test suite: the real settings, made fast and deterministic."""

from __future__ import annotations

from coachloop.settings import *  # noqa: F403

# Tests create many users: a fast hasher keeps the suite short. Never used outside tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files are served by the finders in tests; no collectstatic manifest needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}

# WhiteNoise warns when STATIC_ROOT is missing; tests serve from the finders, so an empty one does.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

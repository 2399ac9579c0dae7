"""Django settings for coachloop, read from the environment (documented in .env.example)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from coachloop.core.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_str,
    secret_from_env_or_file,
)

PACKAGE_DIR = Path(__file__).resolve().parent

COACHLOOP_ENV = env_choice("COACHLOOP_ENV", ("development", "production"), "development")
PRODUCTION = COACHLOOP_ENV == "production"
COACHLOOP_HOME = env_path("COACHLOOP_HOME", Path.cwd() / "var")

SECRET_KEY = secret_from_env_or_file(
    "SECRET_KEY", COACHLOOP_HOME, "secret_key", production=PRODUCTION
)
# Customer identifiers are hashed with this key, never with SECRET_KEY: it must never be rotated.
COACHLOOP_HASH_KEY = secret_from_env_or_file(
    "COACHLOOP_HASH_KEY", COACHLOOP_HOME, "hash_key", production=PRODUCTION
)

DEBUG = env_bool("COACHLOOP_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("COACHLOOP_DEBUG must not be on when COACHLOOP_ENV=production")

if PRODUCTION:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when COACHLOOP_ENV=production")
else:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # coachloop first: its templates (sign-in, password reset) take precedence over the admin's.
    "coachloop.core.apps.CoreConfig",
    "coachloop.org.apps.OrgConfig",
    "coachloop.interactions.apps.InteractionsConfig",
    "coachloop.ingest.apps.IngestConfig",
    "coachloop.metrics.apps.MetricsConfig",
    "coachloop.learning.apps.LearningConfig",
    "coachloop.quality.apps.QualityConfig",
    "coachloop.insights.apps.InsightsConfig",
    "coachloop.coaching.apps.CoachingConfig",
    "coachloop.simulator.apps.SimulatorConfig",
    "coachloop.core.apps.OrgAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "coachloop.core.middleware.PermissionsPolicyMiddleware",
    # Axes last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "coachloop.urls"
WSGI_APPLICATION = "coachloop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "coachloop.core.context_processors.navigation",
            ],
        },
    }
]


def _database_from_url(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    engine = str(config["ENGINE"])
    if engine.endswith("sqlite3"):
        # WAL lets readers go on while an import writes; IMMEDIATE transactions plus a busy
        # timeout make concurrent web writes wait for the lock instead of failing.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    elif "postgresql" in engine:
        config["CONN_MAX_AGE"] = env_int("COACHLOOP_DB_CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be sqlite:///path or postgres://..., not {engine}"
        )
    return config


DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{COACHLOOP_HOME / 'coachloop.sqlite3'}"
if DATABASE_URL.startswith("sqlite:///") and DATABASE_URL != "sqlite:///:memory:":
    Path(DATABASE_URL.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "coachloop.org.backends.OrgAdminPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env_int("COACHLOOP_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = COACHLOOP_HOME / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = COACHLOOP_HOME / "media"

# E-mail (password reset): SMTP when EMAIL_HOST is set, else printed on the console.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "coachloop <coachloop@localhost>")

# Security headers everywhere; HTTPS-only settings in production.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("COACHLOOP_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("COACHLOOP_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    if env_bool("COACHLOOP_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT_EXEMPT = [r"^healthz$"]

# Nonce-based Content Security Policy on every response; no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# API paging (CONTRACTS.md): default 50, at most 1000.
API_DEFAULT_LIMIT = 50
API_MAX_LIMIT = 1000
NINJA_PAGINATION_PER_PAGE = API_DEFAULT_LIMIT
NINJA_PAGINATION_MAX_LIMIT = API_MAX_LIMIT

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("COACHLOOP_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
CSRF_FAILURE_VIEW = "coachloop.core.views.csrf_failure"

# Imports: durations above this many seconds are kept but counted as warnings (a plausibility
# check, not a rejection; CONTRACTS.md allows 0 to 86,400 s).
COACHLOOP_PLAUSIBLE_DURATION_S = env_int("COACHLOOP_PLAUSIBLE_DURATION_S", 4 * 3600, minimum=1)
# Imports on SQLite: the page cache of the importing connection while it runs (MiB). The default
# 2 MiB made every insert into a randomly keyed index (customer hash, natural key) a disk read;
# sorts may use as much again each, so it is also the import's memory (docs/configuration.md).
COACHLOOP_IMPORT_CACHE_MB = env_int("COACHLOOP_IMPORT_CACHE_MB", 128, minimum=2)

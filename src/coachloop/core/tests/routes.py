"""core's declarations for the route crawler (see crawler.py)."""

from __future__ import annotations

PUBLIC_ROUTES = {
    "healthz",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "admin:logout",  # signing out when not signed in is harmless
    # The API's description is public, like most APIs'; every operation in it needs a login.
    "api-v1:openapi-json",
    "api-v1:openapi-view",
}
ID_ROUTES: dict = {}

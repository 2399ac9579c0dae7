"""Deployment checks (``coachloop check --deploy``) for mistakes Django cannot know about."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def password_reset_mail_reaches_people(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if settings.PRODUCTION and "console" in settings.EMAIL_BACKEND:
        return [
            Warning(
                "EMAIL_HOST is not set: password-reset e-mails are printed to the console "
                "and never reach anyone.",
                hint="Set EMAIL_HOST (and EMAIL_HOST_USER/PASSWORD) in production.",
                id="coachloop.W001",
            )
        ]
    return []

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class CoreConfig(AppConfig):
    name = "coachloop.core"
    label = "core"
    verbose_name = "coachloop core"

    def ready(self) -> None:
        from coachloop.core import checks  # noqa: F401  (registers the deployment checks)


class OrgAdminConfig(AdminConfig):
    default_site = "coachloop.core.admin_site.OrgAdminSite"

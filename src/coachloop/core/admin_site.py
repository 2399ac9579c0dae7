"""The Django admin, for org admins only: anyone else is sent to sign in or refused."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from coachloop.org.scope import scope_for


class OrgAdminSite(admin.AdminSite):
    site_header = "coachloop administration"
    site_title = "coachloop admin"
    index_title = "Organization data"

    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and scope_for(request.user).is_admin

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def refuse_signed_in_non_admins(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            # A signed-in lead gets a plain 403, not a detour through a login they cannot pass.
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("The administration is for org admins only")
            return inner(request, *args, **kwargs)

        return refuse_signed_in_non_admins

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.user.is_authenticated:
            raise PermissionDenied("The administration is for org admins only")
        return redirect_to_login(request.GET.get("next", reverse("admin:index")), reverse("login"))

"""Org admins hold every model permission, so the Django admin works for them without
``is_superuser``; everyone else holds none there (the admin is for org admins only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model

from coachloop.org.scope import scope_for


class OrgAdminPermissionBackend:
    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None  # permissions only; logging in is ModelBackend's job

    def has_perm(
        self, user_obj: AbstractBaseUser | AnonymousUser, perm: str, obj: Model | None = None
    ) -> bool:
        return scope_for(user_obj).is_admin

    def has_module_perms(self, user_obj: AbstractBaseUser | AnonymousUser, app_label: str) -> bool:
        return scope_for(user_obj).is_admin

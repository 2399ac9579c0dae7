"""Navigation by role, shown in the base layout."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from coachloop.insights.selectors import is_coach
from coachloop.org.models import Role
from coachloop.org.scope import scope_for


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    scope = scope_for(user)
    if not scope.is_authenticated:
        return {"nav_items": [], "nav_roles": [], "can_coach": False}
    items = [NavItem(_("Home"), reverse("home"))]
    if scope.has_role(Role.AGENT) and scope.person_id is not None:
        items.append(NavItem(_("My page"), reverse("org:agent", args=[scope.person_id])))
        items.append(
            NavItem(
                _("My evaluations"),
                reverse("quality:agent-evaluations", args=[scope.person_id]),
            )
        )
        items.append(NavItem(_("My coaching"), reverse("insights:me")))
    if scope.lead_team_ids:
        # A lead's first team; the team pages link to the queue of each of their teams.
        first = min(scope.lead_team_ids)
        items.append(NavItem(_("Coaching queue"), reverse("insights:queue", args=[first])))
    if scope.is_admin or scope.program_role_program_ids:
        items.append(NavItem(_("QA"), reverse("quality:home")))
    if scope.is_admin or scope.manager_program_ids:
        items.append(NavItem(_("Imports"), reverse("ingest:imports")))
    if scope.is_admin:
        items.append(NavItem(_("Administration"), reverse("admin:index")))
    items.append(NavItem(_("API"), "/api/v1/docs"))
    role_labels = dict(Role.choices)
    return {
        "nav_items": items,
        "nav_roles": [str(role_labels[role]) for role in Role.values if role in scope.roles],
        "can_coach": is_coach(user),
    }

"""The home page per role, the health check and the error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from coachloop.core.errors import error_body
from coachloop.metrics import views as kpi_views
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Role
from coachloop.org.scope import scope_for


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """ "Who needs me today": a lead sees their team, an agent their own page, a QA analyst or
    manager their programs, an org admin everything."""
    scope = scope_for(request.user)
    only_agent = scope.roles == {Role.AGENT.value} and scope.person_id is not None
    if only_agent:
        return redirect("org:agent", pk=scope.person_id)
    led_teams = list(org_selectors.teams_led(user=request.user))
    # A lead's home is their team's dashboard; a lead of several teams picks one with ?team=.
    chosen = next((t for t in led_teams if str(t.pk) == request.GET.get("team")), None)
    dashboard = (
        kpi_views.team_dashboard_context(request, chosen or led_teams[0]) if led_teams else {}
    )
    programs = org_selectors.programs_overseen(user=request.user)
    return render(
        request,
        "core/home.html",
        {
            **dashboard,
            "scope": scope,
            "led_teams": led_teams,
            "programs": programs,
            "own_agent_id": scope.person_id if scope.has_role(Role.AGENT) else None,
        },
    )


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("not_found", "Not found"), status=404)
    return render(request, "404.html", status=404)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception else ""
    if _wants_json(request):
        return JsonResponse(error_body("forbidden", message or "Not allowed"), status=403)
    return render(request, "403.html", {"message": message}, status=403)


def error_500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("server_error", "Something went wrong"), status=500)
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("forbidden", "CSRF check failed"), status=403)
    return render(
        request,
        "403.html",
        {"message": "Your session form expired: reload the page and try again."},
        status=403,
    )

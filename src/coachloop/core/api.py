"""The API's plumbing: authentication, the error envelope and ``GET /api/v1/me``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from coachloop.core.errors import CoachloopError, error_body
from coachloop.core.services import token_authenticate

logger = logging.getLogger(__name__)
router = Router(tags=["me"])


class BearerToken(HttpBearer):
    """``Authorization: Bearer cl_...`` for machines (tokens from ``coachloop token create``)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = token_authenticate(token)
        if row is None:
            return None
        request.user = row.user
        return row.user


class BrowserSession(APIKeyCookie):
    """The signed-in browser's session; unsafe methods need the CSRF token, as in the pages."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def _envelope(api: NinjaAPI, request: HttpRequest, status: int, body: dict) -> HttpResponse:
    return api.create_response(request, body, status=status)


def install_error_envelope(api: NinjaAPI) -> None:
    """Make every 4xx/5xx answer of ``api`` use the one envelope of CONTRACTS.md."""

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = []
        for error in exc.errors:
            location = [
                str(part)
                for part in error.get("loc", ())
                if part not in ("query", "body", "path", "form")
            ]
            column = ".".join(location) or None
            given = error.get("input")
            if given is None and column is not None:
                given = request.GET.get(column)  # ninja drops the input of query parameters
            details.append(
                {
                    "column": column,
                    "value": given if _is_plain(given) else None,
                    "expected": error.get("msg", "a valid value"),
                }
            )
        return _envelope(
            api,
            request,
            422,
            error_body("validation_error", "The request has invalid values", details),
        )

    @api.exception_handler(CoachloopError)
    def coachloop_error(request: HttpRequest, exc: CoachloopError) -> HttpResponse:
        details = [detail.as_dict() for detail in exc.details]
        return _envelope(api, request, exc.status, error_body(exc.code, exc.message, details))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _envelope(api, request, 404, error_body("not_found", str(exc) or "Not found"))

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        message = str(exc) or "Your role does not allow this"
        return _envelope(api, request, 403, error_body("forbidden", message))

    @api.exception_handler(AuthenticationError)
    def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _envelope(
            api,
            request,
            401,
            error_body("unauthorized", "Sign in, or send 'Authorization: Bearer <token>'"),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            429: "too_many_requests",
        }
        return _envelope(
            api,
            request,
            exc.status_code,
            error_body(code.get(exc.status_code, "error"), str(exc.message)),
        )

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled API error on %s %s", request.method, request.path)
        return _envelope(
            api,
            request,
            500,
            error_body("server_error", "Something went wrong on our side; it has been logged"),
        )


def _is_plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class MeScope(Schema):
    programs: list[str]
    teams: list[str]
    agent: str | None


class MeOut(Schema):
    id: int
    username: str
    name: str
    person_id: int | None
    roles: list[str]
    scope: MeScope


@router.get("/me", response=MeOut, summary="The signed-in user, their roles and scope")
def me(request: HttpRequest) -> dict[str, Any]:
    from coachloop.org.scope import scope_for
    from coachloop.org.selectors import user_roles_and_scope

    user = request.user
    scope = scope_for(user)
    person = getattr(user, "person", None) if scope.person_id else None
    name = person.name if person is not None else user.get_username()
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": name,
        "person_id": scope.person_id,
        **user_roles_and_scope(user=user),
    }

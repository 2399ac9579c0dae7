"""Support for the route crawler (test_routes.py): what every app declares about its routes.

Each app may have ``tests/routes.py`` with

- ``PUBLIC_ROUTES``: names of Django routes (``"namespace:name"``) or API paths
  (``"/api/v1/..."``) an anonymous caller may open;
- ``ID_ROUTES``: every route that takes an object id, keyed the same way, with the model it
  addresses and how to get an object of that model in the ``chat`` program, outside the scope
  of every ``care`` persona (see ``coachloop.core.personas``).

A route that takes an id and is not registered fails the crawler, so new routes cannot skip it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from coachloop.core.personas import World

API_PREFIX = "/api/v1"
# Routes of the API itself that live outside the OpenAPI schema (the schema and its docs page).
API_DOC_ROUTE_NAMES = {"api-v1:openapi-json", "api-v1:openapi-view"}


@dataclass(frozen=True)
class IdRoute:
    model: type[Model]
    outside: Callable[[World], Model]
    """An object of ``model`` in the chat program, out of scope for every care persona."""
    payload: Callable[[World, Model], dict[str, Any]] = field(default=lambda world, obj: {})
    """A valid JSON body for unsafe methods, so a 404 cannot hide behind a 422."""


@dataclass(frozen=True)
class DjangoRoute:
    name: str | None
    route: str  # as written, e.g. "agents/<int:pk>/"
    kwargs: tuple[str, ...]
    sample: dict[str, str]  # kwarg -> sample value that resolves


@dataclass(frozen=True)
class ApiOperation:
    path: str  # "/api/v1/agents/{agent_id}"
    method: str
    params: tuple[str, ...]


def declared_routes() -> tuple[set[str], dict[str, IdRoute]]:
    """Collect PUBLIC_ROUTES and ID_ROUTES from every coachloop app's tests/routes.py."""
    public: set[str] = set()
    id_routes: dict[str, IdRoute] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("coachloop."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.routes")
        except ModuleNotFoundError:
            continue
        public |= set(getattr(module, "PUBLIC_ROUTES", set()))
        id_routes.update(getattr(module, "ID_ROUTES", {}))
    return public, id_routes


def django_routes() -> Iterator[DjangoRoute]:
    """Every URL pattern, with its full route and sample kwargs that resolve to it."""
    yield from _walk(get_resolver().url_patterns, prefix="", namespace=None)


def _walk(
    patterns: list[URLPattern | URLResolver], *, prefix: str, namespace: str | None
) -> Iterator[DjangoRoute]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix=route, namespace=inner)
            continue
        name = entry.name
        if name and namespace:
            name = f"{namespace}:{name}"
        kwargs = _kwarg_names(route)
        yield DjangoRoute(name=name, route=route, kwargs=kwargs, sample={})


def _kwarg_names(route: str) -> tuple[str, ...]:
    names = re.findall(r"<(?:\w+:)?(\w+)>", route) + re.findall(r"\(\?P<(\w+)>", route)
    return tuple(names)


def concrete_path(route: DjangoRoute, values: dict[str, str]) -> str:
    """The route with its kwargs replaced by ``values`` (regex groups by a matching sample)."""
    path = route.route
    for name in route.kwargs:
        value = values.get(name, "1")
        # Regex groups first: "(?P<name>...)" also contains "<name>".
        path = re.sub(rf"\(\?P<{name}>(?:[^()]|\([^()]*\))*\)", value, path)
        path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + path.lstrip("/")


def api_operations(schema: dict[str, Any]) -> Iterator[ApiOperation]:
    for path, operations in schema["paths"].items():
        for method in operations:
            if method.lower() not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = tuple(re.findall(r"{(\w+)}", path))
            yield ApiOperation(path=path, method=method.upper(), params=params)


def is_route_pattern(entry: object) -> bool:
    return isinstance(entry, RoutePattern)

"""The route crawler: every page and API route is public by declaration or denies an anonymous
caller; every route that takes an id is registered, and a persona outside the object's program
gets a 404 and changes nothing. New routes fall under it automatically (see crawler.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from coachloop.api import api
from coachloop.core.personas import World
from coachloop.core.tests.crawler import (
    API_DOC_ROUTE_NAMES,
    API_PREFIX,
    DjangoRoute,
    api_operations,
    concrete_path,
    declared_routes,
    django_routes,
)
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

CARE_PERSONAS = ("agent", "lead", "other_lead", "qa", "manager")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def page_routes() -> list[DjangoRoute]:
    """Django routes, less the API's operations (crawled from its OpenAPI schema instead)."""
    return [
        route
        for route in django_routes()
        if not route.route.startswith("api/v1/") or route.name in API_DOC_ROUTE_NAMES
    ]


def is_admin_route(route: DjangoRoute) -> bool:
    return route.route.startswith("admin/")


def sample_values(route: DjangoRoute, world: World) -> dict[str, str]:
    samples = {"app_label": "org", "model_name": "person", "content_type_id": "1"}
    return {name: samples.get(name, str(world.agent.pk)) for name in route.kwargs}


def is_denied(response: object) -> bool:
    status = response.status_code  # type: ignore[attr-defined]
    if status in (401, 403):
        return True
    if status == 302:
        location = response["Location"]  # type: ignore[index]
        # The admin sends anonymous callers to its login, which sends them to ours.
        return location.startswith((reverse("login"), reverse("admin:login")))
    return False


def schema_operations() -> list:
    return list(api_operations(api.get_openapi_schema()))


def test_every_route_is_public_or_denies_an_anonymous_caller(world: World) -> None:
    public, _ = declared_routes()
    client = Client()
    problems = []
    for route in page_routes():
        path = concrete_path(route, sample_values(route, world))
        if route.name in public:
            response = client.get(path)
            if response.status_code >= 500:
                problems.append(f"public {route.name} {path}: {response.status_code}")
            continue
        for method in ("GET", "POST"):
            response = client.generic(method, path)
            if not is_denied(response):
                problems.append(f"{method} {path} ({route.name}) -> {response.status_code}")
    for operation in schema_operations():
        if operation.path in public:
            continue
        path = operation.path
        for param in operation.params:
            path = path.replace("{" + param + "}", str(world.agent.pk))
        response = client.generic(operation.method, path, "{}", content_type="application/json")
        if response.status_code != 401 or response.json()["error"]["code"] != "unauthorized":
            problems.append(f"{operation.method} {path} -> {response.status_code}")
    assert not problems, "Routes an anonymous caller can open:\n" + "\n".join(problems)


def test_every_route_that_takes_an_id_is_registered() -> None:
    public, id_routes = declared_routes()
    missing = [
        f"{route.name or route.route} (kwargs {', '.join(route.kwargs)})"
        for route in page_routes()
        if route.kwargs
        and not is_admin_route(route)
        and route.name not in public
        and route.name not in id_routes
    ]
    missing += [
        f"{operation.method} {operation.path}"
        for operation in schema_operations()
        if operation.params and operation.path not in id_routes
    ]
    assert not missing, (
        "Register these id-taking routes in their app's tests/routes.py ID_ROUTES with the model "
        "they address and an object in another program:\n" + "\n".join(sorted(set(missing)))
    )


def test_registered_objects_are_really_outside_every_care_persona_scope(world: World) -> None:
    _, id_routes = declared_routes()
    for key, entry in id_routes.items():
        obj = entry.outside(world)
        assert isinstance(obj, entry.model), key
        for persona in CARE_PERSONAS:
            user = world.user(world.personas[persona])
            visible = entry.model._default_manager.visible_to(user)  # type: ignore[attr-defined]
            assert not visible.filter(pk=obj.pk).exists(), f"{key}: {persona} can see {obj}"


def test_out_of_scope_personas_get_404_on_every_id_route_and_change_nothing(
    world: World,
    client_for: Callable[[Person], Client],
    counts: Callable[[], dict[str, int]],
) -> None:
    _, id_routes = declared_routes()
    routes_by_name = {route.name: route for route in page_routes() if route.name}
    operations = schema_operations()
    admin = client_for(world.admin)
    problems = []
    for key, entry in id_routes.items():
        obj = entry.outside(world)
        if key.startswith(API_PREFIX):
            requests = [
                (op.method, _fill(op.path, op.params, obj.pk))
                for op in operations
                if op.path == key
            ]
            assert requests, f"{key} is registered but not in the API"
        else:
            route = routes_by_name[key]
            path = reverse(key, kwargs={name: obj.pk for name in route.kwargs})
            requests = [("GET", path), ("POST", path)]
        for persona in CARE_PERSONAS:
            client = client_for(world.personas[persona])
            for method, path in requests:
                before = counts()
                body = entry.payload(world, obj) if method in UNSAFE else {}
                response = client.generic(
                    method, path, _json(body), content_type="application/json"
                )
                allowed = {404} if method == "GET" else {404, 405}
                if response.status_code not in allowed:
                    problems.append(f"{persona} {method} {path}: {response.status_code}")
                if counts() != before:
                    problems.append(f"{persona} {method} {path} changed rows")
        # The same route works for someone who may see the object: the 404 above is scope.
        for method, path in requests:
            if method == "GET":
                response = admin.get(path)
                if response.status_code != 200:
                    problems.append(f"admin GET {path}: {response.status_code}, expected 200")
    assert not problems, "\n".join(problems)


def test_the_admin_refuses_every_non_admin_persona_and_changes_nothing(
    world: World,
    client_for: Callable[[Person], Client],
    counts: Callable[[], dict[str, int]],
) -> None:
    admin_routes = [route for route in page_routes() if is_admin_route(route)]
    assert len(admin_routes) > 20
    problems = []
    for persona in ("lead", "manager"):
        client = client_for(world.personas[persona])
        for route in admin_routes:
            path = concrete_path(route, sample_values(route, world))
            for method in ("GET", "POST"):
                before = counts()
                response = client.generic(method, path)
                if response.status_code not in (302, 403) or (
                    response.status_code == 302
                    and not response["Location"].startswith("/admin/")
                    and not response["Location"].startswith(reverse("login"))
                ):
                    problems.append(f"{persona} {method} {path}: {response.status_code}")
                if counts() != before:
                    problems.append(f"{persona} {method} {path} changed rows")
    assert not problems, "\n".join(problems)
    assert client_for(world.admin).get(reverse("admin:index")).status_code == 200


def _fill(path: str, params: tuple[str, ...], pk: int) -> str:
    for param in params:
        path = path.replace("{" + param + "}", str(pk))
    return path


def _json(body: dict) -> str:
    import json

    return json.dumps(body)

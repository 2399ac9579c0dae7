"""Security headers and the nonce-based Content Security Policy on every response."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from coachloop.core.personas import World
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db


def csp_directives(header: str) -> dict[str, list[str]]:
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_every_page_carries_a_csp_whose_nonce_is_the_one_on_the_script_tags(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    response = client_for(world.lead).get("/")
    directives = csp_directives(response["Content-Security-Policy"])
    nonces = [value for value in directives["script-src"] if value.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-") : -1]
    scripts = re.findall(r"<script[^>]*>", response.content.decode())
    assert scripts, "the page loads htmx"
    assert all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]


def test_nonces_differ_between_requests(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.lead)
    first = client.get("/")["Content-Security-Policy"]
    second = client.get("/")["Content-Security-Policy"]
    assert first != second


def test_no_inline_script_or_style_attribute_in_our_pages(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.admin)
    for path in (
        "/",
        f"/agents/{world.agent.pk}/",
        f"/teams/{world.care_a.pk}/",
        f"/programs/{world.care.pk}/",
        "/accounts/login/",
    ):
        html = client.get(path).content.decode()
        assert " style=" not in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"


def test_security_headers_are_set_on_pages_and_the_api(world: World) -> None:
    for path in ("/accounts/login/", "/api/v1/me", "/healthz"):
        response = Client().get(path)
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert "camera=()" in response["Permissions-Policy"], path
        assert "Content-Security-Policy" in response, path


def test_the_session_cookie_is_http_only(world: World) -> None:
    client = Client()
    client.post("/accounts/login/", {"username": "l1", "password": "correct-horse-battery-staple"})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"

"""Signing in and out, password reset by e-mail, password rules, login throttling."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from coachloop.core.personas import PERSONA_PASSWORD, World

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str) -> object:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_a_lead_signs_in_and_lands_on_home(world: World) -> None:
    client = Client()
    response = sign_in(client, "l1", PERSONA_PASSWORD)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response["Location"] == "/"  # type: ignore[index]
    assert "Care A" in client.get("/").content.decode()


def test_a_wrong_password_is_refused_and_the_username_kept(world: World) -> None:
    response = Client().post("/accounts/login/", {"username": "l1", "password": "nope"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in html
    assert 'value="l1"' in html


def test_signing_out_needs_a_post_and_ends_the_session(world: World) -> None:
    client = Client()
    sign_in(client, "l1", PERSONA_PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_password_reset_mails_a_link_that_sets_a_new_password(world: World) -> None:
    client = Client()
    response = client.post("/accounts/password_reset/", {"email": "l1@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-secret-42", "new_password2": "a-much-better-secret-42"},
    )
    assert done["Location"] == "/accounts/reset/done/"
    assert sign_in(Client(), "l1", "a-much-better-secret-42")["Location"] == "/"  # type: ignore


def test_password_reset_does_not_tell_whether_an_address_exists(world: World) -> None:
    response = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 0


def test_weak_passwords_are_refused_by_the_validators(world: World) -> None:
    client = Client()
    sign_in(client, "l1", PERSONA_PASSWORD)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PERSONA_PASSWORD,
            "new_password1": "12345678",
            "new_password2": "12345678",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This password is too short" in html
    assert "This password is entirely numeric" in html


def test_five_failed_sign_ins_lock_the_account_even_for_the_right_password(world: World) -> None:
    client = Client()
    for _ in range(5):
        sign_in(client, "l1", "wrong-password")
    locked = sign_in(client, "l1", PERSONA_PASSWORD)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-in attempts" in locked.content.decode()  # type: ignore
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    assert sign_in(Client(), "a1", PERSONA_PASSWORD)["Location"] == "/"  # type: ignore[index]


def test_pages_send_anonymous_visitors_to_sign_in(world: World) -> None:
    response = Client().get(f"/agents/{world.agent.pk}/")
    assert response["Location"] == f"/accounts/login/?next=/agents/{world.agent.pk}/"

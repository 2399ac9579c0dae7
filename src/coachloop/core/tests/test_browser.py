"""Browser tests: the personas sign in through the real form in Chromium and use the pages.

The ``page`` fixture (conftest.py) fails any test whose pages raise a Content Security Policy
violation or log a console error, so every page visited here is also checked for those.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from coachloop.conftest import PageProblems
from coachloop.core.personas import PERSONA_PASSWORD, World, build_world
from coachloop.org.models import Person

pytestmark = pytest.mark.browser


@pytest.fixture
def live_world(transactional_db: None) -> World:
    # The live server answers from another thread: the world must be committed, not wrapped in
    # the test's transaction.
    return build_world()


def sign_in(page: Page, base: str, username: str, password: str = PERSONA_PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def username(person: Person) -> str:
    return person.external_id.lower()


def open_page(page: Page, url: str) -> None:
    """Open ``url`` as a signed-in reader: it answers 200 and does not ask to sign in."""
    response = page.goto(url)
    assert response is not None, url
    assert response.status == 200, (url, response.status)
    assert "/accounts/login/" not in page.url, f"{url} sent a signed-in reader to sign in"


def visit_the_app_pages(page: Page, base: str, world: World) -> None:
    for path in (
        "/",
        f"/programs/{world.care.pk}/",
        f"/teams/{world.care_a.pk}/",
        f"/agents/{world.agent.pk}/",
    ):
        open_page(page, f"{base}{path}")
        expect(page).to_have_url(f"{base}{path}")
        expect(page.locator("main h1")).to_be_visible()


def see_the_api_docs(page: Page, base: str) -> None:
    open_page(page, f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("coachloop API")
    agents_list = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/agents$"))
    expect(agents_list.first).to_be_visible()


def test_lead_sees_own_team_agents_and_opens_an_agent_page(
    page: Page, live_server: Any, live_world: World
) -> None:
    base = live_server.url

    sign_in(page, base, username(live_world.lead))

    expect(page).to_have_url(f"{base}/")
    main = page.locator("main")
    expect(main.get_by_role("link", name="Alice Agent")).to_be_visible()
    expect(main.get_by_role("link", name="Aaron Agent")).to_be_visible()
    expect(main).not_to_contain_text("Bea Otherteam")
    expect(main).not_to_contain_text("Carl Chat")

    main.get_by_role("link", name="Alice Agent").click()

    expect(page).to_have_url(f"{base}/agents/{live_world.agent.pk}/")
    expect(page.locator("main h1")).to_contain_text("Alice Agent")


def test_agent_lands_on_own_page_and_gets_not_found_for_a_teammate(
    page: Page, page_problems: PageProblems, live_server: Any, live_world: World
) -> None:
    base = live_server.url

    sign_in(page, base, username(live_world.agent))

    expect(page).to_have_url(f"{base}/agents/{live_world.agent.pk}/")
    expect(page.locator("main h1")).to_contain_text("Alice Agent")

    teammate_url = f"{base}/agents/{live_world.agent2.pk}/"
    page_problems.expect_not_found(teammate_url)
    response = page.goto(teammate_url)

    assert response is not None and response.status == 404
    expect(page.locator("main h1")).to_have_text("Not found")
    expect(page.locator("main")).not_to_contain_text("Aaron Agent")


def test_manager_opens_every_page_without_csp_violation_or_console_error(
    page: Page, live_server: Any, live_world: World
) -> None:
    base = live_server.url

    sign_in(page, base, username(live_world.manager))

    visit_the_app_pages(page, base, live_world)
    see_the_api_docs(page, base)


def test_org_admin_opens_every_page_and_the_admin_without_csp_violation_or_console_error(
    page: Page, live_server: Any, live_world: World
) -> None:
    base = live_server.url

    sign_in(page, base, username(live_world.admin))

    visit_the_app_pages(page, base, live_world)
    see_the_api_docs(page, base)
    open_page(page, f"{base}/admin/")
    expect(page.locator("#site-name")).to_contain_text("coachloop administration")
    open_page(page, f"{base}/admin/org/person/")
    expect(page.locator("#result_list")).to_contain_text("Alice Agent")
    expect(page.locator("#result_list")).to_contain_text("Carl Chat")


def test_sign_out_ends_the_session_and_home_then_asks_to_sign_in(
    page: Page, live_server: Any, live_world: World
) -> None:
    base = live_server.url
    sign_in(page, base, username(live_world.lead))
    expect(page).to_have_url(f"{base}/")

    page.locator("header").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{base}/accounts/login/")
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")
    expect(page.locator("header")).not_to_contain_text("Sign out")


def test_wrong_password_shows_an_error_and_keeps_the_username(
    page: Page, live_server: Any, live_world: World
) -> None:
    base = live_server.url

    sign_in(page, base, username(live_world.lead), password="not-the-password")

    expect(page).to_have_url(f"{base}/accounts/login/")
    expect(page.locator(".form-errors[role=alert]")).to_contain_text("correct username")
    expect(page.locator("#id_username")).to_have_value("l1")
    expect(page.locator("#id_password")).to_have_value("")
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")

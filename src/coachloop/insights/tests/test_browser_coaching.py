"""In Chromium: a lead opens the coaching queue of their team, goes to the agent who stands
out, reads the diagnosis and shares the opportunity; the agent signs in and finds it on their
coaching page, with the calls that show it.

The ``page`` fixture fails the test on any Content Security Policy violation or console error.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from coachloop.core.personas import World, build_world
from coachloop.core.tests.test_browser import sign_in
from coachloop.insights.models import OpportunityDecision
from coachloop.insights.tests.data import agent_fails_verification

pytestmark = pytest.mark.browser

KEY = "qa_score:verification"


@pytest.fixture
def live_world(transactional_db: None) -> World:
    # The live server answers from another thread: the data must be committed.
    world = build_world()
    agent_fails_verification(world)
    return world


def test_a_lead_shares_an_opportunity_and_the_agent_reads_it(
    page: Page, live_server: Any, live_world: World
) -> None:
    world, base = live_world, live_server.url

    sign_in(page, base, "l1")
    page.get_by_role("link", name="Coaching queue", exact=True).click()
    expect(page).to_have_url(f"{base}/coaching/teams/{world.care_a.pk}/queue")
    first = page.locator("tbody tr").first
    expect(first).to_contain_text("Alice Agent")
    expect(first).to_contain_text("Verification")
    first.get_by_role("link", name="Alice Agent").click()
    expect(page).to_have_url(f"{base}/coaching/agents/{world.agent.pk}/diagnosis")

    card = page.locator(f'[data-opportunity="{KEY}"]')
    expect(card.locator("[data-statement]")).to_contain_text("fails 'Verifies identity' 100%")
    expect(card.locator("[data-evidence]").first).to_have_attribute(
        "href", _starts_with("/interactions/")
    )

    # A dismissal without a reason is refused beside the form, and nothing is written.
    card.locator("summary").click()
    card.get_by_label("Reason (required)").fill(" ")
    card.get_by_role("button", name="Dismiss").click()
    card = page.locator(f'[data-opportunity="{KEY}"]')
    expect(card.get_by_role("alert")).to_contain_text("A reason")
    assert not OpportunityDecision.objects.exists()

    card.get_by_role("button", name="Share with agent").click()
    expect(page.locator(".messages")).to_contain_text("Shared with Alice Agent")
    expect(page.locator(f'[data-opportunity="{KEY}"]')).to_contain_text("Shared with the agent on")
    assert OpportunityDecision.objects.get().decision == "shared"

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "a1")
    page.get_by_role("link", name="My coaching").click()
    expect(page).to_have_url(f"{base}/coaching/me")
    shared = page.locator(f'[data-shared="{KEY}"]')
    expect(shared).to_contain_text("Verifies identity")
    expect(shared).to_contain_text("Verification")
    shared.locator("[data-evidence]").first.click()
    expect(page).to_have_url(_starts_with(f"{base}/interactions/"))


def _starts_with(prefix: str) -> Any:
    import re

    return re.compile("^" + re.escape(prefix))

"""In Chromium: a QA analyst evaluates a contact from the keyboard, pins a comment to a transcript
turn, watches the live score, submits; the agent then reads the evaluation, finds the comment
beside that turn, and acknowledges it.

The ``page`` fixture fails the test on any Content Security Policy violation or console error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from coachloop.core.personas import World, build_world
from coachloop.core.tests.test_browser import sign_in
from coachloop.quality.models import Comment, Evaluation, EvaluationStatus
from coachloop.quality.tests.factories import handled_contact, small_scorecard

pytestmark = pytest.mark.browser

PINNED = "Identity check came after the account details"


@pytest.fixture
def live_world(transactional_db: None) -> World:
    # The live server answers from another thread: the data must be committed.
    return build_world()


def test_an_analyst_evaluates_from_the_keyboard_and_the_agent_acknowledges(
    page: Page, live_server: Any, live_world: World
) -> None:
    world, base = live_world, live_server.url
    small_scorecard()
    contact = handled_contact(world)

    sign_in(page, base, "q1")
    page.goto(f"{base}/interactions/{contact.pk}/")
    expect(page.locator("ol.transcript")).to_contain_text("You did not check who I am.")
    page.get_by_role("button", name="Evaluate").click()
    expect(page).to_have_url(re.compile(r"/qa/evaluations/\d+/edit$"))
    page.wait_for_load_state()
    evaluation = Evaluation.objects.get(interaction=contact)

    score = page.locator("#live-score [data-score]")
    expect(score).to_have_text("—")
    page.keyboard.press("j")
    expect(page.locator("#crit-0")).to_be_focused()
    page.keyboard.press("y")  # greets: yes, and on to "verifies"
    expect(score).to_have_text("100.0")
    expect(page.locator("#crit-1")).to_be_focused()
    page.keyboard.press("n")  # verifies (critical): no
    expect(score).to_have_text("0.0")
    expect(page.locator("#live-score [data-critical]")).to_contain_text("Verifies identity")

    # Back to "verifies", then pin its comment to the customer's complaint with p.
    page.keyboard.press("k")
    expect(page.locator("#crit-1")).to_be_focused()
    page.keyboard.press("t")
    expect(page.locator("#turn-0")).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#turn-3")).to_be_focused()
    page.keyboard.press("p")
    box = page.locator("#comments-1")
    expect(box.locator("select.pin-turn")).to_have_value("3")
    expect(box.locator("textarea.comment-input")).to_be_focused()
    page.keyboard.type(PINNED)
    box.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comments-1 .comment-text")).to_have_text(PINNED)
    expect(page.locator("#comments-1 .pin")).to_have_text("turn 4")

    # The answer was wrong after all: yes, then 4 on the scale and N/A on the points.
    page.locator("#crit-1").focus()
    page.keyboard.press("y")
    page.keyboard.press("4")
    page.keyboard.press("a")
    expect(score).to_have_text("90.0")
    expect(page.locator("#live-score [data-critical]")).to_have_count(0)
    page.keyboard.press("Control+Enter")

    expect(page).to_have_url(f"{base}/qa/evaluations/{evaluation.pk}")
    expect(page.locator(".messages")).to_contain_text("Evaluation submitted: score 90.0")
    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.score) == (EvaluationStatus.SUBMITTED, 90.0)
    comment = Comment.objects.get(evaluation=evaluation)
    assert (comment.criterion.key if comment.criterion else None, comment.turn) == ("verifies", 3)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "a1")
    page.get_by_role("link", name="My evaluations").click()
    page.get_by_role("link", name="90.0").click()
    expect(page).to_have_url(f"{base}/qa/evaluations/{evaluation.pk}")
    turn = page.locator("#turn-3")
    expect(turn).to_have_class(re.compile(r"\bpinned\b"))
    expect(turn.locator(".pinned-comment")).to_contain_text(PINNED)
    expect(turn.locator(".pinned-comment")).to_contain_text("Verifies identity")
    expect(page.locator("#turn-2 .pinned-comment")).to_have_count(0)

    page.get_by_label("Your comment (optional)").fill("I will verify first")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("[data-acknowledged]")).to_contain_text("Acknowledged on")
    expect(page.locator("[data-acknowledged]")).to_contain_text("I will verify first")
    evaluation.refresh_from_db()
    assert evaluation.acknowledged_at is not None
    assert evaluation.acknowledgement_comment == "I will verify first"

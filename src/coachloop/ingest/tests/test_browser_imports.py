"""A program manager imports a file from the Imports page in Chromium and watches it finish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from coachloop.core.jobs import worker_loop
from coachloop.core.personas import World, build_world
from coachloop.core.tests.test_browser import sign_in
from coachloop.interactions.models import Interaction

pytestmark = pytest.mark.browser

CALLS = (
    "external_id,channel,program,queue,call_type,agent,customer_ref,started_at,answered,talk_s\n"
    "W1,voice,care,main,billing,A1,c1,2026-01-05T09:00:00+00:00,true,100\n"
    "W2,voice,care,main,billing,A2,c2,2026-01-05T10:00:00+00:00,yes please,200\n"
)


@pytest.fixture
def live_world(transactional_db: None) -> World:
    return build_world()


def test_a_manager_uploads_a_file_and_sees_the_result_appear_without_reloading(
    page: Page, live_server: Any, live_world: World, tmp_path: Path
) -> None:
    base = live_server.url
    sign_in(page, base, "m1")
    page.get_by_role("link", name="Imports").click()
    expect(page.locator("main h1")).to_have_text("Imports")
    upload = tmp_path / "calls.csv"
    upload.write_text(CALLS, encoding="utf-8")
    page.select_option("#id_kind", "interactions")
    page.set_input_files("#id_file", str(upload))
    page.select_option("#id_on_error", "skip")
    page.locator("main form.upload button[type=submit]").click()
    expect(page.locator("#batch-status .status")).to_have_text("Queued")
    # The worker runs the job while the page is open; htmx polling shows the outcome.
    assert worker_loop(once=True, poll_s=0) == 1
    expect(page.locator("#batch-status .status")).to_have_text("Succeeded", timeout=10_000)
    problems = page.locator("#batch-status table")
    expect(problems).to_contain_text("yes please")
    expect(problems).to_contain_text("true/false, 1/0, yes/no or y/n")
    expect(page.get_by_role("link", name="Download the rejected rows (CSV)")).to_be_visible()
    assert list(Interaction.objects.values_list("external_id", flat=True)) == ["W1"]

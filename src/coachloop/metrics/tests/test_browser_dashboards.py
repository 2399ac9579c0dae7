"""A lead uses the team dashboard in Chromium: the flag, the period switch (htmx), the drill-down
to the contacts, the agent page's charts, and the keyboard.

The ``page`` fixture fails a test on any Content Security Policy violation or console error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from coachloop.core.personas import World, build_world
from coachloop.core.tests.test_browser import sign_in
from coachloop.interactions.models import Interaction
from coachloop.metrics import selectors
from coachloop.metrics.tests.page_data import PageData, build_page_data

pytestmark = pytest.mark.browser


@pytest.fixture
def live_world(transactional_db: None) -> World:
    # The live server answers from another thread: the data must be committed.
    return build_world()


@pytest.fixture
def live_data(live_world: World) -> PageData:
    return build_page_data(live_world)


def agent_row(page: Page, name: str) -> Locator:
    return page.locator("table.dashboard tbody tr").filter(
        has=page.get_by_role("rowheader", name=name)
    )


def column_of(page: Page, label: str) -> int:
    """The position of a metric's column among a row's cells (the row header is not a cell)."""
    headers = page.locator("table.dashboard thead tr").first.locator("th")
    labels = [text.strip() for text in headers.all_inner_texts()]
    return labels.index(label) - 1


def cell(page: Page, name: str, label: str) -> Locator:
    return agent_row(page, name).locator("td.kpi").nth(column_of(page, label))


def n_of(locator: Locator) -> int:
    return int(locator.locator("small.n").inner_text().removeprefix("n="))


def test_a_lead_sees_the_flag_switches_the_period_and_follows_a_cell_to_its_contacts(
    page: Page, live_server: Any, live_world: World, live_data: PageData
) -> None:
    base = live_server.url
    world, data = live_world, live_data

    sign_in(page, base, "l1")

    expect(page).to_have_url(f"{base}/")
    flagged = cell(page, "Alice Agent", "FCR")
    expect(flagged).to_have_class(re.compile(r"\bband-below\b"))
    expect(flagged.locator(".flag")).to_have_text("▼")
    expect(flagged.locator(".visually-hidden")).to_have_text("(below target)")

    # The period switch swaps #kpi-area in place: the page (and this marker) survives.
    four_weeks = n_of(cell(page, "Alice Agent", "AHT"))
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("This week").check()
    expect(page).to_have_url(re.compile(r"[?&]period=week(&|$)"))
    week_start = selectors.week_start(data.last, world.care)
    in_week = Interaction.objects.filter(
        agent=world.agent, answered=True, local_date__gte=week_start, local_date__lte=data.last
    ).count()
    expect(cell(page, "Alice Agent", "AHT").locator("small.n")).to_have_text(f"n={in_week}")
    assert in_week != four_weeks
    assert page.evaluate("window.__sameDocument") is True
    expect(page.get_by_label("This week")).to_be_checked()

    aht = cell(page, "Alice Agent", "AHT")
    n = n_of(aht)
    aht.locator("a").click()

    expect(page).to_have_url(re.compile(r"/interactions/\?agent=\d+&start=.*&answered=true"))
    expect(page.locator("main")).to_contain_text(f"{n} contacts")
    first = page.locator("main table.data tbody tr").first.locator("a.code")
    external_id = first.inner_text()
    first.click()

    expect(page.locator("main h1")).to_contain_text(external_id)
    expect(page.locator("main dl.facts")).to_contain_text("Alice Agent")


def test_the_agent_pages_charts_render_without_csp_violation_or_console_error(
    page: Page, live_server: Any, live_world: World, live_data: PageData
) -> None:
    base = live_server.url
    sign_in(page, base, "l1")

    response = page.goto(f"{base}/agents/{live_world.agent.pk}/")

    assert response is not None and response.status == 200
    charts = page.locator("svg.trend")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 4
    for index in range(charts.count()):
        expect(charts.nth(index)).to_be_visible()
        assert charts.nth(index).locator("title").count() >= 1
    expect(page.locator("main")).to_contain_text("By call type")


def test_the_period_radios_and_the_sort_headers_are_reachable_with_tab(
    page: Page, live_server: Any, live_world: World, live_data: PageData
) -> None:
    base = live_server.url
    sign_in(page, base, "l1")
    expect(page.locator("table.dashboard")).to_be_visible()

    reached: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => {
                const e = document.activeElement;
                if (e.matches("input[type=radio]")) return "radio:" + e.name + "=" + e.value;
                if (e.closest("table.dashboard thead")) return "sort:" + e.textContent.trim();
                return e.tagName;
            }"""
            )
        )
        if "sort:FCR" in reached:
            break

    assert "radio:period=4w" in reached
    assert "sort:Agent" in reached and "sort:AHT" in reached and "sort:FCR" in reached
    assert reached.index("radio:period=4w") < reached.index("sort:AHT")

    # A sort header works from the keyboard as well.
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=fcr&dir=desc"))

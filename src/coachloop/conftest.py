"""Shared fixtures: the personas' world, row counts, and the browser."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.apps import apps
from django.test import Client

from coachloop.core.personas import World, build_world
from coachloop.org.models import Person


@pytest.fixture(autouse=True)
def _no_kept_diagnosis_contexts() -> None:
    """Each test starts with no program context kept from another test's database."""
    from coachloop.insights.contexts import forget_all

    forget_all()


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def client_for(world: World) -> Callable[[Person], Client]:
    """A test client signed in as one persona."""

    def make(person: Person) -> Client:
        client = Client()
        client.force_login(world.user(person))
        return client

    return make


def row_counts() -> dict[str, int]:
    """Rows in every table: a denied request must leave all of them as they were."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.fixture
def counts() -> Callable[[], dict[str, int]]:
    return row_counts


# --- browser ---
# Real Chromium (Debian's, never a downloaded one) driven through Playwright's sync API. Every
# page a browser test opens is watched: a Content Security Policy violation or a console error
# fails the test at teardown.

import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = os.environ.get("COACHLOOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Each violation is pushed into a window array and also reported at once through an exposed
# binding, since a navigation empties the array; the array is read again at teardown.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const violation = {
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile + ":" + event.lineNumber,
    sample: event.sample,
    page: document.location.href,
  };
  window.__cspViolations.push(violation);
  if (window.__reportCspViolation) window.__reportCspViolation(violation);
});
"""
NOT_FOUND_RESOURCE = "Failed to load resource: the server responded with a status of 404"


@dataclass
class PageProblems:
    """What the browser complained about during one test."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    not_found_urls: set[str] = field(default_factory=set)

    def expect_not_found(self, url: str) -> None:
        """The test opens ``url`` to see a 404: Chromium's "failed to load" line for it is fine.
        A CSP violation never is."""
        self.not_found_urls.add(url)

    def console_error(self, text: str, url: str) -> None:
        if text.startswith(NOT_FOUND_RESOURCE) and url in self.not_found_urls:
            return
        self.console_errors.append(f"{text} (at {url})")

    def csp_violation(self, violation: dict[str, Any]) -> None:
        if violation not in self.csp_violations:
            self.csp_violations.append(violation)

    def seen(self) -> bool:
        return bool(self.csp_violations or self.console_errors or self.page_errors)

    def report(self) -> str:
        return (
            f"the browser saw problems: CSP violations {self.csp_violations}, "
            f"console errors {self.console_errors}, page errors {self.page_errors}"
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # From start to stop, Playwright's sync API leaves an event loop running in this thread, and
    # Django refuses ORM calls (fixtures, later tests) from such a thread unless told the code is
    # really synchronous, as it is here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser: Browser, page_problems: PageProblems) -> Iterator[Page]:
    """A fresh context and page; at teardown, no CSP violation and no console error."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(10_000)
    context.expose_function("__reportCspViolation", page_problems.csp_violation)
    context.add_init_script(CSP_LISTENER)
    opened = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_problems.console_error(message.text, message.location.get("url", ""))

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: page_problems.page_errors.append(str(error)))
    yield opened
    try:
        for violation in opened.evaluate("window.__cspViolations || []"):
            page_problems.csp_violation(violation)
    finally:
        context.close()
    assert not page_problems.seen(), page_problems.report()

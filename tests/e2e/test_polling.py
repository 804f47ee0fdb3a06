"""Polling: one refresh at a time however slow the server, a timeout on each request, none while hidden.

The page's clock is Playwright's fake clock, so a minute of polling takes no real time; a slow server is
a request the browser holds until the test lets it through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Error, Page, Route, expect

from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

PRICE_NOW = "**/bi/prices/current"
MINUTE_MS = 60_000

SET_HIDDEN = """
(hidden) => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""


def wait_for(page: Page, check: Callable[[], bool], what: str) -> None:
    for _ in range(100):
        if check():
            return
        page.wait_for_timeout(50)
    pytest.fail(f"timed out waiting for {what}")


def test_slow_server_gets_one_request_at_a_time_each_with_a_timeout(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.clock.install()
    sent: list[str] = []
    page.on(
        "request", lambda request: sent.append(request.url) if "/bi/prices/current" in request.url else None
    )
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector("body[data-loaded=true]")
    assert len(sent) == 1

    held: list[Route] = []

    def hold(route: Route) -> None:  # the server "is slow": nothing answers until the test says so
        held.append(route)

    page.route(PRICE_NOW, hold)
    page.clock.fast_forward(MINUTE_MS)
    wait_for(page, lambda: len(held) == 1, "the next poll")

    page.clock.fast_forward(5_000)
    page.evaluate(SET_HIDDEN, False)  # coming back to the tab asks for a refresh, but one is running
    page.wait_for_timeout(200)
    assert len(sent) == 2, "a refresh started while the previous one was still waiting"

    page.clock.fast_forward(6_000)  # past the 10 s request timeout
    expect(page.locator("#price-error")).to_contain_text("no answer within 10 s")

    page.clock.fast_forward(MINUTE_MS)  # the next poll comes a minute after the failed one finished
    wait_for(page, lambda: len(held) == 2, "the poll after the timeout")
    page.unroute(PRICE_NOW)
    for route in held:
        with contextlib.suppress(Error):
            route.continue_()


def test_hidden_tab_does_not_poll_and_refreshes_when_shown(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.clock.install()
    sent: list[str] = []
    page.on(
        "request", lambda request: sent.append(request.url) if "/bi/prices/current" in request.url else None
    )
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector("body[data-loaded=true]")
    assert len(sent) == 1

    page.evaluate(SET_HIDDEN, True)
    page.clock.fast_forward(10 * MINUTE_MS)
    page.wait_for_timeout(300)
    assert len(sent) == 1, "a hidden tab kept polling"

    page.evaluate(SET_HIDDEN, False)
    wait_for(page, lambda: len(sent) == 2, "the refresh on showing the tab")

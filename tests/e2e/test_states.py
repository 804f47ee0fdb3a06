"""Honest states: loading skeletons, empty states that say how to fill them, sources that are not
configured, and a quota that is unknown until the tailnet was read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

LOADED = "body[data-loaded=true]"


def test_empty_database_says_what_is_missing_and_how_to_get_it(
    empty_stack: Stack, admin_context: BrowserContext, screenshots_dir: Path
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    page.goto(f"{empty_stack.url}/dashboard?period=7d")
    page.wait_for_selector(LOADED)

    expect(page.locator("#price-error .empty")).to_contain_text("ingest-prices")
    expect(page.locator("#price-error .empty")).to_contain_text("make sample-data")
    expect(page.locator("#weather-error .empty")).to_contain_text("ingest-weather")
    expect(page.locator("#price-chart .empty")).to_contain_text("No prices are stored for this period")
    expect(page.locator("#forecast-chart .empty")).to_contain_text("No forecast is stored")
    expect(page.locator("#products-rows .empty")).to_contain_text("POST /production/batches")
    expect(page.locator("#cheap-windows .empty")).to_be_visible()
    # An empty database is not an outage: no error notices, no HTTP codes.
    expect(page.locator(".notice")).to_have_count(0)
    assert "HTTP" not in page.inner_text("main")
    assert page.locator(".skeleton").count() == 0

    aemet = page.locator("#freshness-rows tr[data-source='weather/aemet']")
    expect(aemet.locator(".badge")).to_have_text("not configured")
    expect(aemet.locator(".badge")).to_have_class("badge neutral")
    expect(aemet).to_contain_text("CF_AEMET_API_KEY")
    prices = page.locator("#freshness-rows tr[data-source='prices/ree']")
    expect(prices.locator(".badge")).to_have_text("no data")
    expect(prices.locator(".badge")).to_have_class("badge neutral")
    expect(prices).to_contain_text("ingest-prices")
    page.screenshot(path=str(screenshots_dir / "dashboard-empty.png"), full_page=True)
    # Chromium logs every 404 answer; /bi/prices/current and /bi/weather/current answer 404 when empty.
    unexpected = [e for e in watched.console_errors if "status of 404" not in e]
    assert watched.errors == [] and unexpected == []


def test_quota_is_unknown_while_the_tailnet_was_never_read(
    empty_stack: Stack, admin_context: BrowserContext, screenshots_dir: Path
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{empty_stack.url}/vpn")
    page.wait_for_selector(LOADED)
    expect(page.locator("#quota-level")).to_have_text("unknown")
    expect(page.locator("#quota-level")).to_have_class("badge neutral")
    expect(page.locator("#quota-used")).to_have_text("?")
    expect(page.locator("#quota-thresholds")).to_contain_text("tailscaled has not answered")
    assert page.get_attribute("#quota-gauge", "aria-valuenow") is None
    expect(page.locator("#devices .empty")).to_contain_text("No tailnet data yet")
    expect(page.locator("#uptime .empty")).to_contain_text("snapshot-tailnet")
    expect(page.locator("#devices-stale")).to_be_hidden()
    page.screenshot(path=str(screenshots_dir / "vpn-empty.png"), full_page=True)


def test_loading_shows_skeletons_not_dashes(app_stack: Stack, admin_context: BrowserContext) -> None:
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:  # the data requests wait until the test lets them through
        if released:
            route.continue_()
        else:
            held.append(route)

    page = open_page(admin_context).page
    page.route(re.compile(r".*/(bi|ready)(/|\?|$).*"), hold)
    page.goto(f"{app_stack.url}/dashboard")
    expect(page.locator("#price-now .skeleton")).to_be_visible()
    expect(page.locator("#prod-cost .skeleton")).to_be_visible()
    expect(page.locator("#price-chart .skeleton")).to_be_visible()
    assert "\u2014" not in page.inner_text("main"), "a dash reads as a missing value, not as loading"

    released = True
    for route in held:
        route.continue_()
    page.wait_for_selector(LOADED)
    expect(page.locator(".skeleton")).to_have_count(0)
    expect(page.locator("#price-now")).to_have_text(re.compile(r"€/kWh$"))

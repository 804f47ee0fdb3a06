"""The dashboard in Chromium: the factory's figures, the price chart with its cheapest windows, freshness."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

LOADED = "body[data-loaded=true]"


def test_root_redirects_to_the_dashboard(app_stack: Stack) -> None:
    response = httpx.get(f"{app_stack.url}/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/dashboard"


def test_pages_forbid_scripts_from_anywhere_but_the_app(app_stack: Stack) -> None:
    for path in ("/dashboard", "/vpn"):
        response = httpx.get(f"{app_stack.url}{path}")
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy


def test_dashboard_shows_price_weather_production_and_freshness(
    app_stack: Stack, admin_context: BrowserContext, screenshots_dir: Path
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector(LOADED)

    expect(page.locator("#price-now")).to_have_text(re.compile(r"^\d+\.\d{4}\s€/kWh$"))
    expect(page.locator("#tariff-period")).to_have_text(re.compile(r"^Tariff P[123]$"))
    expect(page.locator("#price-chart canvas")).to_have_count(1)
    windows = page.locator("#cheap-windows li")
    expect(windows.first).to_contain_text("average")
    expect(page.locator("#weather-temp")).to_have_text(re.compile(r"^-?\d+\.\d\s°C$"))
    expect(page.locator("#weather-band")).to_have_text(
        re.compile(r"^(In comfort band|Below comfort band|Above comfort band)$")
    )
    expect(page.locator("#weather-comfort")).to_have_text("15–22 °C")
    expect(page.locator("#prod-kg")).to_have_text(re.compile(r"^[\d,]+\skg$"))
    expect(page.locator("#prod-kwh-kg")).to_have_text(re.compile(r"^\d+\.\d\d\skWh/kg$"))
    freshness = page.locator("#freshness-rows tr")
    expect(freshness.first).to_contain_text("prices")
    assert freshness.count() >= 2
    expect(page.locator(".notice")).to_have_count(0)

    page.screenshot(path=str(screenshots_dir / "dashboard.png"), full_page=True)
    outside = [url for url in requested if not url.startswith(app_stack.url)]
    assert outside == [], "the dashboard must load nothing from outside the app"
    assert watched.errors == [] and watched.console_errors == []

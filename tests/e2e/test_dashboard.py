"""The dashboard in Chromium: the factory's figures, the price chart with its cheapest windows, freshness."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from app.settings import Settings
from tests.e2e.conftest import madrid_days, open_page
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
    page.goto(f"{app_stack.url}/dashboard?period=7d")
    page.wait_for_selector(LOADED)

    expect(page.locator("#price-now")).to_have_text(re.compile(r"^\d+\.\d{4}\s€/kWh$"))
    expect(page.locator("#tariff-period")).to_have_text(re.compile(r"^Tariff P[123]$"))
    expect(page.locator("#price-chart canvas")).to_have_count(1)
    expect(page.locator("#price-chart")).to_have_attribute("data-now-shown", "true")
    expect(page.locator("#price-legend")).to_contain_text("Price (€/kWh)")
    expect(page.locator("#weather-temp")).to_have_text(re.compile(r"^-?\d+\.\d\s°C$"))
    expect(page.locator("#weather-band")).to_have_text(
        re.compile(r"^(In the comfort band|Below the comfort band|Above the comfort band)$")
    )
    expect(page.locator("#weather-comfort")).to_have_text("15–22 °C")
    expect(page.locator("#prod-kg")).to_have_text(re.compile(r"^[\d,]+\skg$"))
    expect(page.locator("#prod-kwh-kg")).to_have_text(re.compile(r"^\d+\.\d\d\skWh/kg$"))
    expect(page.locator("#prod-cost")).to_have_text(re.compile(r"^€[\d,]+\.\d\d$"))
    expect(page.locator("#prod-eur-kg")).to_have_text(re.compile(r"^€\d+\.\d{3}/kg$"))
    expect(page.locator("#products-rows tr").first).to_be_visible()
    freshness = page.locator("#freshness-rows tr")
    expect(freshness.first).to_contain_text("Prices")
    assert freshness.count() >= 2
    expect(page.locator(".notice")).to_have_count(0)

    page.screenshot(path=str(screenshots_dir / "dashboard.png"), full_page=True)
    outside = [url for url in requested if not url.startswith(app_stack.url)]
    assert outside == [], "the dashboard must load nothing from outside the app"
    assert watched.errors == [] and watched.console_errors == []


def test_cheapest_windows_state_their_length_from_the_chats_setting(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    hours = Settings().chat_batch_hours  # the stack sets no CF_CHAT_BATCH_HOURS: the default
    api = httpx.get(f"{app_stack.url}/bi/prices/cheapest-windows", params={"hours": 24}).json()
    assert api["duration_hours"] == hours
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector(LOADED)
    expect(page.locator("#windows-title")).to_have_text(f"Cheapest {hours} h windows in the next 24 h")
    items = page.locator("#cheap-windows li")
    expect(items).to_have_count(len(api["windows"]))
    for text in items.all_text_contents():
        assert f"({hours} h)" in text
    expect(page.locator("#price-legend")).to_contain_text(f"Cheapest windows ({hours} h)")


def test_forecast_shades_the_comfort_band_and_counts_the_hours_outside_it(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    forecast = httpx.get(f"{app_stack.url}/bi/weather/forecast", params={"hours": 48}).json()
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector(LOADED)
    summary = page.locator("#forecast-summary")
    expect(summary).to_have_attribute("data-below", str(forecast["hours_below"]))
    expect(summary).to_have_attribute("data-above", str(forecast["hours_above"]))
    expect(summary).to_contain_text(
        f"{forecast['hours_below']} h below 15 °C and {forecast['hours_above']} h above 22 °C"
    )
    expect(page.locator("#forecast-chart canvas")).to_have_count(1)
    expect(page.locator("#forecast-chart")).to_have_attribute("data-now-shown", "true")
    expect(page.locator("#forecast-legend")).to_contain_text("Comfort band 15–22 °C")


def test_production_shows_the_periods_cost_cost_per_kg_and_split_per_product(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard?period=30d")
    page.wait_for_selector(LOADED)
    rows = page.locator("#products-rows tr")
    expect(rows.first).to_be_visible()
    start, end = madrid_days(29, 0)
    summary = httpx.get(
        f"{app_stack.url}/bi/production/summary", params={"start": start.isoformat(), "end": end.isoformat()}
    ).json()
    expect(page.locator("#prod-cost")).to_have_text(f"€{summary['energy_cost_eur']:,.2f}")
    expect(rows).to_have_count(len(summary["by_product"]))
    dearest = max(summary["by_product"], key=lambda p: p["eur_per_kg"])
    assert rows.first.get_attribute("data-product") == dearest["product"]
    expect(rows.first).to_contain_text(f"€{dearest['eur_per_kg']:.3f}")
    expect(page.locator("#prod-note")).to_contain_text(f"Dearest per kg: {dearest['product']}")

"""The dashboard's period picker (today, tomorrow, 7 days, 30 days, custom) and Madrid time around DST."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e import stack
from tests.e2e.conftest import DESKTOP, madrid_days, open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

LOADED = "body[data-loaded=true]"
DASH = "\u2014"


def _price(value: float | None) -> str:
    return DASH if value is None else f"{value:.4f} €/kWh"


def _text(page: Page, selector: str) -> str:
    return (page.locator(selector).text_content() or "").replace("\xa0", " ")


def _api(app: Stack, start: datetime, end: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    period = {"start": start.isoformat(), "end": end.isoformat()}
    prices = httpx.get(f"{app.url}/bi/prices", params=period).json()
    production = httpx.get(f"{app.url}/bi/production/summary", params=period).json()
    return prices, production


def _expect_figures(page: Page, app: Stack, start: datetime, end: datetime) -> None:
    """The page's figures are the API's for [start, end), as English writes them."""
    prices, production = _api(app, start, end)
    expected = {
        "#prices-min": _price(prices["min_price_eur_kwh"]),
        "#prices-avg": _price(prices["avg_price_eur_kwh"]),
        "#prices-max": _price(prices["max_price_eur_kwh"]),
        "#prod-kg": f"{production['kg']:,.0f} kg",
        "#prod-batches": str(production["batches"]),
    }
    for selector, text in expected.items():
        expect(page.locator(selector)).to_have_text(text)  # Playwright treats a no-break space as a space
    rows = page.locator("#prices-rows tr")
    expect(rows).to_have_count(max(1, len(prices["prices"])))


@pytest.mark.parametrize(
    ("choice", "first_ago", "last_ago"),
    [("7d", 6, 0), ("30d", 29, 0), ("tomorrow", -1, -1), ("today", 0, 0)],
)
def test_period_picker_shows_the_figures_the_api_gives_for_that_period(
    choice: str, first_ago: int, last_ago: int, app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard?period={'30d' if choice == 'today' else 'today'}")
    page.wait_for_selector(LOADED)
    before = _text(page, "#prices-avg")

    page.check(f"#period-form input[value='{choice}']")
    expect(page).to_have_url(f"{app_stack.url}/dashboard?period={choice}")
    start, end = madrid_days(first_ago, last_ago)
    _expect_figures(page, app_stack, start, end)
    if choice != "tomorrow":  # tomorrow's prices may be few: their mean can match by chance
        assert _text(page, "#prices-avg") != before, "the figures did not change with the period"


def test_custom_period_is_kept_in_the_url_and_survives_a_reload(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector(LOADED)
    start, end = madrid_days(12, 9)
    first, last = start.date().isoformat(), madrid_days(9, 9)[0].date().isoformat()

    page.check("#period-form input[value='custom']")
    page.fill("#period-from", first)
    page.fill("#period-to", last)
    page.click("#period-apply")
    shared = f"{app_stack.url}/dashboard?period=custom&from={first}&to={last}"
    expect(page).to_have_url(shared)
    _expect_figures(page, app_stack, start, end)

    again = open_page(admin_context).page
    again.goto(shared)
    again.wait_for_selector(LOADED)
    expect(again.locator("#period-form input[value='custom']")).to_be_checked()
    expect(again.locator("#period-from")).to_have_value(first)
    _expect_figures(again, app_stack, start, end)


def test_custom_period_errors_name_the_field_to_fix(app_stack: Stack, admin_context: BrowserContext) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector(LOADED)
    page.check("#period-form input[value='custom']")
    page.fill("#period-from", "2026-11-20")
    page.fill("#period-to", "2026-11-10")
    page.click("#period-apply")
    expect(page.locator("#period-error")).to_contain_text("The “To” date must be on or after the “From” date")
    assert "period=custom" not in page.url


@pytest.mark.parametrize(
    ("day", "hours", "first", "around_the_change", "last"),
    [
        # 25 October 2026: at 03:00 CEST clocks go back to 02:00 CET, so 02:00 happens twice.
        ("2026-10-25", 25, "00:00 CEST", ["01:00 CEST", "02:00 CEST", "02:00 CET", "03:00 CET"], "23:00 CET"),
        # 29 March 2026: at 02:00 CET clocks go forward to 03:00 CEST, so there is no 02:00.
        ("2026-03-29", 23, "00:00 CET", ["01:00 CET", "03:00 CEST", "04:00 CEST"], "23:00 CEST"),
    ],
)
def test_hours_are_madrid_time_around_a_dst_change_whatever_the_browsers_zone(
    day: str,
    hours: int,
    first: str,
    around_the_change: list[str],
    last: str,
    app_stack: Stack,
    browser: Browser,
) -> None:
    # New York changes on other dates (1 Nov, 8 Mar): a page using the browser's zone would differ.
    context = browser.new_context(
        viewport=DESKTOP,
        locale="en-GB",
        timezone_id="America/New_York",
        extra_http_headers={"Tailscale-User-Login": stack.ADMIN_LOGIN},
    )
    try:
        page = open_page(context).page
        page.goto(f"{app_stack.url}/dashboard?period=custom&from={day}&to={day}")
        page.wait_for_selector(LOADED)
        label = date.fromisoformat(day).strftime("%a %-d %b")  # "Sun 25 Oct"
        expect(page.locator("#period-label")).to_contain_text(label)
        page.click("#prices-card details summary")
        cells = page.locator("#prices-rows tr td:first-child")
        expect(cells).to_have_count(hours)
        shown = [text.split(", ")[1] for text in cells.all_text_contents()]
        assert shown[0] == first and shown[-1] == last
        assert shown[1 : 1 + len(around_the_change)] == around_the_change
        assert all(text.startswith(label.split(" ", 1)[1]) for text in cells.all_text_contents())
    finally:
        context.close()

"""Phone-sized viewport and keyboard use of both pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/dashboard", "/vpn"])
def test_page_fits_an_iphone_without_horizontal_scrolling(
    path: str, app_stack: Stack, phone_context: BrowserContext, screenshots_dir: Path
) -> None:
    watched = open_page(phone_context)
    page = watched.page
    page.goto(f"{app_stack.url}{path}")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_timeout(200)  # let charts take the container's width
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner_width == 390
    assert scroll_width <= inner_width, f"{path} scrolls sideways on a phone: {scroll_width}px wide"
    page.screenshot(path=str(screenshots_dir / f"{path.strip('/')}-phone.png"), full_page=True)
    assert watched.errors == []


def test_chat_is_usable_from_the_keyboard(app_stack: Stack, admin_context: BrowserContext) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector("body[data-loaded=true]")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "chat-question":
            break
    else:
        pytest.fail("Tab never reaches the chat question box")
    assert page.evaluate("document.activeElement.labels[0].textContent").startswith("Your question")
    page.keyboard.type("What is the price now?")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-usage")).to_contain_text("Tokens:", timeout=20_000)
    assert page.locator("#chat-answer").get_attribute("aria-live") == "polite"

"""Layout: a phone-sized viewport, keyboard use, 5,000-character and right-to-left names at 1366 px,
and the contrast of every badge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e import stack
from tests.e2e.conftest import LAPTOP, open_page
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
    legends = page.locator("#price-legend li, #forecast-legend li, #usage-legend li")
    assert legends.count() >= 3, "every chart keeps its legend on a phone"
    for item in legends.all():
        box = item.bounding_box()
        assert item.is_visible() and box is not None and box["x"] + box["width"] <= inner_width
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


#: Per table: its right edge against its card's, and each header cell's box (visible = wider than 24 px
#: and inside the viewport).
TABLE_GEOMETRY = """() => [...document.querySelectorAll('main table')]
  .filter(t => t.offsetParent !== null)
  .map(t => ({
  id: t.id || t.dataset.class || '',
  right: t.getBoundingClientRect().right,
  cardRight: t.closest('section').getBoundingClientRect().right,
  headers: [...t.querySelectorAll('thead th')].map(th => {
    const r = th.getBoundingClientRect();
    return {text: th.textContent, left: r.left, right: r.right, width: r.width};
  }),
}))"""


def test_5000_character_names_leave_every_column_visible_at_1366px(
    long_names_stack: Stack, browser: Browser, screenshots_dir: Path
) -> None:
    context = browser.new_context(
        viewport=LAPTOP, locale="en-GB", extra_http_headers={"Tailscale-User-Login": stack.ADMIN_LOGIN}
    )
    try:
        page = open_page(context).page
        page.goto(f"{long_names_stack.url}/vpn")
        page.wait_for_selector("body[data-loaded=true]")
        long_host = page.locator("#devices bdi.name", has_text="ana-xxxx").first
        expect(long_host).to_have_attribute("title", stack.LONG_HOSTNAME)
        expect(page.locator("#logs-rows bdi.name[title^='ana.yyy']").first).to_be_visible()
        expect(page.locator("#logs-rows bdi.name[title^='GET /dashboard/zzz']").first).to_be_visible()

        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= LAPTOP["width"], f"the page is {scroll_width}px wide"
        tables = page.evaluate(TABLE_GEOMETRY)
        assert len(tables) >= 5  # four device groups and the access log
        for table in tables:
            assert table["right"] <= table["cardRight"] + 1, f"table {table['id']} is wider than its card"
            for header in table["headers"]:
                assert header["width"] > 24 and header["right"] <= LAPTOP["width"], (table["id"], header)
        clipped = long_host.evaluate("n => n.scrollWidth > n.clientWidth")
        assert clipped, "the long name is cut with an ellipsis, not wrapped or overflowing"
        assert long_host.evaluate("n => getComputedStyle(n).textOverflow") == "ellipsis"
        page.screenshot(path=str(screenshots_dir / "vpn-long-names.png"), full_page=True)
    finally:
        context.close()


def test_a_right_to_left_override_in_a_name_cannot_reorder_it(
    long_names_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{long_names_stack.url}/vpn")
    page.wait_for_selector("body[data-loaded=true]")
    name = page.locator(f"#devices tr[data-device='{stack.RTL_HOSTNAME}'] th bdi")
    # Shown naively, "factura\u202egnp.exe" reads "facturaexe.png"; here the override is a visible
    # code point, so the characters keep their order, and the name is isolated from its neighbours.
    expect(name).to_have_text("factura[U+202E]gnp.exe")
    assert name.evaluate("n => n.tagName") == "BDI"
    devices_text = page.locator("#devices").text_content() or ""
    uptime_text = page.locator("#uptime").text_content() or ""
    assert "\u202e" not in devices_text + uptime_text
    expect(page.locator("#uptime bdi", has_text="factura[U+202E]gnp.exe")).to_have_count(1)


#: Each badge's text and background colour as rendered, "rgb(r, g, b)".
BADGE_COLOURS = """() => [...document.querySelectorAll('.badge')]
  .filter(b => b.offsetParent !== null)
  .map(b => {
  const style = getComputedStyle(b);
  return {cls: b.className, text: b.textContent, color: style.color, background: style.backgroundColor};
})"""

#: One badge of every kind the stylesheet defines, added to a card so the page's CSS styles it.
EVERY_BADGE_KIND = """() => {
  const card = document.querySelector('main section.card');
  for (const kind of ['P1', 'P2', 'P3', 'ok', 'warn', 'bad', 'info', 'neutral', '']) {
    const badge = document.createElement('span');
    badge.className = ('badge ' + kind).trim();
    badge.textContent = 'badge ' + kind;
    card.appendChild(badge);
  }
}"""


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio of two opaque colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("path", ["/dashboard", "/vpn"])
def test_every_badge_has_at_least_4_5_to_1_contrast(
    path: str, app_stack: Stack, empty_stack: Stack, admin_context: BrowserContext
) -> None:
    seen: list[dict[str, str]] = []
    for running in (app_stack, empty_stack):
        page = open_page(admin_context).page
        page.goto(f"{running.url}{path}")
        page.wait_for_selector("body[data-loaded=true]")
        seen += page.evaluate(BADGE_COLOURS)
        page.evaluate(EVERY_BADGE_KIND)
        seen += page.evaluate(BADGE_COLOURS)
        page.close()
    kinds = {badge["cls"] for badge in seen}
    assert {"badge P1", "badge ok", "badge warn", "badge bad", "badge info", "badge neutral"} <= kinds
    for badge in seen:
        assert "rgba" not in badge["background"] or badge["background"].endswith(", 1)")
        ratio = contrast(badge["color"], badge["background"])
        assert ratio >= 4.5, f"{badge['text']!r} ({badge['cls']}): {ratio:.2f}:1"

"""Both pages in Spanish (the default) and English: every string from the catalogues, es-ES formats,
<html lang> following the language, and a language switch that is remembered."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from app.i18n import catalogue
from tests.e2e import stack
from tests.e2e.conftest import DESKTOP, open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

LOADED = "body[data-loaded=true]"
#: The price now as each language writes it.
PRICE_FORMAT = {"es": r"^\d+,\d{4}\s€/kWh$", "en": r"^\d+\.\d{4}\s€/kWh$"}


def _context(browser: Browser, locale: str) -> BrowserContext:
    """Chromium sends Accept-Language from its locale (es-ES: "es-ES,es;q=0.9")."""
    return browser.new_context(
        viewport=DESKTOP, locale=locale, extra_http_headers={"Tailscale-User-Login": stack.ADMIN_LOGIN}
    )


@pytest.mark.parametrize("path", ["/dashboard", "/vpn"])
@pytest.mark.parametrize(("locale", "language"), [("es-ES", "es"), ("en-GB", "en")])
def test_page_speaks_the_browsers_language_with_no_untranslated_key(
    path: str, locale: str, language: str, app_stack: Stack, browser: Browser, screenshots_dir: Path
) -> None:
    context = _context(browser, locale)
    try:
        watched = open_page(context)
        page = watched.page
        page.goto(f"{app_stack.url}{path}" + ("?period=7d" if path == "/dashboard" else ""))
        page.wait_for_selector(LOADED)
        page.wait_for_timeout(200)  # let the charts take the container's width
        page.screenshot(path=str(screenshots_dir / f"{path.strip('/')}-{language}.png"), full_page=True)
        texts = catalogue(language)

        assert page.get_attribute("html", "lang") == language
        assert page.evaluate("window.CF.missingTranslations") == []
        untranslated = page.evaluate(
            """() => [...document.querySelectorAll('[data-i18n]')]
                 .filter(n => n.tagName !== 'TITLE' && n.textContent !== window.CF.t(n.dataset.i18n))
                 .map(n => n.dataset.i18n)"""
        )
        assert untranslated == []
        shown = page.inner_text("body")
        keys_shown = [key for key in texts if re.search(rf"(?<![\w/.]){re.escape(key)}(?![\w])", shown)]
        assert keys_shown == [], "catalogue keys shown instead of their text"
        assert page.title() == texts["dashboard.page_title" if path == "/dashboard" else "vpn.page_title"]
        expect(page.locator("nav a[aria-current=page]")).to_have_text(
            texts["nav.dashboard" if path == "/dashboard" else "nav.vpn"]
        )
        if path == "/dashboard":
            expect(page.locator("#price-title")).to_have_text(texts["price.now_title"])
            expect(page.locator("#price-now")).to_have_text(re.compile(PRICE_FORMAT[language]))
            expect(page.locator("#zone-note")).to_have_text(texts["zone.note"])
        else:
            expect(page.locator("#quota-title")).to_have_text(texts["quota.title"])
        assert watched.errors == [] and watched.console_errors == []
    finally:
        context.close()


def test_a_request_without_accept_language_gets_spanish(app_stack: Stack) -> None:
    response = httpx.get(f"{app_stack.url}/dashboard")
    assert '<html lang="es">' in response.text
    assert response.headers["content-language"] == "es"
    english = httpx.get(f"{app_stack.url}/dashboard", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Accept-Language" in english.headers["vary"]


def test_language_switch_is_remembered_across_pages_and_reloads(app_stack: Stack, browser: Browser) -> None:
    context = _context(browser, "es-ES")
    try:
        page = open_page(context).page
        page.goto(f"{app_stack.url}/dashboard?period=7d")
        page.wait_for_selector(LOADED)
        assert page.get_attribute("html", "lang") == "es"
        expect(page.locator("[data-set-lang=es]")).to_have_attribute("aria-pressed", "true")

        with page.expect_navigation():
            page.click("[data-set-lang=en]")
        page.wait_for_selector(LOADED)
        assert page.get_attribute("html", "lang") == "en"
        assert "period=7d" in page.url, "switching language keeps the view"
        expect(page.locator("#price-title")).to_have_text(catalogue("en")["price.now_title"])

        page.goto(f"{app_stack.url}/vpn")
        page.wait_for_selector(LOADED)
        assert page.get_attribute("html", "lang") == "en"
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies["cf_lang"] == "en"
    finally:
        context.close()

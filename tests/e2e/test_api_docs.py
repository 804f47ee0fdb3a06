"""/docs (Swagger UI) and /redoc (Redoc) in Chromium: rendered from vendored files under the pages' CSP."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from app.pages import CONTENT_SECURITY_POLICY
from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", "#swagger-ui .opblock-summary-path[data-path='/bi/prices']"),
        ("/redoc", "#redoc h2:has-text('Price Series')"),
    ],
)
def test_api_docs_render_with_no_request_leaving_the_machine(
    path: str, rendered: str, app_stack: Stack, admin_context: BrowserContext
) -> None:
    response = httpx.get(f"{app_stack.url}{path}")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY

    watched = open_page(admin_context)
    page = watched.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{app_stack.url}{path}")
    expect(page.locator(rendered).first).to_be_visible(timeout=15_000)
    page.wait_for_timeout(500)  # late requests (logos, fonts, telemetry) would have started by now

    outside = [url for url in requested if not url.startswith(app_stack.url) and not url.startswith("data:")]
    assert outside == [], f"{path} asked for something outside the app"
    assert f"{app_stack.url}/openapi.json" in requested
    assert watched.errors == [], watched.errors
    assert watched.console_errors == [], "CSP violations or script errors: " + "; ".join(
        watched.console_errors
    )

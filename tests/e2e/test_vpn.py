"""The VPN page in Chromium: devices, quota, access logs, usage and uptime, hostile data shown as text."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e import stack
from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

LOADED = "body[data-loaded=true]"


def test_vpn_page_shows_devices_quota_logs_usage_and_uptime(
    app_stack: Stack, admin_context: BrowserContext, screenshots_dir: Path
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    page.goto(f"{app_stack.url}/vpn")
    page.wait_for_selector(LOADED)

    headings = page.locator("#devices h3").all_text_contents()
    for title in ("Own devices", "Tagged servers", "Shared in", "Other users' devices"):
        assert any(h.startswith(title) for h in headings), f"no {title!r} group in {headings}"
    expect(page.locator("#devices .dot.online").first).to_be_visible()
    expect(page.locator("#quota-used")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#quota-of")).to_contain_text("of 6 users")
    expect(page.locator("#quota-gauge .mark")).to_have_count(2)
    expect(page.locator("#logs-rows tr").first).to_contain_text("GET")
    expect(page.locator("#usage-chart canvas")).to_have_count(1)
    expect(page.locator("#usage-users li").first).to_be_visible()
    expect(page.locator("#uptime li").first).to_contain_text("%")
    expect(page.locator("#access-denied")).to_be_hidden()

    page.screenshot(path=str(screenshots_dir / "vpn.png"), full_page=True)
    assert watched.errors == [] and watched.console_errors == []


def test_hostile_hostname_and_request_path_show_as_text_and_never_run(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    page.goto(f"{app_stack.url}/vpn")
    page.wait_for_selector(LOADED)

    expect(page.locator("#devices")).to_contain_text(stack.HOSTILE_HOSTNAME)
    page.fill("#logs-path", "onerror")
    page.click("#logs-form button[type=submit]")
    expect(page.locator("#logs-rows")).to_contain_text(stack.HOSTILE_PATH)
    page.wait_for_timeout(300)  # an injected onerror handler would have fired by now

    assert watched.dialogs == [], "a data string was run as HTML"
    assert page.locator("img").count() == 0, "a data string injected an <img> element"
    assert page.evaluate("window.__pwned === undefined")


def test_access_log_filters_by_user_and_pages_through_results(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/vpn")
    page.wait_for_selector(LOADED)

    page.select_option("#logs-hours", "168")
    page.fill("#logs-user", stack.BUSY_USER)
    page.fill("#logs-path", "/dash")
    with page.expect_request(lambda r: "/analytics/access-logs?" in r.url) as sent:
        page.click("#logs-form button[type=submit]")
    query = parse_qs(urlsplit(sent.value.url).query)
    assert query["hours"] == ["168"] and query["user"] == [stack.BUSY_USER] and query["path"] == ["/dash"]
    rows = page.locator("#logs-rows tr")
    expect(rows).to_have_count(25)
    assert all(stack.BUSY_USER in text and "/dashboard" in text for text in rows.all_text_contents())
    expect(page.locator("#logs-page")).to_contain_text("1–25")
    expect(page.locator("#logs-prev")).to_be_disabled()

    first_page = rows.all_text_contents()
    page.click("#logs-next")
    expect(page.locator("#logs-page")).to_contain_text("26–")
    assert rows.all_text_contents() != first_page
    expect(page.locator("#logs-prev")).to_be_enabled()
    page.click("#logs-prev")
    expect(page.locator("#logs-page")).to_contain_text("1–25")
    assert rows.all_text_contents() == first_page


def test_non_admin_is_told_the_page_is_for_admins(app_stack: Stack, guest_context: BrowserContext) -> None:
    page = open_page(guest_context).page
    page.goto(f"{app_stack.url}/vpn")
    page.wait_for_selector(LOADED)
    banner = page.locator("#access-denied")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Only tailnet admins")
    expect(page.locator("#devices")).not_to_contain_text(stack.HOSTILE_HOSTNAME)


def test_stale_tailnet_data_is_marked_with_its_age(
    degraded_stack: Stack, admin_context: BrowserContext, screenshots_dir: Path
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{degraded_stack.url}/vpn")
    page.wait_for_selector(LOADED)
    stale = page.locator("#devices-stale")
    expect(stale).to_be_visible()
    expect(stale).to_contain_text(re.compile(r"Stale: the device list is \d+ (s|min|h|d) old"))
    expect(page.locator("#devices tbody tr").first).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "vpn-stale.png"), full_page=True)


def test_devices_show_key_expiry_routes_exit_nodes_os_and_version(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    page.goto(f"{app_stack.url}/vpn")
    page.wait_for_selector(LOADED)

    header = page.locator("table[data-class=tagged] thead").first
    for column in ("Key expiry", "Routes", "OS · version"):
        expect(header).to_contain_text(column)
    prod = page.locator("#devices tr[data-device=prod]")
    expect(prod).to_contain_text("linux · 1.76.6")
    assert prod.locator("span[title^='1.76.6-t1d2c3b4a5']").count() == 1, "the full version is its title"
    expect(prod).to_contain_text("never"), "a tagged server's key does not expire"
    expect(page.locator("#devices tr[data-device=git] td.routes")).to_have_text("10.20.0.0/24")
    expect(page.locator("#devices tr[data-device=dev] td.routes")).to_have_text("exit node")
    expect(page.locator("#devices tr[data-device=marta-laptop]")).to_contain_text("1 Mar")
    expect(page.locator("#alerts li").first).to_be_visible()
    assert page.locator("#alerts li[data-alert=localapi_unreachable]").count() == 0
    assert watched.errors == [] and watched.console_errors == []


def test_alerts_are_listed_when_the_localapi_is_down(
    degraded_stack: Stack, admin_context: BrowserContext
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    page.goto(f"{degraded_stack.url}/vpn")
    page.wait_for_selector(LOADED)

    alert = page.locator("#alerts li[data-alert=localapi_unreachable]")
    expect(alert).to_contain_text("The LocalAPI proxy does not answer")
    expect(alert.locator(".badge")).to_have_text("critical")
    expect(page.locator("#alerts-thresholds")).to_contain_text("offline for more than 30 min")
    assert watched.errors == [] and watched.console_errors == []

"""A real app under uvicorn with the stand-in Claude and LocalAPI servers, driven by Debian's Chromium.

Scoped to this package: one browser, one stack with data loaded (sample BI data, a tailnet with
devices of every class, an nginx-format access log with a hostile request), and a second app with no
API key and a rate limit of one question, for the degraded and rate-limited states of the chat widget.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from app.bi.tariff import SPAIN as MADRID
from tests.e2e import stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LAPTOP = {"width": 1366, "height": 768}


# Package scope: Playwright's sync API keeps an event loop running in the main thread until it stops,
# which would break every asyncio test collected after this package.
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def screenshots_dir(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="package")
def e2e_logs(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "e2e-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="package")
def app_stack(tmp_path_factory: pytest.TempPathFactory, e2e_logs: Path) -> Iterator[stack.Stack]:
    """The app with data, an API key pointed at the Claude stand-in, and the LocalAPI stand-in."""
    with stack.running_stack(tmp_path_factory.mktemp("stack"), e2e_logs, name="main") as running:
        yield running


@pytest.fixture(scope="package")
def degraded_stack(tmp_path_factory: pytest.TempPathFactory, e2e_logs: Path) -> Iterator[stack.Stack]:
    """The app with no API key and a rate limit of one question per window."""
    with stack.running_stack(
        tmp_path_factory.mktemp("degraded"),
        e2e_logs,
        name="degraded",
        api_key=False,
        rate_limit=1,
        tailnet_down=True,
    ) as running:
        yield running


@pytest.fixture(scope="package")
def empty_stack(tmp_path_factory: pytest.TempPathFactory, e2e_logs: Path) -> Iterator[stack.Stack]:
    """A first start without internet: an empty database and a tailnet that never answered."""
    with stack.running_stack(tmp_path_factory.mktemp("empty"), e2e_logs, name="empty", empty=True) as running:
        yield running


@pytest.fixture(scope="package")
def long_names_stack(tmp_path_factory: pytest.TempPathFactory, e2e_logs: Path) -> Iterator[stack.Stack]:
    """Data with 5,000-character names and a right-to-left override in a host name."""
    with stack.running_stack(
        tmp_path_factory.mktemp("names"), e2e_logs, name="names", long_names=True
    ) as running:
        yield running


def madrid_days(first_ago: int, last_ago: int, today: date | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the Madrid days from `first_ago` to `last_ago` days before today, both included."""
    today = today or datetime.now(MADRID).date()
    first = today - timedelta(days=first_ago)
    last = today - timedelta(days=last_ago)
    return datetime.combine(first, time(0), MADRID), datetime.combine(
        last + timedelta(days=1), time(0), MADRID
    )


@dataclass
class Watched:
    """A page and what it did that a user must never see: dialogs, uncaught errors, CSP violations."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def open_page(context: BrowserContext) -> Watched:
    page = context.new_page()
    watched = Watched(page)

    def on_dialog(dialog: object) -> None:
        watched.dialogs.append(getattr(dialog, "message", ""))
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on(
        "console",
        lambda message: watched.console_errors.append(message.text) if message.type == "error" else None,
    )
    return watched


@pytest.fixture
def admin_context(browser: Browser) -> Iterator[BrowserContext]:
    """A desktop browser in English whose requests carry the admin's Tailscale login (as the sidecar
    adds it)."""
    context = browser.new_context(
        viewport=DESKTOP, locale="en-GB", extra_http_headers={"Tailscale-User-Login": stack.ADMIN_LOGIN}
    )
    yield context
    context.close()


@pytest.fixture
def phone_context(browser: Browser) -> Iterator[BrowserContext]:
    """An iPhone-sized viewport in Spanish with the admin's login."""
    context = browser.new_context(
        viewport=PHONE,
        locale="es-ES",
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        extra_http_headers={"Tailscale-User-Login": stack.ADMIN_LOGIN},
    )
    yield context
    context.close()


@pytest.fixture
def guest_context(browser: Browser) -> Iterator[BrowserContext]:
    """A tailnet user who is not an admin."""
    context = browser.new_context(
        viewport=DESKTOP, locale="en-GB", extra_http_headers={"Tailscale-User-Login": stack.GUEST_LOGIN}
    )
    yield context
    context.close()

"""The chat widget: an answer streamed from /chat/stream as it is generated, its usage, and its failures."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import open_page
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

RECORD_ANSWER_GROWTH = """
() => {
  window.__answerLengths = [];
  const answer = document.getElementById("chat-answer");
  new MutationObserver(() => window.__answerLengths.push(answer.textContent.length))
    .observe(answer, { childList: true, characterData: true, subtree: true });
}
"""


def ask(page: Page, question: str) -> None:
    page.fill("#chat-question", question)
    page.click("#chat-send")


def test_answer_streams_into_the_widget_with_tokens_cost_and_figures(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    watched = open_page(admin_context)
    page = watched.page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector("body[data-loaded=true]")
    page.evaluate(RECORD_ANSWER_GROWTH)

    ask(page, "When is electricity cheapest today?")

    usage = page.locator("#chat-usage")
    expect(usage).to_contain_text("Tokens:", timeout=20_000)
    expect(usage).to_contain_text("cost €")
    answer = page.locator("#chat-answer").text_content() or ""
    assert app_stack.claude_answer_marker in answer, "the stand-in model's text reaches the widget"
    lengths: list[int] = page.evaluate("window.__answerLengths")
    partial = [n for n in lengths if 0 < n < len(answer)]
    assert partial, f"the answer appeared at once instead of streaming in parts: {lengths}"
    expect(page.locator("#chat-cited li").first).to_be_visible()
    expect(page.locator("#chat-send")).to_be_enabled()
    assert watched.errors == []


def test_follow_up_question_continues_the_conversation(
    app_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector("body[data-loaded=true]")
    ask(page, "What is the price now?")
    expect(page.locator("#chat-usage")).to_contain_text("Tokens:", timeout=20_000)
    expect(page.locator("#chat-new")).to_be_visible()

    ask(page, "And tomorrow at the same hour?")
    expect(page.locator("#chat-send")).to_have_text("Ask", timeout=20_000)
    expect(page.locator("#chat-usage")).to_contain_text("Tokens:")
    last = httpx.get(f"{app_stack.claude_url}/control/requests").json()["requests"][-1]
    messages = last["body"]["messages"]
    assert len(messages) >= 3, "the follow-up reached the model without the earlier turn"
    assert "What is the price now?" in json.dumps(messages, ensure_ascii=False)

    page.click("#chat-new")
    expect(page.locator("#chat-answer")).to_be_empty()
    expect(page.locator("#chat-question")).to_be_focused()


def test_suggested_question_asks_it(app_stack: Stack, admin_context: BrowserContext) -> None:
    page = open_page(admin_context).page
    page.goto(f"{app_stack.url}/dashboard")
    suggestion = page.locator("#chat-suggestions button").first
    text = suggestion.text_content()
    suggestion.click()
    expect(page.locator("#chat-question")).to_have_value(text or "")
    expect(page.locator("#chat-usage")).to_contain_text("Tokens:", timeout=20_000)


def test_degraded_assistant_is_announced_and_still_answers(
    degraded_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{degraded_stack.url}/dashboard")
    status = page.locator("#chat-status")
    expect(status).to_contain_text("not available now (no API key is configured)", timeout=10_000)

    ask(page, "What is the price now?")
    expect(page.locator("#chat-answer")).not_to_be_empty(timeout=20_000)
    expect(status).to_contain_text("short summary of the factory's figures")


def test_degraded_answer_gets_a_neutral_notice_in_the_pages_language(
    degraded_stack: Stack, phone_context: BrowserContext
) -> None:
    # The stack allows one question per window (asked above): the notice shows before any question.
    page = open_page(phone_context).page
    page.goto(f"{degraded_stack.url}/dashboard")
    notice = page.locator("#chat-status .notice")
    expect(notice).to_contain_text(
        "El asistente no está disponible ahora (no hay clave de la API configurada)", timeout=10_000
    )
    expect(notice).to_have_class("notice info")  # neutral, not the red or amber of a failure
    assert "no_key" not in (notice.text_content() or "")


def test_rate_limited_question_says_when_to_try_again(
    degraded_stack: Stack, admin_context: BrowserContext
) -> None:
    page = open_page(admin_context).page
    page.goto(f"{degraded_stack.url}/dashboard")
    status = page.locator("#chat-status")
    for _ in range(3):  # the limit is one question per window; earlier tests may have used it
        ask(page, "¿Cuándo es más barato producir mañana?")
        # The page's CSP forbids eval, so wait through a locator, not wait_for_function.
        expect(page.locator("#chat-send")).to_have_text("Ask", timeout=20_000)
        if "Rate limited" in (status.text_content() or ""):
            break
    expect(status).to_contain_text("Rate limited")
    expect(status).to_contain_text(r"Try again in")
    expect(page.locator("#chat-send")).to_be_disabled()


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def test_figures_the_data_does_not_support_are_marked_in_the_answer(
    app_stack: Stack, phone_context: BrowserContext
) -> None:
    """`grounded` and `unsupported_figures` are optional fields of the `done` event. This stream is the
    app's wire format (meta, delta..., done as /chat/stream sends them) with those fields set, handed to
    the page by the browser so the widget's handling is checked whatever the model answers."""
    answer = "El precio medio fue 0,1120 €/kWh y la factura subió un 40 %."
    done = {
        "answer": answer,
        "conversation_id": "c-1",
        "categories": ["prices"],
        "context_tokens": 100,
        "context_truncated": False,
        "tokens": {"input": 10, "output": 20, "cache_write": 0, "cache_read": 0},
        "cost_eur": 0.00001,
        "latency_ms": 50.0,
        "model": "claude-haiku-5-5",
        "degraded": False,
        "failure": None,
        "grounded": False,
        "unsupported_figures": ["40 %"],
    }
    body = _sse("meta", {"categories": ["prices"]}) + _sse("delta", {"text": answer}) + _sse("done", done)
    page = open_page(phone_context).page
    page.route(
        "**/chat/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    page.goto(f"{app_stack.url}/dashboard")
    page.wait_for_selector("body[data-loaded=true]")
    ask(page, "¿Cuánto subió la factura?")
    marked = page.locator("#chat-answer mark.unsupported")
    expect(marked).to_have_text("40 %")
    expect(page.locator("#chat-answer")).to_have_text(answer)
    expect(page.locator("#chat-status .notice")).to_contain_text("1 cifra(s) que no se pudieron comprobar")

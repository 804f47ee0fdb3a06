"""The tool loop against the Messages API stand-in: every stop reason, tool errors, faults mid-loop.

Each test scripts the stand-in's next responses (`POST /control/script`) and asks the app over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chat.conftest import FAST_FAILURES, AppServer, Standin, run_app, sse_events
from tests.chat.factory_data import seed_database

BUDGET = float(FAST_FAILURES["CF_CHAT_ANSWER_BUDGET_SECONDS"])
SLACK = 2.0
STATUS = {"tool_calls": [{"name": "get_status", "input": {}}]}


@pytest.fixture(scope="module")
def keyed_app(standin_process: Standin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data_dir: Path = tmp_path_factory.mktemp("tool-loop")
    seed_database(f"sqlite+aiosqlite:///{data_dir / 'app.db'}")
    env = {
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": standin_process.url,
        "CF_CHAT_RATE_LIMIT_REQUESTS": "1000",
        "CF_CHAT_MAX_TURNS": "3",
    }
    with run_app(data_dir, env, data_dir / "logs") as app:
        yield app


def script(standin: Standin, *turns: dict[str, Any]) -> None:
    httpx.post(f"{standin.url}/control/script", json={"turns": list(turns)}).raise_for_status()


def ask(app: AppServer, endpoint: str, question: str = "¿Cuál es el precio ahora?") -> dict[str, Any]:
    """The answer body of /chat/ask, or the `done` event of /chat/stream; a 200 either way."""
    response = httpx.post(f"{app.url}/chat/{endpoint}", json={"question": question}, timeout=30)
    assert response.status_code == 200, response.text
    if endpoint == "ask":
        body: dict[str, Any] = response.json()
        return body
    events = sse_events(response.text)
    assert events[-1][0] == "done"
    done: dict[str, Any] = events[-1][1]
    assert "".join(data["text"] for name, data in events if name == "delta") == done["answer"]
    return done


def totals(app: AppServer) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{app.url}/chat/stats").json()["totals"]
    return body


@pytest.mark.parametrize("endpoint", ["ask", "stream"])
def test_a_malformed_200_is_a_degraded_answer_not_a_5xx(
    keyed_app: AppServer, standin: Standin, endpoint: str
) -> None:
    script(standin, {"fault": "malformed"})
    body = ask(keyed_app, endpoint)
    assert body["degraded"] is True and body["failure"] == "malformed"
    assert "0,1500 €/kWh" in body["answer"], "the keyword path answers instead"


def test_an_overload_in_the_middle_of_a_stream_is_recorded_as_overloaded(
    keyed_app: AppServer, standin: Standin
) -> None:
    script(standin, STATUS, {"text": "The price now is 0.15 €/kWh, in P3.", "fault": "overload_mid_stream"})
    body = ask(keyed_app, "stream")
    assert body["degraded"] is True and body["failure"] == "overloaded"
    assert body["answer"].startswith("The price now is"), "the text already streamed is kept"
    assert body["tokens"]["input"] > 0, "the overloaded turn's usage is counted"
    assert httpx.get(f"{keyed_app.url}/chat/health").json()["last_failure_kind"] == "overloaded"


def test_a_stream_whose_last_event_lacks_its_blank_line_is_complete(
    keyed_app: AppServer, standin: Standin
) -> None:
    script(standin, STATUS, {"text": "The price now is 0.15 €/kWh.", "fault": "no_final_newline"})
    body = ask(keyed_app, "stream")
    assert body["degraded"] is False and body["failure"] is None
    assert body["answer"] == "The price now is 0.15 €/kWh."


@pytest.mark.parametrize("endpoint", ["ask", "stream"])
@pytest.mark.parametrize(
    ("turns", "failure"),
    [
        ([{"text": "The price now is", "stop_reason": "max_tokens"}], "max_tokens"),
        ([{"text": "I cannot help with that.", "stop_reason": "refusal"}], "refusal"),
        ([STATUS, STATUS, STATUS], "turn_limit"),
        ([{"text": "Checking.", "stop_reason": "tool_use"}], "malformed"),
        ([{"text": "Hm.", "stop_reason": "something_new"}], "malformed"),
    ],
    ids=["max_tokens", "refusal", "tool_use_forever", "tool_use_without_a_tool", "unknown"],
)
def test_a_stop_reason_without_an_answer_is_a_degraded_answer(
    keyed_app: AppServer, standin: Standin, endpoint: str, turns: list[dict[str, Any]], failure: str
) -> None:
    script(standin, *turns)
    body = ask(keyed_app, endpoint)
    assert body["degraded"] is True and body["failure"] == failure
    assert "0,1500 €/kWh" in body["answer"], "the figures, never an empty answer"
    assert body["tokens"]["output"] > 0, "what the model wrote is still paid for and counted"
    assert body["model_turns"] == len(turns)


@pytest.mark.parametrize("endpoint", ["ask", "stream"])
def test_pause_turn_sends_the_paused_content_back_and_the_model_continues(
    keyed_app: AppServer, standin: Standin, endpoint: str
) -> None:
    script(standin, {"text": "Checking the prices. ", "stop_reason": "pause_turn"})
    body = ask(keyed_app, endpoint)
    assert body["degraded"] is False and body["model_turns"] == 3
    second = standin.requests()[1]["body"]["messages"]
    assert second[-1] == {"role": "assistant", "content": [{"type": "text", "text": "Checking the prices. "}]}
    third = standin.requests()[2]["body"]["messages"]
    assert [m["role"] for m in third] == ["user", "assistant", "user"], "one assistant turn, continued"
    assert body["answer"].startswith("Checking the prices. Let me check. According to the factory data")


def test_tools_asked_together_are_all_answered_in_one_message(keyed_app: AppServer, standin: Standin) -> None:
    today = {"start_date": time.strftime("%Y-%m-%d")}
    script(
        standin,
        {"tool_calls": [{"name": "get_prices", "input": today}, {"name": "get_weather", "input": today}]},
    )
    body = ask(keyed_app, "ask")
    assert [call["name"] for call in body["tool_calls"]] == ["get_prices", "get_weather"]
    uses = [b for b in standin.requests()[1]["body"]["messages"][-2]["content"] if b["type"] == "tool_use"]
    results = standin.requests()[1]["body"]["messages"][-1]["content"]
    assert [r["tool_use_id"] for r in results] == [u["id"] for u in uses]
    assert (
        '"tool": "get_prices"' in results[0]["content"] and '"tool": "get_weather"' in results[1]["content"]
    )


def test_a_tool_error_goes_back_to_the_model_as_is_error(keyed_app: AppServer, standin: Standin) -> None:
    script(standin, {"tool_calls": [{"name": "get_prices", "input": {"start_date": "last tuesday"}}]})
    body = ask(keyed_app, "ask")
    (result,) = standin.requests()[1]["body"]["messages"][-1]["content"]
    assert result["is_error"] is True and "start_date" in result["content"]
    assert body["tool_calls"][0]["error"].startswith("invalid input for get_prices: start_date")
    assert body["degraded"] is False, "the model hears the error and answers"


def test_the_usage_of_every_turn_adds_up_including_a_cut_one(keyed_app: AppServer, standin: Standin) -> None:
    before = totals(keyed_app)
    script(standin, STATUS, {"text": "The price now is 0.15 €/kWh in P3 today.", "fault": "cut"})
    body = ask(keyed_app, "stream")
    assert body["failure"] == "stream_cut"
    first, second = (request["body"] for request in standin.requests())
    assert body["tokens"]["input"] >= 2 * len(str(first["messages"])) // 8, "both turns' input is counted"
    assert body["tokens"]["output"] > 1
    after = totals(keyed_app)
    assert after["input_tokens"] - before["input_tokens"] == body["tokens"]["input"]
    assert after["cost_eur"] > before["cost_eur"]
    assert second["messages"][-1]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize("endpoint", ["ask", "stream"])
def test_a_tool_error_a_529_and_a_cut_stream_in_one_loop_stay_inside_the_budget(
    keyed_app: AppServer, standin: Standin, endpoint: str
) -> None:
    bad_tool = {"tool_calls": [{"name": "get_weather", "input": {"start_date": "2026-13-40"}}]}
    cut = {**STATUS, "text": "Now the price is 0.15 €/kWh and more.", "fault": "cut"}
    script(standin, bad_tool, {"error": "overloaded"}, cut, {"error": "overloaded"})
    started = time.monotonic()
    body = ask(keyed_app, endpoint)
    elapsed = time.monotonic() - started
    assert body["degraded"] is True
    assert body["failure"] == ("stream_cut" if endpoint == "stream" else "connection")
    assert body["tool_calls"][0]["error"] and body["tokens"]["input"] > 0
    assert elapsed < BUDGET + SLACK


def test_a_figure_no_tool_returned_is_reported_in_the_answer_and_the_stats(
    keyed_app: AppServer, standin: Standin
) -> None:
    before = totals(keyed_app)
    script(standin, STATUS, {"text": "The price now is 0.15 €/kWh; a batch costs 9.99 € today."})
    body = ask(keyed_app, "ask")
    assert body["degraded"] is False
    assert body["grounded"] is False and body["unsupported_figures"] == ["9.99"]
    after = totals(keyed_app)
    assert after["ungrounded"] == before["ungrounded"] + 1
    assert after["unsupported_figures"] == before["unsupported_figures"] + 1
    assert after["tool_calls"] == before["tool_calls"] + 1


def test_a_stream_the_client_leaves_still_records_what_the_model_used(
    keyed_app: AppServer, standin: Standin
) -> None:
    before = totals(keyed_app)
    standin.mode("ok", chunk_delay_seconds=0.3)
    script(standin, STATUS, {"text": "The price now is 0.15 €/kWh, in P3, and the weather is fine today."})
    with httpx.stream(
        "POST", f"{keyed_app.url}/chat/stream", json={"question": "price now?"}, timeout=30
    ) as r:
        seen = ""
        for chunk in r.iter_text():
            seen += chunk
            if seen.count("event: delta") >= 2:
                break  # the client leaves in the middle of the answer
    deadline = time.monotonic() + 10
    while (after := totals(keyed_app))["questions"] == before["questions"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert after["questions"] == before["questions"] + 1, "the abandoned answer is recorded"
    assert after["input_tokens"] > before["input_tokens"], "with the tokens both turns used"
    assert after["cost_eur"] > before["cost_eur"]
    assert after["failures"] == before["failures"], "a client leaving is no failure of the API"

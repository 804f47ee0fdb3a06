"""The chat pipeline's own cost, with the model's time taken out.

`run_chat_bench()` measures, against the Messages API stand-in on a real socket:

- the tool loop's overhead per two-tool answer (history, prompt, the two tools the model asks for in one
  turn, the tool_result round trip, grounding, stats write): the answer's wall time minus the time spent
  waiting for the model over both of its turns, p50 and p99, in process, over the seeded factory data;
- the same for a degraded answer (no key: the keyword path's plan, its tools, the summary, stats);
- the time from the model's first token leaving the stand-in to the first SSE byte of that text reaching
  a client of `POST /chat/stream` (app under uvicorn, both clocks on this machine).

    python -m tests.bench.chat        prints the figures as JSON
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.chat.client import ClaudeClient
from app.chat.service import ChatService, Timings
from app.chat.stats import percentile
from app.db import Database
from app.settings import Settings
from tests.chat.factory_data import seed, seed_database
from tests.support.services import free_port, http_answers, python_argv, service

QUESTIONS = (
    "¿Cuál es el precio de la luz ahora?",
    "When is the cheapest window to produce tomorrow?",
    "¿Qué temperatura hace y afecta al templado?",
    "How much energy per kg did we use this week?",
    "¿Cuánto ahorramos frente al horario fijo?",
    "Any alerts?",
    "Hola",
)
ASKS = 200
WARMUP = 10
STREAMS = 40


def _summary(values: list[float]) -> dict[str, float | None]:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return {
        "p50": round(p50, 3) if p50 is not None else None,
        "p99": round(p99, 3) if p99 is not None else None,
    }


TWO_TOOLS = [{"tool_calls": [{"name": "get_prices", "input": {"start_date": "TODAY"}},
                             {"name": "get_weather", "input": {"start_date": "TODAY"}}]}]  # fmt: skip


async def _pipeline(standin_url: str, workdir: Path, key: str) -> list[Timings]:
    settings = Settings(
        anthropic_api_key=key or None,
        anthropic_base_url=standin_url,
        database_url_override=f"sqlite+aiosqlite:///{workdir / f'pipeline-{bool(key)}.db'}",
    )
    db = Database(settings.database_url)
    await db.migrate()
    await seed(db)
    client = ClaudeClient(settings)
    service = ChatService(db, settings, client)
    timings: list[Timings] = []
    script = json.loads(json.dumps(TWO_TOOLS).replace("TODAY", time.strftime("%Y-%m-%d")))
    try:
        async with httpx.AsyncClient(base_url=standin_url) as control:
            for i in range(WARMUP + ASKS):
                if key:
                    (await control.post("/control/script", json={"turns": script})).raise_for_status()
                result = await service.ask(QUESTIONS[i % len(QUESTIONS)], None, "addr:bench")
                if key and (len(result.tool_calls) != 2 or result.degraded):
                    raise RuntimeError(
                        f"expected a two-tool answer, got {result.tool_calls} {result.failure}"
                    )
                if i >= WARMUP:
                    timings.append(result.timings)
    finally:
        await client.close()
        await db.dispose()
    return timings


def _first_token_to_first_byte(standin_url: str, workdir: Path) -> list[float]:
    """Per streamed answer: client's first delta byte time minus the stand-in's first token time, ms."""
    data_dir = workdir / "app"
    seed_database(f"sqlite+aiosqlite:///{data_dir / 'app.db'}")
    port = free_port()
    env = {
        "CF_DATA_DIR": str(data_dir),
        "CF_SCHEDULER_ENABLED": "false",
        "CF_LOG_LEVEL": "WARNING",
        "CF_CHAT_RATE_LIMIT_REQUESTS": "100000",
        "ANTHROPIC_API_KEY": "bench-key",
        "ANTHROPIC_BASE_URL": standin_url,
    }
    with (
        service(
            "bench-chat-app",
            python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
            port=port,
            log_dir=workdir,
            env=env,
            ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
        ) as app,
        httpx.Client(timeout=30) as http,
    ):
        firsts: list[float] = []
        for i in range(WARMUP + STREAMS):
            if i == WARMUP:
                http.post(f"{standin_url}/control/reset").raise_for_status()
                firsts.clear()
            question = {"question": QUESTIONS[i % len(QUESTIONS)]}
            first: float | None = None
            with http.stream("POST", f"{app.url}/chat/stream", json=question) as response:
                for chunk in response.iter_raw():
                    if first is None and b"event: delta" in chunk:
                        first = time.time()
            if first is None:
                raise RuntimeError(f"no delta event in a streamed answer: HTTP {response.status_code}")
            firsts.append(first)
        received = http.get(f"{standin_url}/control/requests").json()["requests"]
    # Each answer is two model turns (the tool call, then the answer); its first text is the first turn's.
    token_times = [r["first_token_at"] for r in received[::2]]
    if len(received) != 2 * len(firsts) or None in token_times:
        raise RuntimeError("the stand-in did not record two turns with a first token per streamed answer")
    return [(client - model) * 1000 for client, model in zip(firsts, token_times, strict=True)]


def run_chat_bench() -> dict[str, Any]:
    """The chat section of `make bench` (about 15 s)."""
    with tempfile.TemporaryDirectory(prefix="cf-bench-chat-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        with service(
            "bench-claude-standin",
            python_argv("-m", "tests.standins.claude", "--port", str(port)),
            port=port,
            log_dir=workdir,
            ready=lambda: http_answers(f"http://127.0.0.1:{port}/control/health", 200),
        ) as standin:
            answered = asyncio.run(_pipeline(standin.url, workdir, key="bench-key"))
            degraded = asyncio.run(_pipeline(standin.url, workdir, key=""))
            first_byte = _first_token_to_first_byte(standin.url, workdir)
    return {
        "status": "ok",
        "answers_measured": len(answered),
        "tool_loop_overhead_ms": _summary([t.overhead_ms for t in answered]),
        "tool_loop_overhead_goal_p99_ms": 10.0,
        "tools_ms": _summary([t.tools_ms for t in answered]),
        "history_and_prompt_ms": _summary([t.history_ms + t.prompt_ms for t in answered]),
        "grounding_ms": _summary([t.grounding_ms for t in answered]),
        "stats_ms": _summary([t.stats_ms for t in answered]),
        "model_wait_ms_excluded": _summary([t.model_ms for t in answered]),
        "degraded_overhead_ms": _summary([t.overhead_ms for t in degraded]),
        "streams_measured": len(first_byte),
        "first_token_to_first_sse_byte_ms": _summary(first_byte),
        "method": "overhead = answer wall time minus the wait for the model over both turns of a two-tool "
        "answer (stand-in on 127.0.0.1, scripted to ask get_prices and get_weather at once); "
        "first token = the stand-in's clock when its first text_delta left, first byte = the client's "
        "clock when the first `delta` event arrived",
    }


if __name__ == "__main__":
    print(json.dumps(run_chat_bench(), indent=2))

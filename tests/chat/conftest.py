"""Fixtures of the chat tests: the Messages API stand-in process and app servers pointed at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import RunningService, free_port, http_answers, python_argv, service


@dataclass
class Standin:
    """Handle on the running stand-in: switch its failure mode, read what it received."""

    process: RunningService

    @property
    def url(self) -> str:
        return self.process.url

    def mode(self, mode: str, **options: Any) -> None:
        response = httpx.post(f"{self.url}/control/mode", json={"mode": mode, **options})
        response.raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.url}/control/requests").json()["requests"]
        return answer

    def reset(self) -> None:
        httpx.post(f"{self.url}/control/reset").raise_for_status()


@pytest.fixture(scope="session")
def standin_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standin]:
    port = free_port()
    with service(
        "claude-standin",
        python_argv("-m", "tests.standins.claude", "--port", str(port)),
        port=port,
        log_dir=tmp_path_factory.mktemp("standin"),
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/control/health", 200),
    ) as process:
        yield Standin(process)


@pytest.fixture
def standin(standin_process: Standin) -> Iterator[Standin]:
    """The stand-in, reset to answer normally and with no requests recorded."""
    standin_process.reset()
    yield standin_process
    standin_process.reset()


#: Settings of every test app: short timeouts so failure modes resolve fast, no scheduler.
FAST_FAILURES = {
    "CF_SCHEDULER_ENABLED": "false",
    "CF_CHAT_REQUEST_TIMEOUT_SECONDS": "1.0",
    "CF_CHAT_MAX_RETRIES": "1",
    "CF_CHAT_ANSWER_BUDGET_SECONDS": "4.0",
    "CF_LOG_FORMAT": "text",
}


@dataclass
class AppServer:
    process: RunningService

    @property
    def url(self) -> str:
        return self.process.url

    def ask(self, question: Any, **extra: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/chat/ask", json={"question": question, **extra}, timeout=30)


@contextmanager
def run_app(data_dir: Path, env: dict[str, str], log_dir: Path) -> Iterator[AppServer]:
    """`python -m app` under uvicorn on a free port with `env` on top of the fast-failure settings."""
    port = free_port()
    with service(
        "app",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=log_dir,
        env={"CF_DATA_DIR": str(data_dir), "ANTHROPIC_API_KEY": "", **FAST_FAILURES, **env},
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as process:
        yield AppServer(process)


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., Any]:
    """`with app_factory(data_dir, **env) as app:` - an app process for this test."""

    def start(data_dir: Path, **env: str) -> Any:
        return run_app(data_dir, env, tmp_path / "logs")

    return start


def sse_events(body: str) -> list[tuple[str, Any]]:
    """(event, parsed data) pairs of a text/event-stream body."""
    events = []
    for chunk in body.split("\n\n"):
        name, data = None, []
        for line in chunk.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if name:
            events.append((name, json.loads("\n".join(data))))
    return events

"""The tool loop: ask the model, run the tools it asks for, send their results back, until it answers.

Bounded in turns (`chat_max_turns`); the service bounds it in time. Every `stop_reason` of the Messages
API is handled (https://docs.anthropic.com/en/api/handling-stop-reasons):

- `end_turn`, `stop_sequence`: the answer is complete;
- `tool_use`: the requested tools run concurrently; each result goes back in a `tool_result` block, an
  error with `is_error: true` so the model can correct its input;
- `pause_turn`: the response is sent back as it is so the model continues;
- `max_tokens`, `refusal`, or anything else: no usable answer (`ClaudeFailure`).

Usage adds up over every turn, including a turn whose stream was cut or abandoned (`usage`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.chat import tools
from app.chat.client import ClaudeClient, ClaudeFailure, Meter, ModelRequest, ModelTurn, Usage

#: Tool calls run per model turn; more are answered with an error asking for fewer.
MAX_TOOLS_PER_TURN = 8

Emit = Callable[[str, Any], None]


@dataclass
class ToolCall:
    """One tool the model asked for, with what it returned (or the error sent back)."""

    name: str
    input: Any
    result: dict[str, Any] | None
    error: str | None
    ms: float
    by_model: bool = True  # False: the keyword path called it


def _ignore(kind: str, payload: Any) -> None:
    return None


@dataclass
class ToolLoop:
    client: ClaudeClient
    context: tools.ToolContext
    request: ModelRequest
    max_turns: int
    emit: Emit = _ignore
    stream: bool = False
    turns: int = 0
    model: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    tools_ms: float = 0.0
    model_ms: float = 0.0  # time spent waiting on the Messages API, every turn added up
    _spent: Usage = field(default_factory=Usage)
    _meter: Meter = field(default_factory=Meter)

    @property
    def usage(self) -> Usage:
        """Every finished turn plus what the turn in flight has reported so far."""
        return self._spent + self._meter.usage

    @property
    def text(self) -> str:
        return "".join(self.texts).strip()

    async def run(self) -> str:
        """The model's answer text; raises `ClaudeFailure` when it gives none."""
        messages = list(self.request.messages)
        while True:
            if self.turns >= self.max_turns:
                raise ClaudeFailure("turn_limit", f"no answer after {self.max_turns} model turns")
            self.turns += 1
            turn = await self._ask(ModelRequest(self.request.system, messages, self.request.tools))
            self.texts.append(turn.text)
            if turn.stop_reason in ("end_turn", "stop_sequence"):
                return self.text
            if turn.stop_reason == "tool_use":
                if not turn.tool_uses:
                    raise ClaudeFailure("malformed", "stop_reason tool_use without a tool_use block")
                results = await self._run_tools(turn.tool_uses)
                messages = [*_continued(messages, turn), {"role": "user", "content": results}]
            elif turn.stop_reason == "pause_turn":
                messages = _continued(messages, turn)
            elif turn.stop_reason in ("max_tokens", "model_context_window_exceeded"):
                raise ClaudeFailure("max_tokens", f"the answer stopped at {turn.stop_reason}")
            elif turn.stop_reason == "refusal":
                raise ClaudeFailure("refusal", "the model declined to answer")
            else:
                raise ClaudeFailure("malformed", f"unknown stop_reason {turn.stop_reason[:40]!r}")

    async def _ask(self, request: ModelRequest) -> ModelTurn:
        self._meter = Meter()
        started = time.perf_counter()
        try:
            if self.stream:
                turn: ModelTurn | None = None
                async for item in self.client.stream(request, self._meter):
                    if isinstance(item, str):
                        self.emit("delta", item)
                    else:
                        turn = item
                assert turn is not None  # the client yields the turn last or raises
            else:
                turn = await self.client.create(request)
        except ClaudeFailure as failure:
            self._meter = Meter()
            self._spent += failure.usage
            raise
        finally:
            self.model_ms += (time.perf_counter() - started) * 1000
        self._meter = Meter()
        self._spent += turn.usage
        self.model = turn.model
        return turn

    async def _run_tools(self, uses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        started = time.perf_counter()
        wanted, extra = uses[:MAX_TOOLS_PER_TURN], uses[MAX_TOOLS_PER_TURN:]
        for use in wanted:
            self.emit("tool", {"name": use["name"], "status": "running"})
        outcomes = await tools.call_many(self.context, [(use["name"], use["input"]) for use in wanted])
        elapsed = (time.perf_counter() - started) * 1000
        self.tools_ms += elapsed
        blocks = []
        for use, outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, tools.ToolError):
                self.calls.append(ToolCall(use["name"], use["input"], None, str(outcome), elapsed))
                blocks.append(_tool_result(use["id"], str(outcome), is_error=True))
            else:
                self.calls.append(ToolCall(use["name"], use["input"], outcome, None, elapsed))
                blocks.append(
                    _tool_result(use["id"], json.dumps(outcome, ensure_ascii=False), is_error=False)
                )
            self.emit(
                "tool",
                {"name": use["name"], "status": "error" if isinstance(outcome, tools.ToolError) else "done"},
            )
        for use in extra:
            message = f"at most {MAX_TOOLS_PER_TURN} tools per turn; ask for this one again"
            blocks.append(_tool_result(use["id"], message, is_error=True))
        return blocks


def _continued(messages: list[dict[str, Any]], turn: ModelTurn) -> list[dict[str, Any]]:
    """`messages` with the model's turn as the last assistant message.

    After `pause_turn` the paused content was sent back as the last (assistant) message, and the next
    response continues that same turn: its content is appended to it rather than made a second
    assistant message, which the API refuses (roles must alternate).
    """
    if messages and messages[-1]["role"] == "assistant":
        return [*messages[:-1], {"role": "assistant", "content": [*messages[-1]["content"], *turn.content]}]
    return [*messages, {"role": "assistant", "content": turn.content}]


def _tool_result(tool_use_id: str, content: str, *, is_error: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if is_error:
        block["is_error"] = True
    return block

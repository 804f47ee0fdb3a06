"""The Claude client: the official `anthropic` SDK (AsyncAnthropic), created once in the lifespan.

Timeouts and retries are set on purpose rather than left at the SDK's defaults (10 minutes, 2 retries):
one attempt may take `chat_request_timeout_seconds`, the SDK retries `chat_max_retries` times on 429,
5xx, 529 and connection errors, and the service wraps the whole answer in its budget so even a long
`retry-after` cannot hold a user past it. Every failure becomes a `ClaudeFailure` with a short `kind`.

The SDK sends the request (headers, retries, status errors); the body is read here, as plain JSON or as
server-sent events, so that a malformed 200, an `error` event in the middle of a stream and a stream
without its final blank line are each handled on purpose (`app/chat/sse.py`), and the usage a cut stream
already reported is kept. The shapes read are the Messages API's documented ones:
https://docs.anthropic.com/en/api/messages and https://docs.anthropic.com/en/docs/build-with-claude/streaming
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
import httpx

from app.chat import sse
from app.settings import Settings

FailureKind = Literal[
    "no_key",
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "stream_cut",
    "malformed",
    "api_error",
    "max_tokens",
    "refusal",
    "turn_limit",
]

#: `error.type` of an `error` event inside a stream -> failure kind.
_STREAM_ERRORS: dict[str, FailureKind] = {
    "overloaded_error": "overloaded",
    "rate_limit_error": "rate_limited",
    "api_error": "server_error",
    "timeout_error": "timeout",
}


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    @classmethod
    def from_json(cls, usage: Any) -> Usage:
        if not isinstance(usage, dict):
            return cls()

        def count(name: str) -> int:
            value = usage.get(name)
            return value if isinstance(value, int) and value >= 0 else 0

        return cls(
            input_tokens=count("input_tokens"),
            output_tokens=count("output_tokens"),
            cache_write_tokens=count("cache_creation_input_tokens"),
            cache_read_tokens=count("cache_read_input_tokens"),
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
        )


class ClaudeFailure(Exception):
    """The model gave no (complete) answer; `kind` says why, `detail` is for logs, not users.

    `usage` is what the failed call had already reported (a cut stream's input tokens, for example).
    """

    def __init__(self, kind: FailureKind, detail: str = "", usage: Usage | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind: FailureKind = kind
        self.detail = detail
        self.usage = usage or Usage()


@dataclass(frozen=True)
class ModelRequest:
    """One call's system blocks, messages and tool definitions (plain JSON, as the API takes them)."""

    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ModelTurn:
    """One response of the model: its content blocks, why it stopped, and what it cost."""

    content: list[dict[str, Any]]
    stop_reason: str
    usage: Usage
    model: str

    @property
    def text(self) -> str:
        return "".join(block["text"] for block in self.content if block["type"] == "text")

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [block for block in self.content if block["type"] == "tool_use"]


def classify(error: BaseException) -> ClaudeFailure:
    """Map an SDK or transport error to a failure kind."""
    if isinstance(error, ClaudeFailure):
        return error
    if isinstance(error, anthropic.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return ClaudeFailure("timeout", str(error) or "timed out")
    if isinstance(error, anthropic.APIConnectionError | httpx.TransportError):
        return ClaudeFailure("connection", str(error))
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        if status == 429:
            return ClaudeFailure("rate_limited", f"HTTP 429: {error.message}")
        if status == 529:
            return ClaudeFailure("overloaded", f"HTTP 529: {error.message}")
        if status >= 500:
            return ClaudeFailure("server_error", f"HTTP {status}: {error.message}")
        return ClaudeFailure("api_error", f"HTTP {status}: {error.message}")
    return ClaudeFailure("connection", f"{type(error).__name__}: {error}")


def _block(raw: Any) -> dict[str, Any]:
    """A content block checked for the fields the loop reads; `malformed` when one is missing."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ClaudeFailure("malformed", "a content block is not an object with a type")
    kind = raw["type"]
    if kind == "text" and not isinstance(raw.get("text"), str):
        raise ClaudeFailure("malformed", "a text block has no text")
    if kind == "tool_use" and not (
        isinstance(raw.get("id"), str)
        and isinstance(raw.get("name"), str)
        and isinstance(raw.get("input"), dict)
    ):
        raise ClaudeFailure("malformed", "a tool_use block lacks its id, name or input")
    return raw


def parse_message(body: Any, default_model: str) -> ModelTurn:
    """A Message object (the non-streaming response body) as a `ModelTurn`."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise ClaudeFailure("malformed", "the response is not a Message object with content")
    usage = Usage.from_json(body.get("usage"))
    stop_reason = body.get("stop_reason")
    if not isinstance(stop_reason, str):
        raise ClaudeFailure("malformed", "the response has no stop_reason", usage)
    try:
        content = [_block(raw) for raw in body["content"]]
    except ClaudeFailure as failure:
        raise ClaudeFailure(failure.kind, failure.detail, usage) from None
    model = body.get("model") if isinstance(body.get("model"), str) else default_model
    return ModelTurn(content, stop_reason, usage, str(model))


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


@dataclass
class Meter:
    """The usage a stream has reported so far."""

    usage: Usage = field(default_factory=Usage)


class _StreamState:
    """A streamed message as its events arrive; `usage` is right even when the stream stops early."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = Usage()
        self.output_tokens = 0
        self.blocks: dict[int, dict[str, Any]] = {}
        self.partial_json: dict[int, str] = {}
        self.stop_reason: str | None = None
        self.finished = False
        self.text_chars = 0

    @property
    def usage(self) -> Usage:
        # message_delta's output_tokens is cumulative; before it arrives, count what was received.
        output = max(self.output_tokens, self.started.output_tokens, estimate_tokens("x" * self.text_chars))
        return Usage(
            self.started.input_tokens, output, self.started.cache_write_tokens, self.started.cache_read_tokens
        )

    def apply(self, kind: str, data: dict[str, Any]) -> str | None:
        """Update from one event; returns text to show, if the event carried some."""
        if kind == "message_start":
            message = data.get("message") or {}
            self.started = Usage.from_json(message.get("usage"))
            self.model = str(message.get("model") or self.model)
        elif kind == "content_block_start":
            self.blocks[int(data["index"])] = dict(_block(data["content_block"]))
        elif kind == "content_block_delta":
            index, delta = int(data["index"]), data["delta"]
            if delta.get("type") == "text_delta":
                text = str(delta.get("text", ""))
                self.blocks[index]["text"] = self.blocks[index].get("text", "") + text
                self.text_chars += len(text)
                return text
            if delta.get("type") == "input_json_delta":
                self.partial_json[index] = self.partial_json.get(index, "") + str(
                    delta.get("partial_json", "")
                )
        elif kind == "content_block_stop":
            index = int(data["index"])
            if index in self.partial_json:
                raw = self.partial_json.pop(index)
                self.blocks[index]["input"] = json.loads(raw) if raw.strip() else {}
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            usage = data.get("usage") or {}
            if isinstance(usage.get("output_tokens"), int):
                self.output_tokens = usage["output_tokens"]
        elif kind == "message_stop":
            self.finished = True
        return None

    def turn(self) -> ModelTurn:
        if self.stop_reason is None:
            raise ClaudeFailure("malformed", "the stream ended without a stop_reason", self.usage)
        content = [self.blocks[index] for index in sorted(self.blocks)]
        return ModelTurn(content, self.stop_reason, self.usage, self.model)


class ClaudeClient:
    """Asks the configured model; holds no SDK client at all when no key is configured."""

    def __init__(self, settings: Settings) -> None:
        key = settings.claude_api_key
        self.model = settings.chat_model
        self.max_tokens = settings.chat_max_tokens
        self.base_url = settings.anthropic_base_url
        self._sdk: anthropic.AsyncAnthropic | None = None
        if key:
            self._sdk = anthropic.AsyncAnthropic(
                api_key=key,
                base_url=settings.anthropic_base_url,
                timeout=settings.chat_request_timeout_seconds,
                max_retries=settings.chat_max_retries,
            )

    @property
    def key_configured(self) -> bool:
        return self._sdk is not None

    def _require_sdk(self) -> anthropic.AsyncAnthropic:
        if self._sdk is None:
            raise ClaudeFailure("no_key", "ANTHROPIC_API_KEY is not set")
        return self._sdk

    def _arguments(self, request: ModelRequest) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": request.system,
            "messages": request.messages,
        }
        if request.tools:
            arguments["tools"] = request.tools
        return arguments

    async def create(self, request: ModelRequest) -> ModelTurn:
        """One response, whole; raises `ClaudeFailure` (`malformed` for a 200 that is not a Message)."""
        sdk = self._require_sdk()
        try:
            raw = await sdk.messages.with_raw_response.create(**self._arguments(request))
            text = raw.http_response.text
        except Exception as error:
            raise classify(error) from error
        try:
            body = json.loads(text)
        except ValueError:
            raise ClaudeFailure("malformed", "the 200 response is not JSON") from None
        return parse_message(body, self.model)

    async def stream(
        self, request: ModelRequest, meter: Meter | None = None
    ) -> AsyncIterator[str | ModelTurn]:
        """Text deltas as the model writes them, then the `ModelTurn`; raises `ClaudeFailure`.

        A stream that ends without `message_stop` is `stream_cut`; an `error` event is classified by its
        `error.type` (`overloaded_error` -> `overloaded`). Either way the failure carries the usage the
        stream had reported, so what was spent is still recorded; `meter` follows it event by event, for
        a caller that abandons the stream (its time budget ran out).
        """
        sdk = self._require_sdk()
        state = _StreamState(self.model)
        meter = meter or Meter()
        try:
            async with sdk.messages.with_streaming_response.create(
                **self._arguments(request), stream=True
            ) as response:
                async for event in sse.events(response.http_response.aiter_bytes()):
                    if event.event == "ping":
                        continue
                    try:
                        data = json.loads(event.data)
                    except ValueError:
                        raise ClaudeFailure(
                            "malformed", f"{event.event} event data is not JSON", state.usage
                        ) from None
                    if event.event == "error":
                        error = (data.get("error") or {}) if isinstance(data, dict) else {}
                        kind = _STREAM_ERRORS.get(str(error.get("type")), "api_error")
                        raise ClaudeFailure(kind, f"error event: {error.get('message', '')}", state.usage)
                    try:
                        text = state.apply(event.event, data)
                    except (KeyError, TypeError, ValueError, AttributeError) as bad:
                        raise ClaudeFailure("malformed", f"{event.event}: {bad!r}", state.usage) from None
                    meter.usage = state.usage
                    if text:
                        yield text
        except ClaudeFailure:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure = classify(error)
            if state.blocks and failure.kind in ("connection", "timeout"):
                failure = ClaudeFailure("stream_cut", failure.detail)
            failure.usage = state.usage
            raise failure from error
        if not state.finished:
            raise ClaudeFailure("stream_cut", "the stream ended before message_stop", state.usage)
        yield state.turn()

    async def close(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()

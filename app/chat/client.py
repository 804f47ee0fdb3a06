"""The Claude client: the official `anthropic` SDK (AsyncAnthropic), created once in the lifespan.

Timeouts and retries are set on purpose rather than left at the SDK's defaults (10 minutes, 2 retries):
one attempt may take `chat_request_timeout_seconds`, the SDK retries `chat_max_retries` times on 429,
5xx, 529 and connection errors, and the service wraps the whole call in the answer budget so even a long
`retry-after` cannot hold a user past it. Every failure becomes a `ClaudeFailure` with a short `kind`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import anthropic

from app.chat.prompt import PromptRequest
from app.settings import Settings

FailureKind = Literal[
    "no_key",
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "stream_cut",
    "api_error",
]


class ClaudeFailure(Exception):
    """The model gave no (complete) answer; `kind` says why, `detail` is for logs, not users."""

    def __init__(self, kind: FailureKind, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind: FailureKind = kind
        self.detail = detail


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    @classmethod
    def from_sdk(cls, usage: Any) -> Usage:
        return cls(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_write_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
        )


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str


def classify(error: BaseException) -> ClaudeFailure:
    """Map an SDK or transport error to a failure kind."""
    if isinstance(error, ClaudeFailure):
        return error
    if isinstance(error, anthropic.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return ClaudeFailure("timeout", str(error) or "timed out")
    if isinstance(error, anthropic.APIConnectionError):
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


def _text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if getattr(block, "type", None) == "text")


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

    async def complete(self, request: PromptRequest) -> Completion:
        """One answer, whole; raises `ClaudeFailure`."""
        sdk = self._require_sdk()
        try:
            message = await sdk.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=request.system,  # type: ignore[arg-type]
                messages=request.messages,  # type: ignore[arg-type]
            )
        except Exception as error:
            raise classify(error) from error
        return Completion(text=_text_of(message), usage=Usage.from_sdk(message.usage), model=message.model)

    async def stream(self, request: PromptRequest) -> AsyncIterator[str | Completion]:
        """Text deltas as the model writes them, then the `Completion`; raises `ClaudeFailure`.

        A stream that ends without `message_stop` (a cut connection) is a `stream_cut` failure.
        """
        sdk = self._require_sdk()
        started = False
        try:
            async with sdk.messages.stream(
                model=self.model,
                max_tokens=self.max_tokens,
                system=request.system,  # type: ignore[arg-type]
                messages=request.messages,  # type: ignore[arg-type]
            ) as stream:
                finished = False
                async for event in stream:
                    started = True
                    if event.type == "text":
                        yield event.text
                    elif event.type == "message_stop":
                        finished = True
                if not finished:
                    raise ClaudeFailure("stream_cut", "the stream ended before message_stop")
                message = await stream.get_final_message()
        except ClaudeFailure:
            raise
        except Exception as error:
            failure = classify(error)
            if started and failure.kind in ("connection", "timeout"):
                failure = ClaudeFailure("stream_cut", failure.detail)
            raise failure from error
        yield Completion(text=_text_of(message), usage=Usage.from_sdk(message.usage), model=message.model)

    async def close(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()

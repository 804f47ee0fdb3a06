"""HTTP endpoints of the chat feature: ask, stream, stats and health. Thin: parse, call, shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.chat import stats
from app.chat.service import ChatResult, ChatService
from app.context import AppContext, get_context
from app.identity import caller_identity
from app.inputs import Text

router = APIRouter(prefix="/chat", tags=["chat"])

MAX_QUESTION_CHARS = 2000


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: Text = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="the question, Spanish or English (valid Unicode, at most 2000 characters)",
        examples=["¿Cuándo es más barato producir hoy?"],
    )
    conversation_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="continue a conversation: the id a previous answer returned",
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank")
        return value.strip()


class Tokens(BaseModel):
    input: int = Field(description="uncached input tokens")
    output: int
    cache_write: int = Field(description="input tokens written to the prompt cache")
    cache_read: int = Field(description="input tokens read from the prompt cache")


class AskResponse(BaseModel):
    answer: str
    conversation_id: str
    categories: list[str] = Field(description="data categories the context was built from")
    context_tokens: int = Field(description="estimated size of the factory-data context")
    context_truncated: bool = Field(description="the context budget cut some figures")
    tokens: Tokens
    cost_eur: float
    latency_ms: float
    model: str
    degraded: bool = Field(description="true: the model did not answer; the answer lists the figures")
    failure: str | None = Field(description="why the model did not answer (no_key, timeout, overloaded...)")

    @classmethod
    def of(cls, result: ChatResult) -> AskResponse:
        return cls(
            answer=result.answer,
            conversation_id=result.conversation_id,
            categories=result.categories,
            context_tokens=result.context_tokens,
            context_truncated=result.context_truncated,
            tokens=Tokens(
                input=result.usage.input_tokens,
                output=result.usage.output_tokens,
                cache_write=result.usage.cache_write_tokens,
                cache_read=result.usage.cache_read_tokens,
            ),
            cost_eur=result.cost_eur,
            latency_ms=result.latency_ms,
            model=result.model,
            degraded=result.degraded,
            failure=result.failure,
        )


class DayFigures(BaseModel):
    questions: int
    failures: int = Field(description="answers where the API was called and failed")
    degraded: int = Field(description="answers given without the model (failures and no key)")
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_eur: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None


class DayStats(DayFigures):
    day: str = Field(description="YYYY-MM-DD, UTC")


class StatsResponse(BaseModel):
    days: int
    since: str
    totals: DayFigures
    per_day: list[DayStats]


class HealthResponse(BaseModel):
    key_configured: bool
    model: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_kind: str | None


def get_service(ctx: Annotated[AppContext, Depends(get_context)]) -> ChatService:
    return ChatService(ctx.db, ctx.settings, ctx.claude)


def rate_limited_identity(request: Request, ctx: Annotated[AppContext, Depends(get_context)]) -> str:
    """The asker's identity, once the rate limit lets them ask; 429 with Retry-After otherwise."""
    identity = caller_identity(request, ctx.settings)
    decision = ctx.chat_limiter.check(identity)
    if not decision.allowed:
        raise HTTPException(
            status_code=429,
            detail=f"too many questions: at most {ctx.settings.chat_rate_limit_requests} per "
            f"{ctx.settings.chat_rate_limit_window_seconds:g} s; retry in {decision.retry_after_seconds} s",
            headers={"Retry-After": str(decision.retry_after_seconds)},
        )
    return identity


@router.post("/ask", response_model=AskResponse)
async def ask(
    body: AskRequest,
    service: Annotated[ChatService, Depends(get_service)],
    identity: Annotated[str, Depends(rate_limited_identity)],
) -> AskResponse:
    """Answer a question about the factory's energy, weather and production from its own figures."""
    return AskResponse.of(await service.ask(body.question, body.conversation_id, identity))


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "meta, delta..., done events"}},
)
async def stream(
    body: AskRequest,
    service: Annotated[ChatService, Depends(get_service)],
    identity: Annotated[str, Depends(rate_limited_identity)],
) -> StreamingResponse:
    """The same answer as server-sent events: `meta`, then `delta` with text as it is written, then
    `done` with the whole answer, its usage and cost (the body of `/chat/ask`)."""

    async def events() -> AsyncIterator[bytes]:
        async for kind, payload in service.stream(body.question, body.conversation_id, identity):
            if kind == "delta":
                yield _sse("delta", {"text": payload})
            elif kind == "done":
                assert isinstance(payload, ChatResult)
                yield _sse("done", AskResponse.of(payload).model_dump(mode="json"))
            else:
                yield _sse(kind, payload)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/stats", response_model=StatsResponse)
async def chat_stats(
    ctx: Annotated[AppContext, Depends(get_context)],
    days: Annotated[int, Query(ge=1, le=366, description="how many days back, today included")] = 30,
) -> StatsResponse:
    """Questions, failures, tokens, cost and latency percentiles: totals and per day (UTC)."""
    return StatsResponse.model_validate(await stats.summary(ctx.db, days))


@router.get("/health", response_model=HealthResponse)
async def chat_health(ctx: Annotated[AppContext, Depends(get_context)]) -> HealthResponse:
    """Whether a key is configured, the model, and the last success and failure (spends no tokens)."""
    claude = ctx.claude
    return HealthResponse(
        key_configured=claude.key_configured, model=claude.model, **await stats.api_status(ctx.db)
    )

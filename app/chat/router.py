"""HTTP endpoints of the chat feature: ask, stream, stats and health. Thin: parse, call, shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from app.chat import stats
from app.chat.schemas import AskRequest, AskResponse, HealthResponse, StatsResponse
from app.chat.service import ChatResult, ChatService
from app.context import AppContext, get_context
from app.identity import caller_identity

router = APIRouter(prefix="/chat", tags=["chat"])


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
    """The same answer as server-sent events: `meta`, then `tool` (`{name, status}`) while the tools the
    model asked for run, `delta` with text as it is written, then `done` with the whole answer, its
    usage, cost and grounding (the body of `/chat/ask`)."""

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

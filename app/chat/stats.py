"""What every answer cost and how long it took, persisted so a restart loses nothing.

`record` writes one row per answered question; `summary` reads totals and per-day figures (questions,
failures, tokens, cost, latency p50/p95); `api_status` gives the last success and failure against the
Messages API for `/chat/health` without calling it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.chat.client import Usage
from app.chat.tables import chat_questions
from app.db import Database

#: Failures that say nothing about the API: no key configured, or the client left mid-stream.
NOT_API_FAILURES = ("no_key", "aborted")


def cost_eur(usage: Usage, model: str, prices: dict[str, dict[str, float]], usd_to_eur: float) -> float:
    """Cost of `usage` in €, from USD-per-million-token prices; 0 for a model without prices."""
    rates = prices.get(model)
    if rates is None:
        # Dated ids ("claude-haiku-4-5-20251001") fall back to their alias's prices.
        rates = next((r for name, r in prices.items() if model.startswith(f"{name}-")), None)
    if rates is None:
        return 0.0
    usd = (
        usage.input_tokens * rates["input"]
        + usage.output_tokens * rates["output"]
        + usage.cache_write_tokens * rates["cache_write"]
        + usage.cache_read_tokens * rates["cache_read"]
    ) / 1_000_000
    return usd * usd_to_eur


@dataclass(frozen=True)
class QuestionRecord:
    """One answered question, as stored."""

    asked_at: datetime
    identity: str
    conversation_id: str
    model: str
    categories: Sequence[str]
    streamed: bool
    api_called: bool
    degraded: bool
    failure: str | None
    usage: Usage
    context_tokens: int
    cost_eur: float
    latency_ms: float
    tool_calls: int = 0
    grounded: bool | None = None
    unsupported_figures: int | None = None


async def record(db: Database, item: QuestionRecord) -> None:
    """Store one answered question; while another writer holds the database, it lands once it is free."""
    await db.write_eventually(lambda conn: record_in(conn, item), "chat stats")


async def record_in(conn: AsyncConnection, item: QuestionRecord) -> None:
    """`record` inside a transaction the caller holds (the service also stores the turn in it)."""
    asked_at = item.asked_at.astimezone(UTC)
    await conn.execute(
        chat_questions.insert().values(
            asked_at=asked_at,
            day=asked_at.strftime("%Y-%m-%d"),
            identity=item.identity[:200],
            conversation_id=item.conversation_id,
            model=item.model,
            categories=",".join(item.categories)[:200],
            streamed=item.streamed,
            api_called=item.api_called,
            degraded=item.degraded,
            failure=item.failure,
            input_tokens=item.usage.input_tokens,
            output_tokens=item.usage.output_tokens,
            cache_write_tokens=item.usage.cache_write_tokens,
            cache_read_tokens=item.usage.cache_read_tokens,
            context_tokens=item.context_tokens,
            cost_eur=item.cost_eur,
            latency_ms=item.latency_ms,
            tool_calls=item.tool_calls,
            grounded=item.grounded,
            unsupported_figures=item.unsupported_figures,
        )
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _figures(rows: Sequence[Any]) -> dict[str, Any]:
    latencies = [row.latency_ms for row in rows]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {
        "questions": len(rows),
        "failures": sum(1 for row in rows if row.failure and row.failure not in NOT_API_FAILURES),
        "degraded": sum(1 for row in rows if row.degraded),
        "tool_calls": sum(row.tool_calls or 0 for row in rows),
        "grounded": sum(1 for row in rows if row.grounded is True),
        "ungrounded": sum(1 for row in rows if row.grounded is False),
        "unsupported_figures": sum(row.unsupported_figures or 0 for row in rows),
        "input_tokens": sum(row.input_tokens for row in rows),
        "output_tokens": sum(row.output_tokens for row in rows),
        "cache_write_tokens": sum(row.cache_write_tokens for row in rows),
        "cache_read_tokens": sum(row.cache_read_tokens for row in rows),
        "cost_eur": round(sum(row.cost_eur for row in rows), 6),
        "latency_ms_p50": round(p50, 1) if p50 is not None else None,
        "latency_ms_p95": round(p95, 1) if p95 is not None else None,
    }


async def summary(db: Database, days: int, now: datetime | None = None) -> dict[str, Any]:
    """Totals over the last `days` days (UTC) and the same figures per day, newest day first."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    first_day = (moment - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    chat_questions.c.day,
                    chat_questions.c.failure,
                    chat_questions.c.degraded,
                    chat_questions.c.input_tokens,
                    chat_questions.c.output_tokens,
                    chat_questions.c.cache_write_tokens,
                    chat_questions.c.cache_read_tokens,
                    chat_questions.c.cost_eur,
                    chat_questions.c.latency_ms,
                    chat_questions.c.tool_calls,
                    chat_questions.c.grounded,
                    chat_questions.c.unsupported_figures,
                ).where(chat_questions.c.day >= first_day)
            )
        ).all()
    by_day: dict[str, list[Any]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    return {
        "days": days,
        "since": first_day,
        "totals": _figures(rows),
        "per_day": [{"day": day, **_figures(by_day[day])} for day in sorted(by_day, reverse=True)],
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def api_status(db: Database) -> dict[str, Any]:
    """The last answered call and the last failed call against the Messages API (never calls it)."""
    async with db.connect() as conn:
        last_success = (
            await conn.execute(
                sa.select(sa.func.max(chat_questions.c.asked_at)).where(
                    chat_questions.c.api_called.is_(True), chat_questions.c.failure.is_(None)
                )
            )
        ).scalar()
        failure_row = (
            await conn.execute(
                sa.select(chat_questions.c.asked_at, chat_questions.c.failure)
                .where(
                    chat_questions.c.api_called.is_(True),
                    chat_questions.c.failure.is_not(None),
                    chat_questions.c.failure.not_in(NOT_API_FAILURES),
                )
                .order_by(chat_questions.c.asked_at.desc(), chat_questions.c.id.desc())
                .limit(1)
            )
        ).first()
    if isinstance(last_success, str):
        last_success = datetime.fromisoformat(last_success)
    return {
        "last_success_at": _aware(last_success),
        "last_failure_at": _aware(failure_row.asked_at) if failure_row else None,
        "last_failure_kind": failure_row.failure if failure_row else None,
    }

"""Upgrading a database whose chat tables predate the tool loop: nothing stored is lost."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app.chat import conversations, stats
from app.chat.tables import MIGRATIONS
from app.db import Database, Migration, create_tables

# The chat tables as migration 1 created them, before grounding and conversation owners.
OLD = sa.MetaData()
OLD_TURNS = sa.Table(
    "chat_turns",
    OLD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
)
OLD_QUESTIONS = sa.Table(
    "chat_questions",
    OLD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("identity", sa.String(200), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("categories", sa.String(200), nullable=False),
    sa.Column("streamed", sa.Boolean, nullable=False),
    sa.Column("api_called", sa.Boolean, nullable=False),
    sa.Column("degraded", sa.Boolean, nullable=False),
    sa.Column("failure", sa.String(40), nullable=True),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cache_write_tokens", sa.Integer, nullable=False),
    sa.Column("cache_read_tokens", sa.Integer, nullable=False),
    sa.Column("context_tokens", sa.Integer, nullable=False),
    sa.Column("cost_eur", sa.Float, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
)


async def test_old_rows_survive_and_old_conversations_belong_to_nobody(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate([("chat", [Migration(1, "as it was", create_tables(OLD_TURNS, OLD_QUESTIONS))])])
        now = datetime(2026, 11, 1, 12, tzinfo=UTC)
        async with db.begin() as conn:
            await conn.execute(
                OLD_TURNS.insert().values(conversation_id="c1", created_at=now, question="q", answer="a")
            )
            await conn.execute(
                OLD_QUESTIONS.insert().values(
                    asked_at=now, day="2026-11-01", identity="alice", conversation_id="c1", model="m",
                    categories="prices", streamed=False, api_called=True, degraded=False, failure=None,
                    input_tokens=100, output_tokens=20, cache_write_tokens=0, cache_read_tokens=0,
                    context_tokens=50, cost_eur=0.001, latency_ms=900.0,
                )
            )  # fmt: skip
        assert await db.migrate([("chat", MIGRATIONS)]) == ["chat:2"]
        summary = await stats.summary(db, 3650, now)
        assert summary["totals"]["questions"] == 1 and summary["totals"]["input_tokens"] == 100
        assert summary["totals"]["grounded"] == 0 and summary["totals"]["unsupported_figures"] == 0
        turns = await conversations.recent_turns(db, "c1", 3)
        assert [(turn.question, turn.answer, topics) for turn, topics in turns] == [("q", "a", [])]
        assert await conversations.owner(db, "c1") == "", "an old conversation is nobody's: a new one starts"
    finally:
        await db.dispose()

"""The last few turns of each conversation, kept in the database, bounded, and owned by their asker.

A conversation belongs to the identity that started it: `owner` tells who that is, and the service gives
anyone else who sends the same id a new conversation, so one asker never reads another's turns.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.chat.prompt import Turn
from app.chat.tables import chat_turns
from app.db import Database

#: Longest answer text kept per turn: history is context, not an archive.
MAX_KEPT_ANSWER_CHARS = 2000


async def owner(db: Database, conversation_id: str) -> str | None:
    """The identity that started `conversation_id`; None when no turn of it is stored."""
    async with db.connect() as conn:
        row = (
            await conn.execute(
                sa.select(chat_turns.c.identity)
                .where(chat_turns.c.conversation_id == conversation_id)
                .order_by(chat_turns.c.id)
                .limit(1)
            )
        ).first()
    if row is None:
        return None
    return row.identity or ""


async def recent_turns(db: Database, conversation_id: str, limit: int) -> list[tuple[Turn, list[str]]]:
    """The `limit` most recent turns of `conversation_id` with their topics, oldest first."""
    if limit <= 0:
        return []
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(chat_turns.c.question, chat_turns.c.answer, chat_turns.c.topics)
                .where(chat_turns.c.conversation_id == conversation_id)
                .order_by(chat_turns.c.id.desc())
                .limit(limit)
            )
        ).all()
    return [
        (Turn(question=row.question, answer=row.answer), [t for t in (row.topics or "").split(",") if t])
        for row in reversed(rows)
    ]


async def add_turn(
    db: Database,
    conversation_id: str,
    identity: str,
    question: str,
    answer: str,
    topics: list[str],
    keep: int,
) -> None:
    """Store a turn and delete the conversation's turns older than the `keep` newest."""
    async with db.begin() as conn:
        await add_turn_in(conn, conversation_id, identity, question, answer, topics, keep)


async def add_turn_in(
    conn: AsyncConnection,
    conversation_id: str,
    identity: str,
    question: str,
    answer: str,
    topics: list[str],
    keep: int,
) -> None:
    """`add_turn` inside a transaction the caller holds."""
    await conn.execute(
        chat_turns.insert().values(
            conversation_id=conversation_id,
            created_at=datetime.now(UTC),
            question=question,
            answer=answer[:MAX_KEPT_ANSWER_CHARS],
            identity=identity[:200],
            topics=",".join(topics)[:200],
        )
    )
    newest = (
        sa.select(chat_turns.c.id)
        .where(chat_turns.c.conversation_id == conversation_id)
        .order_by(chat_turns.c.id.desc())
        .limit(max(keep, 1))
    )
    await conn.execute(
        chat_turns.delete().where(
            chat_turns.c.conversation_id == conversation_id, chat_turns.c.id.not_in(newest)
        )
    )

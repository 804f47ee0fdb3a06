"""The last few turns of each conversation, kept in the database and bounded per conversation."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app.chat.prompt import Turn
from app.chat.tables import chat_turns
from app.db import Database

#: Longest answer text kept per turn: history is context, not an archive.
MAX_KEPT_ANSWER_CHARS = 2000


async def recent_turns(db: Database, conversation_id: str, limit: int) -> list[Turn]:
    """The `limit` most recent turns of `conversation_id`, oldest first."""
    if limit <= 0:
        return []
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(chat_turns.c.question, chat_turns.c.answer)
                .where(chat_turns.c.conversation_id == conversation_id)
                .order_by(chat_turns.c.id.desc())
                .limit(limit)
            )
        ).all()
    return [Turn(question=row.question, answer=row.answer) for row in reversed(rows)]


async def add_turn(db: Database, conversation_id: str, question: str, answer: str, keep: int) -> None:
    """Store a turn and delete the conversation's turns older than the `keep` newest."""
    async with db.begin() as conn:
        await conn.execute(
            chat_turns.insert().values(
                conversation_id=conversation_id,
                created_at=datetime.now(UTC),
                question=question,
                answer=answer[:MAX_KEPT_ANSWER_CHARS],
            )
        )
        newest = (
            sa.select(chat_turns.c.id)
            .where(chat_turns.c.conversation_id == conversation_id)
            .order_by(chat_turns.c.id.desc())
            .limit(max(keep, 0))
        )
        await conn.execute(
            chat_turns.delete().where(
                chat_turns.c.conversation_id == conversation_id, chat_turns.c.id.not_in(newest)
            )
        )

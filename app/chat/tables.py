"""Tables of the chat feature and their migrations, applied in order by `Database.migrate()`.

`chat_questions` holds one row per answered question (what the stats and the health endpoint read);
`chat_turns` holds the recent question/answer pairs of each conversation, pruned to a few per id.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import Connection

from app.db import Migration, create_tables, metadata

chat_questions = sa.Table(
    "chat_questions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False, index=True, doc="UTC"),
    sa.Column("day", sa.String(10), nullable=False, index=True, doc="YYYY-MM-DD of asked_at, UTC"),
    sa.Column("identity", sa.String(200), nullable=False, doc="rate-limit identity of the asker"),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("categories", sa.String(200), nullable=False, doc="comma-separated"),
    sa.Column("streamed", sa.Boolean, nullable=False),
    sa.Column("api_called", sa.Boolean, nullable=False, doc="false when no key is configured"),
    sa.Column("degraded", sa.Boolean, nullable=False),
    sa.Column("failure", sa.String(40), nullable=True, doc="why the model gave no answer, if it did not"),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cache_write_tokens", sa.Integer, nullable=False),
    sa.Column("cache_read_tokens", sa.Integer, nullable=False),
    sa.Column("context_tokens", sa.Integer, nullable=False, doc="estimated size of the data context"),
    sa.Column("cost_eur", sa.Float, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("tool_calls", sa.Integer, nullable=True, doc="tools the model called for this answer"),
    sa.Column(
        "grounded", sa.Boolean, nullable=True, doc="every figure traced to a tool result; null: no model"
    ),
    sa.Column("unsupported_figures", sa.Integer, nullable=True, doc="figures of the answer no tool gave"),
)

chat_turns = sa.Table(
    "chat_turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column(
        "identity", sa.String(200), nullable=True, doc="who asked: only they continue the conversation"
    ),
    sa.Column("topics", sa.String(200), nullable=True, doc="comma-separated topics, for follow-ups"),
)


def add_columns(table: sa.Table, *names: str) -> Callable[[Connection], None]:
    """A migration step adding `names` (as declared in `table`) to a table created before they existed."""

    def apply(conn: Connection) -> None:
        present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
        for name in names:
            if name not in present:
                column = table.c[name]
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))

    return apply


def _grounding_and_owners(conn: Connection) -> None:
    add_columns(chat_questions, "tool_calls", "grounded", "unsupported_figures")(conn)
    add_columns(chat_turns, "identity", "topics")(conn)


MIGRATIONS: list[Migration] = [
    Migration(1, "chat questions (stats) and conversation turns", create_tables(chat_questions, chat_turns)),
    Migration(2, "tool calls and grounding per answer; who owns a conversation", _grounding_and_owners),
]

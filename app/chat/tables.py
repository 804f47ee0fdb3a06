"""Tables of the chat feature and their migrations, applied in order by `Database.migrate()`."""

from __future__ import annotations

from app.db import Migration

MIGRATIONS: list[Migration] = []

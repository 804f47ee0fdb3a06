"""Tables the app's core owns (scheduler runs and lease) and their migrations."""

from __future__ import annotations

from app.db import Migration

MIGRATIONS: list[Migration] = []

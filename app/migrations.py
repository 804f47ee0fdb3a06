"""Every component's migrations, in the order components are migrated."""

from __future__ import annotations

from collections.abc import Sequence

from app.analytics.tables import MIGRATIONS as ANALYTICS
from app.bi.tables import MIGRATIONS as BI
from app.chat.tables import MIGRATIONS as CHAT
from app.db import Migration
from app.tables import MIGRATIONS as CORE

COMPONENTS: Sequence[tuple[str, Sequence[Migration]]] = (
    ("core", CORE),
    ("bi", BI),
    ("chat", CHAT),
    ("analytics", ANALYTICS),
)

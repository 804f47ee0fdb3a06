"""What requests and scheduled jobs share: settings, the database and long-lived clients.

Built once in the lifespan (`app.state.ctx`); routers get it through the `get_context` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import Request

from app.analytics.tailnet import TailnetService
from app.chat.client import ClaudeClient
from app.chat.ratelimit import RateLimiter
from app.db import Database
from app.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    http: httpx.AsyncClient
    claude: ClaudeClient | None = None
    chat_limiter: RateLimiter | None = None
    tailnet: TailnetService | None = None


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx

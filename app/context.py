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
    claude: ClaudeClient
    chat_limiter: RateLimiter
    tailnet: TailnetService

    @classmethod
    def create(cls, settings: Settings, db: Database, http: httpx.AsyncClient) -> AppContext:
        """The context with every feature's client made from `settings` (none connects yet)."""
        return cls(
            settings=settings,
            db=db,
            http=http,
            claude=ClaudeClient(settings),
            chat_limiter=RateLimiter(
                settings.chat_rate_limit_requests, settings.chat_rate_limit_window_seconds
            ),
            tailnet=TailnetService.from_settings(settings),
        )

    async def aclose(self) -> None:
        """Close the feature clients; `db` and `http` belong to whoever made them."""
        await self.claude.close()
        await self.tailnet.aclose()


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx

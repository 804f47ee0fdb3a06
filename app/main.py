"""`create_app(settings)`: the FastAPI application, its routers and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app import __version__
from app.analytics.router import router as analytics_router
from app.bi.router import router as bi_router
from app.chat.router import router as chat_router
from app.context import AppContext
from app.db import Database
from app.pages import install_pages
from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, settings.db_busy_timeout_ms)
        await db.migrate()
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as http:
            app.state.ctx = AppContext(settings=settings, db=db, http=http)
            try:
                yield
            finally:
                await db.dispose()

    app = FastAPI(title="Chocolate Factory energy BI", version=__version__, lifespan=lifespan)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    app.include_router(bi_router)
    app.include_router(chat_router)
    app.include_router(analytics_router)
    install_pages(app)
    return app

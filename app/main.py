"""`create_app(settings)`: the FastAPI application, its routers and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app import __version__
from app.analytics.router import router as analytics_router
from app.bi.router import router as bi_router
from app.body_limit import BodySizeLimit
from app.browser_guards import CrossSiteWrites, NoSniff
from app.chat.router import router as chat_router
from app.context import AppContext
from app.db import Database
from app.http_errors import install_error_handlers
from app.logging import configure_logging
from app.metrics import RequestMetrics
from app.ops import router as ops_router
from app.pages import install_pages
from app.scheduler import JobScheduler
from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        await db.migrate()
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(
                settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds
            )
        ) as http:
            ctx = app.state.ctx = AppContext.create(settings, db, http)
            scheduler = JobScheduler(ctx) if settings.scheduler_enabled else None
            app.state.scheduler = scheduler
            if scheduler is not None:
                await scheduler.start()
            try:
                yield
            finally:
                if scheduler is not None:
                    await scheduler.shutdown()
                await ctx.aclose()
                await db.dispose()

    # /docs and /redoc are served by app/pages.py from vendored assets, not FastAPI's CDN pages.
    app = FastAPI(
        title="Chocolate Factory energy BI",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    install_error_handlers(app, settings)
    # The body cap sits inside the metrics, so refused bodies (413) are counted too.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(CrossSiteWrites)
    app.add_middleware(RequestMetrics)
    app.add_middleware(NoSniff)  # outermost of ours: also on the 403s, 413s and 415s of the guards
    app.include_router(ops_router)
    app.include_router(bi_router)
    app.include_router(chat_router)
    app.include_router(analytics_router)
    install_pages(app)
    return app

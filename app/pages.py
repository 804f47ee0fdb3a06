"""The dashboard and VPN pages and their static files (plain HTML, CSS, JS and the vendored uPlot).

The pages load nothing from outside the app, so a strict Content-Security-Policy holds: scripts,
styles and requests only from the app itself, no inline scripts, no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Two exact <style> elements the vendored Redoc (app/static/vendor/redoc) creates, allowed by hash and
#: nothing else inline: the empty one its styled-components fills through the CSSOM (insertRule, which
#: CSP does not govern), and perfect-scrollbar's fixed stylesheet. A new Redoc version that changes
#: either shows as a CSP error in tests/e2e/test_api_docs.py.
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # "" (the empty style element)
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar 1.x css
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' " + " ".join(REDOC_STYLE_HASHES),
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name,
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/")
async def root() -> RedirectResponse:
    """The app's front door is the dashboard."""
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    """Prices, weather, production, data freshness and the chat widget."""
    return _page("dashboard.html")


@router.get("/vpn")
async def vpn() -> FileResponse:
    """Tailnet devices, the user quota, access logs, dashboard usage and device uptime."""
    return _page("vpn.html")


@router.get("/docs")
async def api_docs() -> FileResponse:
    """Swagger UI over /openapi.json, from the vendored swagger-ui-dist (no CDN, same CSP)."""
    return _page("api-docs.html")


@router.get("/redoc")
async def api_redoc() -> FileResponse:
    """Redoc over /openapi.json, from the vendored redoc bundle (no CDN, same CSP)."""
    return _page("api-redoc.html")


class _StaticWithHeaders:
    """Serve the static files with the same security headers as the pages, revalidated on each load."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
                headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_pages(app: FastAPI) -> None:
    """Add the page routes and mount the static files at /static."""
    app.include_router(router)
    app.mount("/static", _StaticWithHeaders(StaticFiles(directory=STATIC_DIR)), name="static")

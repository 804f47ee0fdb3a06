"""The dashboard and VPN pages, /docs and /redoc, and their static files (plain HTML, CSS, JS and the
vendored uPlot, Swagger UI and Redoc).

The pages load nothing from outside the app, so a strict Content-Security-Policy holds: scripts,
styles and requests only from the app itself, no inline scripts, no framing. The dashboard and the
VPN page are served in the request's language (app/i18n): `<html lang>` is set and the language's
catalogue is embedded as a JSON data block, which is data, not script, so the CSP stays as it is.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import LANGUAGE_COOKIE, catalogue, choose_language

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


#: Where a translated page's catalogue goes, and the `<html>` tag whose language is set.
CATALOGUE_MARKER = "<!-- i18n catalogue -->"
HTML_TAG = '<html lang="es">'


def _page(name: str) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name,
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@cache
def _translated_page(name: str, language: str) -> str:
    """app/static/<name> with <html lang> set and the catalogue embedded; made once per process."""
    html = (STATIC_DIR / name).read_text(encoding="utf-8")
    if HTML_TAG not in html or CATALOGUE_MARKER not in html:
        raise RuntimeError(f"app/static/{name} lacks {HTML_TAG!r} or {CATALOGUE_MARKER!r}")
    # "<" escaped so no text in the catalogue can close the data block.
    data = json.dumps(catalogue(language), ensure_ascii=False).replace("<", "\\u003c")
    block = f'<script type="application/json" id="i18n">{data}</script>'
    return html.replace(HTML_TAG, f'<html lang="{language}">', 1).replace(CATALOGUE_MARKER, block, 1)


def _translated(name: str, request: Request) -> HTMLResponse:
    """The page in the language of the `cf_lang` cookie, else of Accept-Language, else Spanish."""
    language = choose_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    return HTMLResponse(
        _translated_page(name, language),
        headers={
            **SECURITY_HEADERS,
            "Cache-Control": "no-cache",
            "Content-Language": language,
            "Vary": "Accept-Language, Cookie",
        },
    )


@router.get("/")
async def root() -> RedirectResponse:
    """The app's front door is the dashboard."""
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard")
async def dashboard(request: Request) -> HTMLResponse:
    """Prices, weather, production, data freshness and the chat widget."""
    return _translated("dashboard.html", request)


@router.get("/vpn")
async def vpn(request: Request) -> HTMLResponse:
    """Tailnet devices, the user quota, access logs, dashboard usage and device uptime."""
    return _translated("vpn.html", request)


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

"""How the app answers input it refuses (422) and a database another writer holds (503).

FastAPI's own 422 handler echoes every rejected value back (`input`) and its `ctx`: a 50 MB body became a
262 MB reply, and a NaN or a lone surrogate in the input made the reply itself unserialisable (a 500).
`validation_error_response` keeps what a caller needs to fix the request — where (`loc`), what was
expected (`msg`) and the error `type`, the documented `ValidationError` shape — and never the input.

A SQLite write that waited `CF_DB_BUSY_TIMEOUT_MS` for another writer's lock (a CSV import, say) and
still did not get it answers 503 with Retry-After, instead of a 500; nothing was written. So does a
request while the PostgreSQL server cannot be reached (restarting, down, no free pooled connection): the
pool reconnects by itself once the server is back, so retrying is the right thing for the client to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.db import DatabaseUnreachableError, is_database_locked, is_database_unreachable
from app.settings import Settings

#: At most this many errors, each `loc` part and `msg` at most this long: a reply stays small.
MAX_ERRORS = 20
MAX_LOC_PARTS = 10
MAX_LOC_CHARS = 80
MAX_MSG_CHARS = 300


def _safe_text(value: object, limit: int) -> str:
    """`value` as valid UTF-8 text of at most `limit` characters (lone surrogates escaped)."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _loc_part(part: object) -> str | int:
    return part if isinstance(part, int) and not isinstance(part, bool) else _safe_text(part, MAX_LOC_CHARS)


def describe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors reduced to `loc`, `msg` and `type`, without the rejected input."""
    described = []
    for error in list(errors)[:MAX_ERRORS]:
        loc = list(error.get("loc", ()))[:MAX_LOC_PARTS]
        described.append(
            {
                "loc": [_loc_part(part) for part in loc],
                "msg": _safe_text(error.get("msg", "invalid value"), MAX_MSG_CHARS),
                "type": _safe_text(error.get("type", "value_error"), MAX_LOC_CHARS),
            }
        )
    return described


async def validation_error_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": describe_errors(exc.errors())})


def install_error_handlers(app: FastAPI, settings: Settings) -> None:
    retry_after = str(settings.db_locked_retry_after_seconds)
    waited = settings.db_busy_timeout_ms / 1000

    unavailable_retry_after = str(settings.db_unavailable_retry_after_seconds)

    async def database_error_response(_request: Request, exc: Exception) -> JSONResponse:
        if is_database_unreachable(exc):
            return JSONResponse(
                status_code=503,
                content={
                    "detail": "no connection to the database right now (the server is restarting, or all "
                    "CF_DB_POOL_SIZE + CF_DB_POOL_MAX_OVERFLOW connections are busy); nothing was stored: "
                    f"retry in {unavailable_retry_after} s"
                },
                headers={"Retry-After": unavailable_retry_after},
            )
        if not is_database_locked(exc):
            raise exc
        return JSONResponse(
            status_code=503,
            content={
                "detail": f"the database is busy with another write (an import?); waited {waited:g} s "
                f"(CF_DB_BUSY_TIMEOUT_MS), nothing was stored: retry in {retry_after} s"
            },
            headers={"Retry-After": retry_after},
        )

    app.add_exception_handler(RequestValidationError, validation_error_response)
    for error in (DBAPIError, DatabaseUnreachableError, PoolTimeoutError):
        app.add_exception_handler(error, database_error_response)

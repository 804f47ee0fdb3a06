"""Structured logs: one JSON object per line on stderr (or plain text for a terminal).

Use the standard library everywhere: `log = logging.getLogger(__name__)` and pass fields with
`log.info("prices stored", extra={"fields": {"rows": 24, "source": "ree"}})`; they appear as top-level
keys of the JSON line next to `ts`, `level`, `logger` and `msg`.

No personal data at any level: the libraries below write what users sent when their loggers are below
WARNING (SQLAlchemy every statement's parameters, aiosqlite every call with its arguments, the Anthropic
SDK whole prompts as "Request options", httpx and httpcore URLs and connection details), so they stay at
WARNING even when CF_LOG_LEVEL is DEBUG. Uvicorn's access lines keep the path but not the query string
(filters such as `?user=<login>`), and the engine hides SQL parameters from its error messages
(app/db.py). The app's own messages name no login either (a malformed access-log line is reported by
its offset). Logins are recorded where an admin needs them: nginx's access log and the analytics.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from app.settings import Settings

_HANDLER_NAME = "cf-structured"

#: Loggers that log request data below WARNING; kept at WARNING (or the configured level, if higher).
LIBRARY_LOGGERS = (
    "sqlalchemy",  # sqlalchemy.engine: statements with parameters (INFO), result rows (DEBUG)
    "aiosqlite",  # "executing <partial ... parameters>" (DEBUG)
    "anthropic",  # anthropic._base_client: "Request options: {... messages ...}" (DEBUG)
    "httpx",
    "httpx2",  # the HTTP client the Anthropic SDK ships
    "httpcore",
    "httpcore2",
    "h11",
    "hpack",
    "asyncio",
    "apscheduler",
    "multipart",
    "python_multipart",
)


class QueryStringFilter(logging.Filter):
    """Drops the query string from uvicorn's access lines, which may carry logins (`?user=...`).

    Uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with (client, method, path with query, version, status)
    (uvicorn/protocols/http/h11_impl.py and httptools_impl.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as a JSON line: ts (UTC, ISO 8601), level, logger, msg, fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                entry.setdefault(str(key), value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


def configure_logging(settings: Settings) -> None:
    """Send the root logger (and uvicorn's) to stderr in the configured format; safe to call twice."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryStringFilter) for f in access.filters):
        access.addFilter(QueryStringFilter())
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))

"""The app as the smoke suite starts it when no SMOKE_BASE_URL is given: real uvicorn, no network.

Every outbound base URL points at a closed port on 127.0.0.1, so the scheduler's ingestion jobs and
the chat client fail fast and locally instead of reaching the internet.
"""

from __future__ import annotations

CLOSED_PORT_URL = "http://127.0.0.1:9"

OFFLINE_ENV: dict[str, str] = {
    "CF_REE_BASE_URL": CLOSED_PORT_URL,
    "CF_OPEN_METEO_BASE_URL": CLOSED_PORT_URL,
    "CF_AEMET_BASE_URL": CLOSED_PORT_URL,
    "ANTHROPIC_BASE_URL": CLOSED_PORT_URL,
    "CF_ANALYTICS_LOCALAPI_URL": CLOSED_PORT_URL,
    "CF_LOG_FORMAT": "text",
}


def fake_digest(seed: str) -> str:
    """A well-formed digest for an app that was not built as an image."""
    import hashlib

    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()

"""The pages' catalogues (app/i18n/<lang>.json) and how a page's language is chosen."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import get_args

import pytest

from app.analytics.alerts import SEVERITY, AlertKind
from app.analytics.classify import DeviceKind, QuotaLevel
from app.bi.queries import ComfortStatus
from app.chat.client import FailureKind
from app.chat.tools import TOOLS
from app.i18n import LANGUAGES, catalogue, choose_language
from app.ops import SourceState, SourceStatus, source_statuses
from app.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
PAGES = [STATIC / "dashboard.html", STATIC / "vpn.html"]
SCRIPTS = [STATIC / "js" / name for name in ("common.js", "dashboard.js", "vpn.js", "chat.js")]


def _keys_in_pages() -> set[str]:
    keys: set[str] = set()
    for page in PAGES:
        html = page.read_text()
        keys |= set(re.findall(r'data-i18n="([^"]+)"', html))
        for attrs in re.findall(r'data-i18n-attr="([^"]+)"', html):
            keys |= {pair.split(":")[1].strip() for pair in attrs.split(";")}
    for script in SCRIPTS:
        js = script.read_text()
        keys |= set(re.findall(r'\bt\("([a-z0-9_.-]+)"\s*[,)]', js))
        keys |= set(re.findall(r'"(chat\.suggest_[a-z_]+)"', js))
    return keys


def _keys_built_from_data() -> set[str]:
    """Keys the scripts build from values the API returns: every value each of them can take."""
    expected = _expected_sources()
    return (
        {f"status.{state}" for state in get_args(SourceState)}
        | {f"dataset.{s.dataset}" for s in expected}
        | {f"source.{s.source}" for s in expected}
        | {"source.sample"}
        | {f"freshness.hint_empty_{s.dataset}_{s.source.replace('-', '_')}" for s in expected}
        | {"freshness.hint_disabled_aemet"}
        | {f"weather.comfort_{c}" for c in get_args(ComfortStatus)}
        | {f"devices.kind_{kind.value.replace('-', '_')}" for kind in DeviceKind}
        | {f"quota.level_{level.value}" for level in QuotaLevel}
        | {f"alerts.kind_{kind.value}" for kind in AlertKind}
        | {f"alerts.severity_{severity}" for severity in SEVERITY.values()}
        | {f"period.label_{p}" for p in ("today", "tomorrow", "7d", "30d", "custom")}
        | {f"chat.failure_{kind}" for kind in get_args(FailureKind)}
        | {"chat.failure_other"}
        | {f"chat.category_{tool.name}" for tool in TOOLS}
    )


def _expected_sources() -> list[SourceStatus]:
    """The sources /ready reports on an empty database (AEMET configured, so all of them)."""
    context = SimpleNamespace(settings=Settings(aemet_api_key="key"))
    return source_statuses(context, [])  # type: ignore[arg-type]


def test_every_language_has_the_same_keys() -> None:
    spanish, english = (set(catalogue(language)) for language in LANGUAGES)
    assert spanish - english == set(), "keys missing from en.json"
    assert english - spanish == set(), "keys missing from es.json"


def test_every_key_the_pages_use_is_in_the_catalogues() -> None:
    used = _keys_in_pages() | _keys_built_from_data()
    for language in LANGUAGES:
        missing = used - set(catalogue(language))
        assert missing == set(), f"app/i18n/{language}.json lacks {sorted(missing)}"


def test_translations_keep_every_placeholder_and_are_not_empty() -> None:
    spanish, english = catalogue("es"), catalogue("en")
    for key, text in spanish.items():
        assert text.strip() and english[key].strip(), key
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", english[key])), key


@pytest.mark.parametrize(
    ("cookie", "accept_language", "expected"),
    [
        (None, None, "es"),
        (None, "", "es"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "es-ES,es;q=0.9,en;q=0.8", "es"),
        (None, "de-DE,de;q=0.9,en;q=0.5", "en"),
        (None, "en;q=0.3,es;q=0.7", "es"),
        (None, "fr-FR,fr;q=0.9", "es"),
        (None, "en;q=0", "es"),
        ("en", "es-ES", "en"),
        ("es", "en-GB", "es"),
        ("xx", "en-GB", "en"),
    ],
)
def test_language_is_the_remembered_choice_else_accept_language_else_spanish(
    cookie: str | None, accept_language: str | None, expected: str
) -> None:
    assert choose_language(cookie, accept_language) == expected

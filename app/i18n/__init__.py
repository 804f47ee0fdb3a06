"""The pages' languages: Spanish first, English second, one JSON catalogue per language.

The server picks the language of a page: the `cf_lang` cookie that the page's switch sets, else the
best supported language of the request's `Accept-Language` (RFC 9110, section 12.5.4: tags with
`q` weights), else Spanish. The page gets `<html lang>` and that language's catalogue; its scripts
read every label, message and chart string from it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LANGUAGE_COOKIE = "cf_lang"
CATALOGUE_DIR = Path(__file__).resolve().parent


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every key of the pages and its text in `language` (app/i18n/<language>.json)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}; have {LANGUAGES}")
    data: dict[str, str] = json.loads((CATALOGUE_DIR / f"{language}.json").read_text(encoding="utf-8"))
    return data


def _accepted(header: str) -> list[tuple[str, float]]:
    """(primary language subtag, weight) of each entry of an Accept-Language header, in header order."""
    entries: list[tuple[str, float]] = []
    for item in header.split(","):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag:
            entries.append((tag.strip().split("-")[0].lower(), weight))
    return entries


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The remembered choice, else the most wanted supported language of the request, else Spanish."""
    if cookie is not None and cookie in LANGUAGES:
        return cookie
    ranked = sorted(_accepted(accept_language or ""), key=lambda entry: -entry[1])
    for language, weight in ranked:
        if weight > 0 and language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE

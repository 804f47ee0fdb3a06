"""Words of a question: accent-folded tokens, stems, and small typos.

Matching works on whole tokens, never substrings: "dia" does not match inside "media" nor "plan" inside
"planta". A keyword written with a trailing `*` is a stem and matches every token that starts with it
("ahorr*": ahorro, ahorrado, ahorraríamos). A stem takes no typos, else "ahora" would be "ahorr*".
Any other keyword matches its token exactly or, from five letters on, with one typo (one letter
added, missing, changed, or two swapped: "temperatrua").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case `text` and strip accents: "Día de PRODUCCIÓN" -> "dia de produccion"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Accent-folded word tokens of `text`."""
    return _WORD.findall(fold(text))


def _one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def close_to(token: str, word: str) -> bool:
    """`token` is `word`, or `word` with one typo when both are five letters or longer."""
    if token == word:
        return True
    return len(word) >= 5 and len(token) >= 5 and _one_edit(token, word)


def matches(token: str, keyword: str) -> bool:
    """One token against one keyword: a stem ("ahorr*") by prefix, a word exactly or with one typo."""
    if keyword.endswith("*"):
        stem = keyword[:-1]
        return token.startswith(stem)
    return close_to(token, keyword)


def has_phrase(tokens: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(all(matches(tokens[i + k], phrase[k]) for k in range(n)) for i in range(len(tokens) - n + 1))


def mentions(tokens: list[str], keywords: Iterable[str]) -> bool:
    """Whether any keyword (a word, a stem, or a phrase of them) occurs in `tokens`."""
    for keyword in keywords:
        phrase = keyword.split()
        if len(phrase) == 1:
            if any(matches(token, keyword) for token in tokens):
                return True
        elif has_phrase(tokens, phrase):
            return True
    return False

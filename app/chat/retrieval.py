"""Which of the factory's data a question is about, and the bounded context built from it.

Matching works on accent-folded word tokens: "día" and "dia" are the same token, and a keyword
matches whole tokens only, so "dia" never matches inside "media" nor "plan" inside "planta". Phrases
are runs of consecutive tokens. Several categories can match; none gives a compact overview.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.chat import facts
from app.db import Database
from app.settings import Settings

_WORD = re.compile(r"[a-z0-9]+")

OVERVIEW = "overview"

#: Category -> keywords (single tokens or space-separated phrases), Spanish and English, accent-folded.
# fmt: off
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "status": (
        "estado", "status", "situacion", "resumen", "overview", "summary", "ahora", "now", "actual",
        "actualmente", "current", "currently", "hoy", "today", "como va", "how is", "how are", "right now",
        "en este momento", "dashboard", "panel",
    ),
    "prices": (
        "precio", "precios", "price", "prices", "pricing", "tarifa", "tarifas", "tariff", "kwh", "mwh",
        "coste", "costes", "costo", "cost", "costs", "electricidad", "electricity", "luz", "energia",
        "energy", "pvpc", "ree", "mercado", "market", "caro", "cara", "expensive", "media", "promedio",
        "average", "mean", "maximo", "minimo", "forecast", "prevision", "manana", "tomorrow", "semana",
        "week",
    ),
    "windows": (
        "plan", "planificar", "planifico", "planning", "programar", "schedule", "scheduling", "horario",
        "cuando", "when", "mejor hora", "mejores horas", "best time", "best hours", "best hour", "dia",
        "ventana", "ventanas", "window", "windows", "optimo", "optima", "optimal", "barato", "barata",
        "baratas", "baratos", "cheap", "cheaper", "cheapest", "valle", "llano", "punta", "peak", "off peak",
        "periodo", "periodos", "period", "periods", "p1", "p2", "p3", "turno", "shift",
    ),
    "weather": (
        "tiempo", "clima", "weather", "meteo", "temperatura", "temperaturas", "temperature", "grados",
        "degrees", "calor", "heat", "hot", "caliente", "frio", "cold", "humedad", "humidity", "humid",
        "lluvia", "rain", "confort", "comfort", "templado", "tempering", "atemperado",
    ),
    "production": (
        "produccion", "production", "produced", "producido", "lote", "lotes",
        "batch", "batches", "kg", "kilo", "kilos", "kilogramo", "kilogramos", "planta", "plant", "fabrica",
        "factory", "consumo", "consumption", "eficiencia", "efficiency", "chocolate", "tabletas",
        "bombones", "por kilo", "per kg", "per kilo", "output",
    ),
    "savings": (
        "ahorro", "ahorros", "ahorrar", "ahorramos", "saving", "savings", "save", "saved", "horario fijo",
        "fixed schedule", "comparado", "compared", "versus", "vs", "rentable", "worth",
    ),
    "alerts": (
        "alerta", "alertas", "alert", "alerts", "aviso", "avisos", "warning", "warnings", "problema",
        "problemas", "problem", "problems", "issue", "issues", "anomalia", "anomalias", "anomaly", "riesgo",
        "riesgos", "risk", "fuera de rango", "out of band", "out of range", "desactualizado",
        "desactualizados", "stale", "outdated", "antiguos", "old data", "wrong", "mal",
    ),
}
# fmt: on

#: Order in which matched categories are put into the context (and dropped first when over budget).
CATEGORY_ORDER: tuple[str, ...] = (
    "status", "prices", "windows", "weather", "production", "savings", "alerts",
)  # fmt: skip


def fold(text: str) -> str:
    """Lower-case `text` and strip accents: "Día de PRODUCCIÓN" -> "dia de produccion"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Accent-folded word tokens of `text`."""
    return _WORD.findall(fold(text))


def _contains_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(tokens[i : i + n]) == list(phrase) for i in range(len(tokens) - n + 1))


_PHRASES: dict[str, tuple[tuple[str, ...], ...]] = {
    category: tuple(tuple(tokenize(keyword)) for keyword in keywords)
    for category, keywords in CATEGORY_KEYWORDS.items()
}


def match_categories(question: str) -> list[str]:
    """The categories `question` is about, in context order; empty when none matches."""
    tokens = tokenize(question)
    token_set = set(tokens)
    matched = []
    for category in CATEGORY_ORDER:
        for phrase in _PHRASES[category]:
            if (len(phrase) == 1 and phrase[0] in token_set) or (
                len(phrase) > 1 and _contains_phrase(tokens, phrase)
            ):
                matched.append(category)
                break
    return matched


def estimate_tokens(text: str) -> int:
    """A conservative token estimate (about 3.5 characters per token for these mixed-language figures)."""
    return math.ceil(len(text) / 3.5) if text else 0


@dataclass
class Context:
    """The data block sent to the model and what it was built from."""

    categories: list[str]
    sections: list[facts.Section]
    text: str
    tokens: int
    truncated: bool = False
    dropped: list[str] = field(default_factory=list)

    def figure_lines(self) -> list[str]:
        """Every figure line, under its section title, for a plain-text summary."""
        lines: list[str] = []
        for section in self.sections:
            lines.append(f"{section.title}:")
            lines.extend(f"- {line}" for line in section.lines)
        return lines


def render(sections: Sequence[facts.Section]) -> str:
    parts = []
    for section in sections:
        parts.append(f"## {section.title}")
        parts.extend(f"- {line}" for line in section.lines)
    return "\n".join(parts)


def fit_to_budget(sections: Sequence[facts.Section], budget_tokens: int) -> tuple[list[facts.Section], bool]:
    """Keep whole sections in order while they fit; cut the first that does not at a line boundary.

    Returns the kept sections and whether anything was left out.
    """
    kept: list[facts.Section] = []
    used = 0
    truncated = False
    for section in sections:
        header_cost = estimate_tokens(f"## {section.title}\n")
        if used + header_cost > budget_tokens:
            truncated = True
            continue
        lines: list[str] = []
        cost = header_cost
        for line in section.lines:
            line_cost = estimate_tokens(f"- {line}\n")
            if used + cost + line_cost > budget_tokens:
                truncated = True
                break
            lines.append(line)
            cost += line_cost
        if lines:
            kept.append(facts.Section(section.category, section.title, lines))
            used += cost
        else:
            truncated = True
    return kept, truncated


async def build_context(
    db: Database, settings: Settings, question: str, now: datetime | None = None
) -> Context:
    """Match `question`, read the matched categories' figures and fit them into the token budget."""
    categories = match_categories(question)
    wanted = categories or [OVERVIEW]
    sections: list[facts.Section] = []
    for category in wanted:
        sections.extend(await facts.SECTION_BUILDERS[category](db, settings, facts.moment(now)))
    kept, truncated = fit_to_budget(sections, settings.chat_context_token_budget)
    text = render(kept)
    kept_categories = {section.category for section in kept}
    return Context(
        categories=wanted,
        sections=kept,
        text=text,
        tokens=estimate_tokens(text),
        truncated=truncated,
        dropped=[category for category in wanted if category not in kept_categories],
    )

"""The answer without the model: keywords and dates pick the tools, and a short answer cites their figures.

Used when no key is configured and when the API gives no answer. It runs the same tools as the model
(`app/chat/tools.py`) with inputs taken from the question:

- topics by stems and small typos (`app/chat/words.py`): prices, cheapest window, weather, production,
  batches, savings (what-if), comparison, status; a question with no topic of its own ("¿y mañana?")
  keeps the previous turn's topics;
- days, parts of the day, hours and deadlines by `app/chat/periods.py`;
- the answer: the 3-5 figures that answer the question, with unit and date, in the question's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from app.bi.tariff import SPAIN
from app.chat import periods, tools
from app.chat.words import close_to, mentions, tokenize

Language = Literal["es", "en"]
#: Figure lines in an answer: the few that answer the question, not everything the tools returned.
MAX_FIGURE_LINES = 5

# fmt: off
TOPIC_KEYWORDS: dict[str, tuple[str, ...]] = {
    "window": (
        "barat*", "barato", "barata", "cheap*", "mejor", "mejores", "best", "ventana*", "window*",
        "optim*", "valle", "off peak", "programar", "planific*", "schedul*", "encender", "arrancar",
    ),
    "prices": (
        "precio*", "price*", "tarifa*", "tariff*", "luz", "electric*", "pvpc", "kwh", "mwh", "caro", "cara",
        "caras", "caros", "carisim*", "expensive", "dearest", "dear", "costar*", "cuesta", "peak", "punta",
        "energia", "energy",
    ),
    "weather": (
        "tiempo", "clima", "weather", "temperat*", "temperature", "temperatura", "grados", "degree*",
        "calor", "heat*", "hot", "hott*", "warm*", "caliente", "calur*", "frio", "cold*", "humedad", "humid*",
        "confort", "comfort", "lluvia",
        "rain", "templ*", "forecast", "prevision*",
    ),
    "production": (
        "produc*", "fabric*", "lote*", "batch*", "kg", "kilo*", "conch*", "tableta*", "bombon*", "praline*",
        "output", "eficien*", "efficien*", "made", "hicimos", "hecho", "tonelada*",
    ),
    "savings": (
        "ahorr*", "saving*", "save", "saved", "what if", "que pasaria", "habriamos", "hubieramos",
        "would have", "mover*", "moving", "moved", "rentab*",
    ),
    "compare": (
        "compar*", "frente", "versus", "vs", "against", "respecto", "diferencia*", "difference*",
    ),
    "status": (
        "estado", "status", "resumen", "summary", "ahora", "now", "actual", "actualmente", "current*",
        "como va", "how is", "how are", "situacion",
    ),
}
# fmt: on
#: Words of "per kilogram" and of money, which make a production question a cost one.
_COST_WORDS = ("eur*", "€", "cost*", "coste*", "cuesta*", "dinero", "money", "gast*", "spent", "spend")
_PER_KG = ("por kilo", "por kg", "per kg", "per kilo", "kg", "kilo*")
_BATCH_LIST = ("que produc*", "what we were producing", "what were we producing", "what was produced",
               "que estabamos", "que fabric*", "lotes", "batches")  # fmt: skip

_SPANISH_HINTS = frozenset(
    {
        "que", "cual", "cuales", "cuando", "como", "donde", "cuanto", "cuanta", "cuantas", "cuantos", "el",
        "la", "los", "las", "del", "hoy", "precio", "precios", "mejor", "es", "esta", "hay", "para", "por",
        "de", "produccion", "ahorro", "tiempo", "temperatura", "manana", "ayer", "dia", "semana", "hora",
        "horas", "y", "en", "mes", "noche", "madrugada", "luz", "hemos", "habriamos", "fue", "costo", "mas",
        "barato", "barata", "frente", "pasada", "pasado", "entre", "fabricado", "con", "se", "lo", "al",
        "un", "una",
    }
)  # fmt: skip
_ENGLISH_HINTS = frozenset(
    {
        "what", "which", "when", "how", "where", "much", "many", "the", "is", "are", "was", "were", "today",
        "price", "prices", "best", "of", "for", "should", "production", "savings", "weather", "temperature",
        "tomorrow", "yesterday", "day", "week", "hour", "hours", "and", "in", "last", "this", "did", "we",
        "our", "cheapest", "night", "month", "at", "on", "it", "be", "do", "would", "have", "against",
    }
)  # fmt: skip


def language_of(question: str) -> Language:
    if re.search(r"[¿¡ñ]", question.casefold()):
        return "es"
    tokens = tokenize(question)
    spanish = sum(token in _SPANISH_HINTS for token in tokens)
    english = sum(token in _ENGLISH_HINTS for token in tokens)
    return "es" if spanish > english else "en"


def topics_of(question: str) -> list[str]:
    """The topics a question names, in a fixed order; empty when it names none."""
    tokens = tokenize(question)
    found = [topic for topic, keywords in TOPIC_KEYWORDS.items() if mentions(tokens, keywords)]
    if "weather" not in found and re.search(r"[°º]\s*c\b", question.casefold()):
        found.insert(2 if len(found) >= 2 else len(found), "weather")
    if "production" in found and mentions(tokens, _BATCH_LIST) and "prices" in found:
        found.append("batches")
    return found


@dataclass
class Plan:
    """What the fallback will answer: topics, the time asked about, and the tool calls that answer it."""

    topics: list[str]
    parsed: periods.Parsed
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _dates(period: periods.Period) -> dict[str, Any]:
    return {"start_date": period.start.isoformat(), "end_date": period.end.isoformat()}


def _previous(period: periods.Period) -> periods.Period:
    length = timedelta(days=period.days)
    return periods.Period(period.start - length, period.end - length, "previous")


def _window_hours(question: str, default: int) -> int:
    match = re.search(r"(\d{1,2})\s*(?:-\s*)?(?:h\b|horas?|hours?|hour)", question.casefold())
    if match and 1 <= int(match.group(1)) <= 12:
        return int(match.group(1))
    words = {"dos": 2, "two": 2, "tres": 3, "three": 3, "cuatro": 4, "four": 4, "cinco": 5, "five": 5,
             "seis": 6, "six": 6}  # fmt: skip
    tokens = tokenize(question)
    for i, token in enumerate(tokens[:-1]):
        if token in words and tokens[i + 1].startswith(("hora", "hour")):
            return words[token]
    if "hora" in tokens or "hour" in tokens:  # "la hora más barata", "the cheapest hour"
        return 1
    return default


def product_named(question: str, products: list[str]) -> str | None:
    """The stored product the question names ("pralinés" -> "pralines"), if any."""
    tokens = tokenize(question)
    for product in products:
        names = [word for word in tokenize(product) if len(word) >= 4 and not word.isdigit()]
        if names and all(
            any(close_to(token, name) or token.startswith(name) for token in tokens) for name in names
        ):
            return product
    return None


def plan(
    question: str,
    previous_topics: list[str],
    today: date,
    batch_hours: int,
    now: datetime,
    products: list[str] | None = None,
) -> Plan:
    """Topics (or the previous turn's), periods, and the tool calls that answer the question."""
    topics = topics_of(question)
    parsed = periods.parse(question, today)
    if "window" in topics and parsed.period and parsed.period.end < today:
        # "the cheapest hour yesterday": no window to plan in the past, the day's prices answer it
        topics = [t for t in topics if t != "window"] + (["prices"] if "prices" not in topics else [])
    product = product_named(question, products or [])
    if product and "production" not in topics:
        topics.append("production")
    own = [t for t in topics if t not in ("compare", "status")]
    if not own and previous_topics:
        topics = [t for t in previous_topics if t != "status"] + [
            t for t in topics if t not in previous_topics
        ]
    result = Plan(topics or ["status"], parsed)
    period = parsed.period
    week = periods.Period(today - timedelta(days=6), today, "last 7 days")
    topic_set = set(result.topics)
    args: dict[str, Any]
    day: periods.Period
    if "compare" in topic_set:
        a = period or periods.Period(*periods.week_of(today), "this week")
        b = parsed.periods[1] if len(parsed.periods) > 1 else _previous(a)
        metric = (
            "production" if "production" in topic_set else "weather" if "weather" in topic_set else "prices"
        )
        result.calls.append(
            ("compare_periods", {"metric": metric, "period_a": _dates(a), "period_b": _dates(b)})
        )
        return result
    if "savings" in topic_set:
        monday, sunday = periods.week_of(today - timedelta(days=7))
        last_week = periods.Period(monday, sunday, "last week")
        args = {**_dates(period or last_week), "schedule": "cheapest"}
        if parsed.part_of_day in ("night", "early"):
            args["schedule"] = "night"
        elif parsed.at_hour is not None:
            args |= {"schedule": "start_hour", "start_hour": parsed.at_hour}
        result.calls.append(("what_if_schedule", args))
        return result
    if "window" in topic_set:
        args = {"hours": _window_hours(question, batch_hours), "count": 2}
        hour = now.astimezone(SPAIN).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        if period is not None and period.start > today:
            args["not_before"] = f"{period.start.isoformat()}T00:00"
            end_day = period.end + timedelta(days=1)
            args["deadline"] = f"{end_day.isoformat()}T00:00"
        if parsed.deadline_hour is not None:
            first = period.start if period and period.start > today else today
            deadline = datetime.combine(first, datetime.min.time()).replace(hour=parsed.deadline_hour)
            if deadline <= hour:
                deadline += timedelta(days=1)
            args["deadline"] = deadline.strftime("%Y-%m-%dT%H:%M")
        result.calls.append(("find_cheapest_window", args))
        if "prices" not in topic_set:
            return result
    if "batches" in topic_set:
        day = period or periods.Period(today, today, "today")
        result.calls.append(("get_prices", _dates(day)))
        result.calls.append(("list_batches", _dates(day)))
        return result
    if (
        "prices" in topic_set
        and "window" not in topic_set
        and not ("production" in topic_set and period and period.days > 1)
    ):
        day = period or periods.Period(today, today, "today")
        args = _dates(day)
        if parsed.at_hour is not None:
            args |= {"from_hour": parsed.at_hour, "to_hour": parsed.at_hour}
        elif "status" in topic_set and period is None:  # "the price now": the current hour's
            current = now.astimezone(SPAIN).hour
            args |= {"from_hour": current, "to_hour": current}
        elif parsed.hours and parsed.part_of_day in ("morning", "afternoon", "evening"):
            args |= {"from_hour": min(parsed.hours), "to_hour": max(parsed.hours)}
        elif parsed.part_of_day == "early":
            args |= {"from_hour": 0, "to_hour": 6}
        result.calls.append(("get_prices", args))
    if "weather" in topic_set and "status" in topic_set and period is None and not result.calls:
        result.calls.append(("get_status", {}))  # "the temperature now"
    elif "weather" in topic_set:
        day = period or periods.Period(today, today + timedelta(days=1), "today and tomorrow")
        result.calls.append(("get_weather", _dates(day)))
    if "production" in topic_set:
        span = period or week
        args = {**_dates(span), "group_by": "product" if span.days > 1 and not product else "total"}
        if product:
            args["product"] = product
        result.calls.append(("get_production", args))
    if not result.calls:
        result.calls.append(("get_status", {}))
    return result


# --- the short answer ------------------------------------------------------------------------------------

_WORDS = {
    "es": {
        "no_key": "No hay clave de la API de Claude configurada",
        "default": "Claude no está disponible ahora mismo ({kind})",
        "intro": "Cifras de la base de datos de la fábrica:",
        "cut": "[respuesta interrumpida]",
        "none": "no hay datos guardados para {what}",
    },
    "en": {
        "no_key": "No Claude API key is configured",
        "default": "Claude is not available right now ({kind})",
        "intro": "Figures from the factory database:",
        "cut": "[answer interrupted]",
        "none": "no data stored for {what}",
    },
}


def words(language: Language) -> dict[str, str]:
    return _WORDS[language]


def number(value: float | None, digits: int, language: Language) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if language == "es":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def when(iso: str, language: Language) -> str:
    """'2026-11-25T19:00+01:00' -> '2026-11-25 19:00'."""
    return iso[:16].replace("T", " ")


def _price(value: float | None, language: Language) -> str:
    return f"{number(value, 4, language)} €/kWh"


def _t(language: Language, es: str, en: str) -> str:
    return es if language == "es" else en


def describe(name: str, result: dict[str, Any], language: Language) -> list[str]:
    """The few lines of figures that a tool's result contributes to the answer."""
    L = language  # noqa: N806 - short on purpose: every line below uses it
    if name == "get_prices":
        span = result["start_date"] if result["start_date"] == result["end_date"] else (
            f"{result['start_date']} – {result['end_date']}")  # fmt: skip
        if not result.get("hours"):
            return [_WORDS[L]["none"].format(what=_t(L, f"los precios de {span}", f"the prices of {span}"))]
        hourly = result.get("hourly") or []
        if len(hourly) == 1:
            row = hourly[0]
            return [_t(L, "Precio", "Price") + f" {when(row['time'], L)}: {_price(row['price_eur_kwh'], L)}, "
                    + _t(L, "periodo", "period") + f" {row['tariff_period']}"]  # fmt: skip
        return [
            _t(L, f"Precio medio {span}", f"Mean price {span}")
            + f": {_price(result['mean_price_eur_kwh'], L)}",
            _t(L, "Mínimo", "Lowest")
            + f": {_price(result['min_price_eur_kwh'], L)} ({when(result['min_at'], L)})",
            _t(L, "Máximo", "Highest")
            + f": {_price(result['max_price_eur_kwh'], L)} ({when(result['max_at'], L)})",
        ]
    if name == "find_cheapest_window":
        if not result["windows"]:
            return [_WORDS[L]["none"].format(what=_t(L, "esas horas", "those hours"))]
        lines = []
        for rank, window in enumerate(result["windows"], start=1):
            label = _t(
                L, f"Ventana de {result['hours']} h más barata", f"Cheapest {result['hours']} h window"
            )
            if rank > 1:
                label = _t(L, f"Siguiente ventana de {result['hours']} h", f"Next {result['hours']} h window")
            span = f"{when(window['start'], L)}–{window['end'][11:16]}"
            mean = _t(L, "media", "mean") + f" {_price(window['mean_price_eur_kwh'], L)}"
            lines.append(f"{label}: {span}, {mean}")
        return lines
    if name == "get_weather":
        if not result["hours"]:
            return [
                _WORDS[L]["none"].format(what=_t(L, "el tiempo de esos días", "the weather of those days"))
            ]
        band = f"{result['comfort_min_c']:g}–{result['comfort_max_c']:g} °C"
        return [
            _t(L, "Máxima", "Highest") + f": {number(result['max_temperature_c'], 1, L)} °C "
            f"({when(result['max_at'], L)}); " + _t(L, "mínima", "lowest")
            + f": {number(result['min_temperature_c'], 1, L)} °C ({when(result['min_at'], L)})",
            _t(L, f"Horas por encima de la banda {band}", f"Hours above the band {band}")
            + f": {result['hours_above_band']}; "
            + _t(L, "por debajo", "below") + f": {result['hours_below_band']}",
        ]  # fmt: skip
    if name == "get_production":
        total = result["total"]
        if not total["batches"]:
            return [
                _WORDS[L]["none"].format(what=_t(L, "la producción de esos días", "production on those days"))
            ]
        span = f"{result['start_date']} – {result['end_date']}"
        if result.get("product_filter"):
            span += f", {result['product_filter']}"
        lines = [
            f"{span}: {total['batches']} " + _t(L, "lotes", "batches") + f", {number(total['kg'], 0, L)} kg, "
            f"{number(total['kwh'], 0, L)} kWh, {number(total['kwh_per_kg'], 3, L)} kWh/kg",
            _t(L, "Coste de energía", "Energy cost") + f": {number(total['energy_cost_eur'], 2, L)} €, "
            f"{number(total['eur_per_kg'], 4, L)} €/kg",
        ]  # fmt: skip
        for group in (result.get("groups") or [])[:3]:
            kg, per_kg = number(group["kg"], 0, L), number(group["eur_per_kg"], 4, L)
            lines.append(
                f"{group['group']}: {kg} kg, {per_kg} €/kg, {number(group['kwh_per_kg'], 3, L)} kWh/kg"
            )
        return lines
    if name == "list_batches":
        rows = result["batches"][:3]
        if not rows:
            return [_WORDS[L]["none"].format(what=_t(L, "lotes ese día", "batches that day"))]
        return [f"{when(b['start'], L)}–{b['end'][11:16]}: {b['product']}, {number(b['kg'], 0, L)} kg, "
                f"{number(b['kwh'], 0, L)} kWh" for b in rows]  # fmt: skip
    if name == "what_if_schedule":
        if not result["batches_compared"]:
            return [_WORDS[L]["none"].format(what=_t(L, "lotes con precios", "batches with prices"))]
        moved = {
            "night": _t(L, "de noche (00:00)", "at night (00:00)"),
            "cheapest": _t(L, "en la hora más barata de su día", "at the cheapest start of their day"),
            "start_hour": _t(L, f"a las {result['start_hour']}:00", f"at {result['start_hour']}:00"),
        }
        span = f"{result['start_date']} – {result['end_date']}"  # fmt: skip
        return [
            f"{span}: {result['batches_compared']} " + _t(L, "lotes costaron", "batches cost")
            + f" {number(result['actual_cost_eur'], 2, L)} € " + _t(L, "de energía", "in energy"),
            _t(L, "Movidos", "Moved")
            + f" {moved[result['schedule']]}: {number(result['moved_cost_eur'], 2, L)} €",
            _t(L, "Ahorro", "Saving") + f": {number(result['saving_eur'], 2, L)} € "
            f"({number(result['saving_pct'], 1, L)} %)",
        ]  # fmt: skip
    if name == "compare_periods":
        a, b, diff = result["period_a"], result["period_b"], result["a_minus_b"]
        key = {"prices": "mean_price_eur_kwh", "production": "kg", "weather": "mean_temperature_c"}[
            result["metric"]
        ]
        unit = {"prices": "€/kWh", "production": "kg", "weather": "°C"}[result["metric"]]
        digits = {"prices": 4, "production": 0, "weather": 1}[result["metric"]]
        label = {
            "prices": _t(L, "precio medio", "mean price"),
            "production": _t(L, "producción", "production"),
            "weather": _t(L, "temperatura media", "mean temperature"),
        }[result["metric"]]
        return [
            f"{a['start_date']} – {a['end_date']}, {label}: {number(a.get(key), digits, L)} {unit}",
            f"{b['start_date']} – {b['end_date']}, {label}: {number(b.get(key), digits, L)} {unit}",
            _t(L, "Diferencia", "Difference")
            + f": {number(diff.get(f'{key}_difference'), digits, L)} {unit} "
            f"({number(diff.get(f'{key}_change_pct'), 1, L)} %)",
        ]  # fmt: skip
    if name == "get_status":
        lines = []
        if result.get("price_now"):
            p = result["price_now"]
            period = _t(L, "periodo", "period") + f" {p['tariff_period']}"
            lines.append(
                _t(L, "Precio ahora", "Price now")
                + f" ({when(p['time'], L)}): {_price(p['price_eur_kwh'], L)}, {period}"
            )
        if result.get("weather_now"):
            w = result["weather_now"]
            band = {"within": _t(L, "dentro de la banda", "within the band"),
                    "above": _t(L, "por encima de la banda", "above the band"),
                    "below": _t(L, "por debajo de la banda", "below the band")}[w["band"]]  # fmt: skip
            lines.append(_t(L, "Temperatura", "Temperature") + f" ({when(w['time'], L)}): "
                         f"{number(w['temperature_c'], 1, L)} °C, {band}")  # fmt: skip
        today = result["production_today"]
        lines.append(_t(L, "Producción de hoy", "Production today") + f": {today['batches']} "
                     + _t(L, "lotes", "batches") + f", {number(today['kg'], 0, L)} kg")  # fmt: skip
        if result.get("cheapest_window_next_24h"):
            w = result["cheapest_window_next_24h"]
            label = _t(L, f"Ventana de {w['hours']} h más barata", f"Cheapest {w['hours']} h window")
            lines.append(
                f"{label}: {when(w['start'], L)}–{w['end'][11:16]}, {_price(w['mean_price_eur_kwh'], L)}"
            )
        return lines
    return []


def answer(
    failure: str, language: Language, outcomes: list[tuple[str, dict[str, Any] | tools.ToolError]]
) -> str:
    """The reason the model did not answer, then the figures, one per line."""
    w = _WORDS[language]
    reason = w["no_key"] if failure == "no_key" else w["default"].format(kind=failure)
    lines = [f"{reason}. {w['intro']}"]
    for name, outcome in outcomes:
        if isinstance(outcome, tools.ToolError):
            lines.append(f"- {outcome}")
        else:
            lines.extend(f"- {line}" for line in describe(name, outcome, language))
    return "\n".join(lines[: 1 + MAX_FIGURE_LINES])

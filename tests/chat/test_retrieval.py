"""Which categories a question matches, in Spanish and English, and the context built from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.chat.facts import when
from app.chat.retrieval import build_context, estimate_tokens, match_categories, tokenize
from app.db import Database
from app.settings import Settings
from tests.chat.factory_data import Seeded, seed


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
async def seeded(db: Database) -> Seeded:
    return await seed(db)


def settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def test_tokens_are_accent_folded_whole_words() -> None:
    assert tokenize("¿Qué DÍA es mejor? Producción: 3,5 kWh/kg") == [
        "que", "dia", "es", "mejor", "produccion", "3", "5", "kwh", "kg",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "category"),
    [
        ("¿Cómo está la fábrica ahora mismo?", "status"),
        ("What is the current status?", "status"),
        ("¿Cuál es el precio de la luz?", "prices"),
        ("How expensive is electricity tomorrow?", "prices"),
        ("¿Cuándo conviene producir? Dame las horas más baratas", "windows"),
        ("What are the cheapest hours to run the conche?", "windows"),
        ("¿Qué temperatura hace en Linares?", "weather"),
        ("Is it too hot for tempering today?", "weather"),
        ("¿Cuántos kilos hemos producido esta semana?", "production"),
        ("What is our energy per kg of chocolate?", "production"),
        ("¿Cuánto ahorramos frente al horario fijo?", "savings"),
        ("How much would we save compared with a fixed schedule?", "savings"),
        ("¿Hay alguna alerta?", "alerts"),
        ("Any warnings or stale data?", "alerts"),
    ],
)
def test_questions_match_their_category_in_both_languages(question: str, category: str) -> None:
    assert category in match_categories(question)


def test_dia_matches_the_word_dia_not_the_inside_of_media() -> None:
    assert "windows" in match_categories("¿Qué día es mejor?")
    assert "windows" in match_categories("¿Qué dia es mejor?"), "accents are folded"
    matched = match_categories("¿Cuál fue la media de la semana?")
    assert "prices" in matched
    assert "windows" not in matched


def test_plan_matches_the_word_plan_not_the_inside_of_planta() -> None:
    assert "windows" in match_categories("Help me plan tomorrow")
    matched = match_categories("¿Cuánto consume la planta?")
    assert "production" in matched
    assert "windows" not in matched


def test_phrases_match_runs_of_words_only() -> None:
    assert "savings" in match_categories("What does a fixed schedule cost us?")
    assert "savings" not in match_categories("The schedule is fixed, is it hot?")


def test_a_question_can_match_several_categories() -> None:
    matched = match_categories("¿Cuál es el precio y qué temperatura hace?")
    assert {"prices", "weather"} <= set(matched)


async def test_no_match_gives_a_compact_overview(db: Database, seeded: Seeded) -> None:
    context = await build_context(db, settings(), "Hola, buenas", now=seeded.now)
    assert context.categories == ["overview"]
    assert "0.1500 €/kWh" in context.text
    assert "24.0 °C" in context.text
    assert context.tokens <= 250, "the overview stays compact"


async def test_price_context_carries_current_price_forecast_and_source(db: Database, seeded: Seeded) -> None:
    context = await build_context(db, settings(), "¿Cuál es el precio ahora?", now=seeded.now)
    assert f"current price {when(seeded.current_hour)}: 0.1500 €/kWh" in context.text
    assert "source ree" in context.text
    assert "max 0.3000 €/kWh" in context.text, "the 24 h forecast's peak"
    assert "last 7 days" in context.text and "mean 0.1200 €/kWh" in context.text


async def test_windows_context_names_the_cheap_run(db: Database, seeded: Seeded) -> None:
    context = await build_context(db, settings(), "Best time to produce?", now=seeded.now)
    assert f"cheapest 3 h window #1: {when(seeded.cheap_start)}" in context.text
    assert "mean 0.0500 €/kWh" in context.text
    assert "tariff periods ahead: P" in context.text


async def test_weather_context_places_the_reading_against_the_comfort_band(
    db: Database, seeded: Seeded
) -> None:
    context = await build_context(db, settings(), "What's the weather like?", now=seeded.now)
    assert "24.0 °C" in context.text and "above the comfort band 15–22 °C" in context.text
    assert "max 26.0 °C" in context.text and "3 h outside the comfort band" in context.text


async def test_production_context_gives_energy_per_kg(db: Database, seeded: Seeded) -> None:
    context = await build_context(db, settings(), "¿Cuánta energía por kilo gastamos?", now=seeded.now)
    # 4 batches: 1700 kg and 2100 kWh -> 1.235 kWh/kg; tabletas 1500 kg / 1800 kWh -> 1.200 kWh/kg
    assert "last 7 days: 4 batches, 1700 kg, 2100 kWh, 1.235 kWh/kg" in context.text
    assert "tableta 70%: 3 batches, 1500 kg, 1800 kWh, 1.200 kWh/kg" in context.text


async def test_savings_context_compares_the_cheapest_window_with_the_fixed_start(
    db: Database, seeded: Seeded
) -> None:
    context = await build_context(db, settings(), "How much can we save?", now=seeded.now)
    assert "Savings against a fixed 08:00 start" in context.text
    assert "last 7 days, 4 batches with prices" in context.text
    # a typical batch is 525 kWh over 3 h: 26.25 € in the 0.05 €/kWh window
    assert f"26.25 € from {when(seeded.cheap_start)}" in context.text


async def test_alerts_context_flags_high_prices_heat_and_nothing_stale(db: Database, seeded: Seeded) -> None:
    context = await build_context(db, settings(), "¿Hay alertas?", now=seeded.now)
    assert "ALERT price: 1 h in the next 24 h above 0.2000 €/kWh, peak 0.3000 €/kWh" in context.text
    assert "ALERT temperature: 24.0 °C" in context.text
    assert "ALERT forecast: 3 h" in context.text
    assert "stale" not in context.text


async def test_alerts_flag_missing_data_as_stale(db: Database) -> None:
    context = await build_context(db, settings(), "Any alerts?")
    assert "ALERT stale data: no prices stored at all" in context.text
    assert "ALERT stale data: no weather stored at all" in context.text


async def test_context_stays_within_the_token_budget_and_reports_its_size(
    db: Database, seeded: Seeded
) -> None:
    question = "precio, mejores horas, tiempo, producción, ahorro y alertas"
    full = await build_context(db, settings(), question, now=seeded.now)
    assert len(full.categories) == 6 and not full.truncated
    budget = full.tokens // 2
    cut = await build_context(db, settings(chat_context_token_budget=budget), question, now=seeded.now)
    assert cut.truncated
    assert cut.tokens <= budget
    assert cut.tokens == estimate_tokens(cut.text)
    assert cut.text.startswith("## Energy prices"), "the first categories are kept, the last dropped"
    assert "alerts" in cut.dropped

"""Core and BI settings: embedded defaults that need nothing, and errors that name the variable to fix."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_defaults_need_no_keys_and_keep_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'app.db'}"
    assert (settings.factory_latitude, settings.factory_longitude) == (38.151, -3.629)
    assert (settings.comfort_min_c, settings.comfort_max_c) == (15.0, 22.0)
    assert settings.aemet_api_key == ""


def test_an_inverted_comfort_band_names_both_variables() -> None:
    with pytest.raises(ValidationError, match="CF_COMFORT_MIN_C .* CF_COMFORT_MAX_C"):
        Settings(comfort_min_c=25, comfort_max_c=20)


def test_a_lease_renewed_less_often_than_it_lasts_is_refused() -> None:
    with pytest.raises(ValidationError, match="CF_SCHEDULER_LEASE_RENEW_SECONDS"):
        Settings(scheduler_lease_seconds=10, scheduler_lease_renew_seconds=10)


def test_database_url_replaces_the_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://cf@db/cf")
    assert Settings().database_url == "postgresql+asyncpg://cf@db/cf"

"""Every knob of the app, in one place, with embedded defaults that need no keys and no network.

Values come from the environment (or a `.env` file); names are the field names in upper case with the
`CF_` prefix, except the conventional `DATABASE_URL`, `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CF_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    # --- serving ---------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    environment: str = Field(default="local", description="local, dev or prod: shown by /version")
    version: str = Field(default="dev", description="release version or git commit, shown by /version")
    image_digest: str = Field(default="", description="image digest the app runs from, shown by /version")

    # --- storage ---------------------------------------------------------------------------------
    data_dir: Path = Path("data")
    database_url_override: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CF_DATABASE_URL"),
        description="SQLAlchemy async URL; default: SQLite file app.db under data_dir",
    )
    db_busy_timeout_ms: int = 5000

    # --- scheduler -------------------------------------------------------------------------------
    scheduler_enabled: bool = True

    # --- BI data (prices, weather, production) ----------------------------------------------------

    # --- chat ------------------------------------------------------------------------------------

    # --- analytics -------------------------------------------------------------------------------

    @cached_property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite+aiosqlite:///{(self.data_dir / 'app.db').resolve()}"

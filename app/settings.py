"""Every knob of the app, in one place, with embedded defaults that need no keys and no network.

Values come from the environment (or a `.env` file); names are the field names in upper case with the
`CF_` prefix, except the conventional `DATABASE_URL`, `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.inputs import LONGEST_BATCH_HOURS


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
    git_commit: str = Field(default="", description="git commit the app was built from, shown by /version")
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line (for collectors); text: for a terminal"
    )
    http_timeout_seconds: float = Field(default=10.0, gt=0, description="total timeout of outbound calls")
    http_connect_timeout_seconds: float = Field(default=5.0, gt=0, description="connect timeout, outbound")
    max_request_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="request bodies larger than this are refused with 413 as they arrive (app/body_limit.py)",
    )

    # --- storage ---------------------------------------------------------------------------------
    data_dir: Path = Path("data")
    database_url_override: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CF_DATABASE_URL"),
        description="SQLAlchemy async URL; default: SQLite file app.db under data_dir",
    )
    db_busy_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="a write waits this long for another writer's SQLite lock (an import), then answers 503",
    )
    db_locked_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After of the 503 a write gets when the database stayed locked"
    )
    # PostgreSQL only (SQLite keeps SQLAlchemy's defaults): the connection pool of each app process.
    # Connections a process may hold: db_pool_size + db_pool_max_overflow; keep that times the number of
    # processes under the server's max_connections (100 by default).
    db_pool_size: int = Field(default=5, ge=1, le=100, description="PostgreSQL connections kept open")
    db_pool_max_overflow: int = Field(
        default=5, ge=0, le=100, description="PostgreSQL connections opened beyond the pool under load"
    )
    db_pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a request waits this long for a free connection, then answers 503"
    )
    db_pool_recycle_seconds: float = Field(
        default=1800.0, gt=0, description="a PostgreSQL connection older than this is replaced on checkout"
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="opening a PostgreSQL connection gives up after this"
    )
    db_command_timeout_seconds: float = Field(
        default=30.0, gt=0, description="one PostgreSQL statement gives up after this"
    )
    db_unavailable_retry_after_seconds: int = Field(
        default=2, ge=1, description="Retry-After of the 503 a request gets while the database is unreachable"
    )

    # --- scheduler -------------------------------------------------------------------------------
    scheduler_enabled: bool = True
    scheduler_lease_seconds: float = Field(
        default=60.0, gt=0, description="how long the runner's database lease lasts without renewal"
    )
    scheduler_lease_renew_seconds: float = Field(
        default=15.0, gt=0, description="how often the process holding the lease renews it (and others retry)"
    )
    scheduler_misfire_grace_seconds: int = Field(
        default=300, ge=1, description="a job run late by up to this much still runs (once: coalesced)"
    )
    scheduler_instance_id: str = Field(
        default="", description="this process's lease holder id; default: hostname:pid"
    )
    scheduler_run_on_start: bool = Field(
        default=True, description="run each ingestion job right after the lease is taken, then on interval"
    )
    scheduler_run_history_days: int = Field(
        default=30, ge=1, description="job runs older than this are deleted (daily job prune-job-runs)"
    )
    prices_interval_seconds: float = Field(default=3600, gt=0, description="job ingest-prices (REE)")
    weather_interval_seconds: float = Field(default=1800, gt=0, description="job ingest-weather")
    gap_check_interval_seconds: float = Field(default=7200, gt=0, description="job backfill-gaps")

    # --- BI data (prices, weather, production) ----------------------------------------------------
    ree_base_url: str = Field(default="https://apidatos.ree.es", description="REE apidatos (PVPC prices)")
    open_meteo_base_url: str = Field(default="https://api.open-meteo.com", description="Open-Meteo forecast")
    aemet_base_url: str = Field(default="https://opendata.aemet.es", description="AEMET OpenData")
    aemet_api_key: str = Field(default="", description="AEMET OpenData key; empty: AEMET is not used")
    aemet_station_id: str = Field(default="5279X", description="AEMET station nearest the factory (Linares)")
    factory_latitude: float = Field(default=38.151, ge=-90, le=90)
    factory_longitude: float = Field(default=-3.629, ge=-180, le=180)
    comfort_min_c: float = Field(default=15.0, description="lower bound of chocolate's comfort band, °C")
    comfort_max_c: float = Field(default=22.0, description="upper bound of chocolate's comfort band, °C")
    production_batch_max_hours: float = Field(
        default=72.0,
        gt=0,
        le=LONGEST_BATCH_HOURS,
        description="a production batch lasts at most this long (API and CSV import refuse longer ones)",
    )
    prices_ahead_hours: int = Field(
        default=36, ge=1, le=72, description="how far ahead the price job asks REE (day-ahead prices)"
    )
    weather_ahead_hours: int = Field(default=48, ge=1, le=384, description="forecast hours kept per fetch")
    backfill_max_days: int = Field(
        default=7, ge=1, le=90, description="the gap check fills missing hours at most this many days back"
    )
    prices_stale_after_seconds: float = Field(
        default=3 * 3600, gt=0, description="/ready calls prices stale when the last fetch is older"
    )
    weather_stale_after_seconds: float = Field(
        default=2 * 3600, gt=0, description="/ready calls weather stale when the last fetch is older"
    )

    @model_validator(mode="after")
    def _core_and_bi_ranges_make_sense(self) -> Settings:
        if self.comfort_min_c >= self.comfort_max_c:
            raise ValueError(
                f"CF_COMFORT_MIN_C ({self.comfort_min_c}) must be below "
                f"CF_COMFORT_MAX_C ({self.comfort_max_c})"
            )
        if self.scheduler_lease_renew_seconds >= self.scheduler_lease_seconds:
            raise ValueError(
                f"CF_SCHEDULER_LEASE_RENEW_SECONDS ({self.scheduler_lease_renew_seconds}) must be "
                f"shorter than CF_SCHEDULER_LEASE_SECONDS ({self.scheduler_lease_seconds})"
            )
        return self

    # --- identity (who is asking; see app/identity.py) ------------------------------------------
    trusted_proxies: list[str] = Field(
        default=[],
        description="the web container's address (nginx behind `tailscale serve`), whose "
        'Tailscale-User-Login header is believed (JSON list of single addresses, e.g. ["10.213.0.2"]); '
        "empty: never. A network wider than one address is refused: it would trust its gateway too",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_single_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                network = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"CF_TRUSTED_PROXIES: {entry!r} is not an IP address") from None
            if network.num_addresses != 1:
                raise ValueError(
                    f"CF_TRUSTED_PROXIES: {entry!r} spans {network.num_addresses} addresses; expected the "
                    "web container's one address (a network also holds its gateway, the Docker host)"
                )
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in self.trusted_proxies)

    tailnet_groups: dict[str, list[str]] = Field(
        default={},
        description="the tailnet policy file's groups and their logins (JSON object, e.g. "
        '{"group:admins": ["ana@example.com"]}); the Pulumi program passes the policy\'s own groups',
    )

    # --- production writes (who may record batches; see app/bi/writers.py) ---------------------
    production_writers: list[str] = Field(
        default=[],
        description="Tailscale logins and groups of CF_TAILNET_GROUPS allowed to record production "
        'batches (JSON list, e.g. ["ana@example.com", "group:admins"]); empty: nobody',
    )
    production_local_writer: str = Field(
        default="",
        max_length=100,
        description="without a tailnet (`make run`): the writer recorded for batches posted from this "
        "machine (loopback) and allowed as `--as` of the CSV import; empty: none",
    )

    @field_validator("tailnet_groups")
    @classmethod
    def _groups_are_named_groups(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in value:
            if not name.startswith("group:") or name == "group:":
                raise ValueError(f"CF_TAILNET_GROUPS: {name!r} is not a group name (group:<name>)")
        return value

    @model_validator(mode="after")
    def _writer_groups_exist(self) -> Settings:
        groups = [entry for entry in self.production_writers if entry.startswith("group:")]
        unknown = [group for group in groups if group not in self.tailnet_groups]
        if unknown:
            raise ValueError(
                f"CF_PRODUCTION_WRITERS names {', '.join(unknown)}, which CF_TAILNET_GROUPS does not define "
                f"(defined: {', '.join(sorted(self.tailnet_groups)) or 'none'})"
            )
        return self

    # --- chat ------------------------------------------------------------------------------------
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "CF_ANTHROPIC_API_KEY"),
        description="Claude API key; empty: /chat answers with the retrieved figures only (degraded)",
    )
    anthropic_api_key_file: Path | None = Field(
        default=None,
        description="file holding the Claude API key (a container secret); ANTHROPIC_API_KEY wins",
    )
    anthropic_base_url: str = Field(
        default="https://api.anthropic.com",
        validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "CF_ANTHROPIC_BASE_URL"),
        description="Messages API base URL (tests point it at a local stand-in)",
    )
    chat_model: str = Field(default="claude-haiku-5-5", description="Claude model id the chat asks")
    chat_max_tokens: int = Field(default=700, ge=16, le=8192, description="answer length cap, tokens")
    chat_request_timeout_seconds: float = Field(
        default=12.0, gt=0, description="timeout of one Messages API attempt (the SDK's `timeout`)"
    )
    chat_max_retries: int = Field(
        default=1, ge=0, le=5, description="SDK retries on 429/5xx/connection errors, within the budget"
    )
    chat_answer_budget_seconds: float = Field(
        default=25.0, gt=0, description="a chat answer (model call and retries included) ends within this"
    )
    chat_max_turns: int = Field(
        default=6, ge=1, le=20, description="model calls per answer: the tool loop stops after this many"
    )
    chat_conversation_turns: int = Field(
        default=3, ge=0, le=20, description="earlier question/answer pairs of a conversation sent along"
    )
    chat_cache_min_prefix_tokens: int = Field(
        default=4096, ge=0, description="prompt caching is asked for when the system prompt is this long"
    )
    chat_model_prices: dict[str, dict[str, float]] = Field(
        default={
            "claude-haiku-5-5": {"input": 0.10, "output": 0.50, "cache_write": 0.125, "cache_read": 0.01},
            "claude-haiku-4-5": {"input": 1.00, "output": 5.00, "cache_write": 1.25, "cache_read": 0.10},
            "claude-sonnet-5": {"input": 2.00, "output": 10.00, "cache_write": 2.50, "cache_read": 0.20},
        },
        description="USD per million tokens per model: input, output, cache_write, cache_read",
    )
    chat_usd_to_eur: float = Field(default=0.92, gt=0, description="exchange rate for the € costs shown")
    chat_rate_limit_requests: int = Field(default=20, ge=1, description="questions per identity per window")
    chat_rate_limit_window_seconds: float = Field(default=60.0, gt=0, description="rate-limit window")
    chat_fixed_schedule_start_hour: int = Field(
        default=8, ge=0, le=23, description="local start hour of the fixed schedule savings compare against"
    )
    chat_batch_hours: int = Field(
        default=3, ge=1, le=12, description="length of the production windows, in the chat and the dashboard"
    )
    chat_high_price_eur_kwh: float = Field(
        default=0.20, gt=0, description="prices above this raise a chat alert, €/kWh"
    )

    @field_validator("chat_model_prices")
    @classmethod
    def _prices_have_every_rate(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        needed = {"input", "output", "cache_write", "cache_read"}
        for model, rates in value.items():
            missing = needed - set(rates)
            if missing:
                raise ValueError(f"CF_CHAT_MODEL_PRICES[{model!r}] lacks {sorted(missing)}")
        return value

    # --- analytics -------------------------------------------------------------------------------
    analytics_localapi_url: str = Field(
        default="http://127.0.0.1:8765",
        description="the LocalAPI proxy sidecar (http://proxy-prod:8765), or unix:///path/tailscaled.sock",
    )
    analytics_localapi_timeout_seconds: float = Field(
        default=2.0, gt=0, description="one LocalAPI call (status, whois) gives up after this"
    )
    analytics_localapi_retry_after_seconds: float = Field(
        default=30.0,
        ge=0,
        description="after a failed LocalAPI call, endpoints serve the last snapshot this long",
    )
    analytics_access_log_path: Path | None = Field(
        default=None,
        description="nginx's JSON access log (read-only volume, e.g. /var/log/cf-web/access.log); unset: off",
    )
    analytics_access_log_batch_lines: int = Field(
        default=5000, ge=1, le=100_000, description="access-log lines parsed and stored per transaction"
    )
    analytics_whois_cache_seconds: float = Field(
        default=600.0, ge=0, description="how long a whois answer (address -> user, device) is reused"
    )
    analytics_plan_user_limit: int = Field(
        default=6,
        ge=1,
        description="users (seats) the Tailscale plan allows: the Personal plan allows 6 (it was 3); "
        "https://tailscale.com/pricing",
    )
    analytics_plan_owner_takes_seat: bool = Field(
        default=True,
        description="the owner is one of the plan's users (Tailscale bills every user, the owner "
        "included); false: the limit counts users besides the owner",
    )
    analytics_seats_every_user_visible: bool = Field(
        default=False,
        description="this node's ACL lets it see every user's devices, so the seat count is exact; "
        "false: it is shown as a lower bound",
    )
    analytics_quota_warning_ratio: float = Field(
        default=0.8, gt=0, description="quota level `warning` from this fraction of the plan limit"
    )
    analytics_quota_alert_ratio: float = Field(
        default=1.0, gt=0, description="quota level `alert` from this fraction of the plan limit"
    )
    analytics_tailnet_owner: str = Field(
        default="",
        description="login of the tailnet owner; empty: found in the status (the tailnet's name, the "
        "admin who owns the oldest device, this node's user)",
    )
    analytics_admins: list[str] = Field(
        default=[],
        description="Tailscale logins allowed to read analytics and the VPN page "
        '(JSON list, e.g. ["ana@example.com"])',
    )
    analytics_allow_local: bool = Field(
        default=False,
        description="let loopback clients without a Tailscale identity read analytics "
        "(`make run`, the local stack: no tailnet)",
    )
    analytics_snapshot_interval_seconds: int = Field(
        default=900, ge=1, description="a tailnet snapshot (devices, users, traffic) is stored this often"
    )
    analytics_ingest_interval_seconds: int = Field(
        default=60, ge=1, description="the access log is read this often"
    )
    analytics_status_log_interval_seconds: int = Field(
        default=3600, ge=1, description="a one-line tailnet status is logged this often"
    )
    analytics_alert_new_device_hours: int = Field(
        default=24, ge=1, description="alert: a device or user first seen within this many hours"
    )
    analytics_alert_tagged_offline_minutes: int = Field(
        default=30, ge=1, description="alert: a tagged node offline for longer than this"
    )
    analytics_alert_key_expiry_days: int = Field(
        default=14, ge=1, description="alert: a node key that expires within this many days"
    )
    analytics_alert_access_log_stale_minutes: int = Field(
        default=120,
        ge=1,
        description="alert: no new access-log line stored for this long (nginx or the log volume stopped)",
    )
    analytics_retention_days: int = Field(
        default=400, ge=1, description="requests and snapshots older than this are deleted (daily job)"
    )

    @cached_property
    def claude_api_key(self) -> str:
        """The Claude API key from ANTHROPIC_API_KEY, else from CF_ANTHROPIC_API_KEY_FILE; empty: none."""
        if self.anthropic_api_key is not None:
            return self.anthropic_api_key.get_secret_value().strip()
        if self.anthropic_api_key_file is not None:
            try:
                return self.anthropic_api_key_file.read_text().strip()
            except OSError as error:
                raise ValueError(
                    f"CF_ANTHROPIC_API_KEY_FILE: cannot read {self.anthropic_api_key_file} ({error.strerror})"
                ) from None
        return ""

    @cached_property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite+aiosqlite:///{(self.data_dir / 'app.db').resolve()}"

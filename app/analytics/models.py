"""Response bodies of the analytics endpoints: the contract the pages and the smoke tests read."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.analytics.alerts import AlertKind
from app.analytics.classify import DeviceKind, QuotaLevel


class Freshness(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str = Field(description="live (asked tailscaled now), snapshot (the last stored), none")
    stale: bool = Field(description="true when tailscaled could not be read and stored data is shown")
    age_seconds: float | None = Field(description="age of the data shown; null when there is none")
    taken_at: datetime | None
    error: str | None = Field(default=None, description="why tailscaled could not be read")


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node_id: str
    host_name: str
    dns_name: str
    os: str
    ips: list[str]
    tags: list[str]
    kind: DeviceKind
    user_login: str
    user_name: str
    online: bool
    last_seen: datetime | None
    rx_bytes: int
    tx_bytes: int
    key_expiry: datetime | None = Field(description="when the node key expires; null: never (disabled)")
    is_self: bool
    subnet_routes: list[str] = Field(description="approved subnet routes the device advertises")
    exit_node: bool = Field(description="an approved exit node")
    version: str = Field(description="Tailscale version; tailscaled reports it for its own node only")


class DevicesResponse(BaseModel):
    freshness: Freshness
    tailnet: str
    owner: str
    counts: dict[str, int] = Field(
        description="devices per kind: own, tagged, infrastructure, shared-in, other-user"
    )
    devices: list[DeviceOut]


class QuotaResponse(BaseModel):
    freshness: Freshness
    owner: str = Field(description="the owner's login; empty when the status cannot tell")
    plan_limit: int = Field(description="users the plan allows (CF_ANALYTICS_PLAN_USER_LIMIT)")
    owner_counted: bool = Field(description="the owner takes a seat (CF_ANALYTICS_PLAN_OWNER_TAKES_SEAT)")
    used: int | None = Field(description="seats used; null when unknown (no tailnet data)")
    lower_bound: bool = Field(description="users without visible devices may exist: at least `used`")
    remaining: int | None
    over_limit: bool
    level: QuotaLevel = Field(description="ok, warning, alert; unknown when there is no tailnet data")
    warning_at: float
    alert_at: float
    users: list[str] = Field(description="logins that take a seat")


class AccessLogEntry(BaseModel):
    id: int
    ts: datetime
    client: str
    method: str
    path: str
    status: int
    bytes: int
    duration_ms: float
    user_agent: str
    user_login: str | None
    user_name: str | None
    identity_source: str | None = Field(description="header (tailscale serve), whois, or null")
    device_node_id: str | None
    device_name: str | None


class AccessLogsResponse(BaseModel):
    hours: int
    user: str | None = Field(description="the user filter applied (login or name contains)")
    path: str | None = Field(description="the path filter applied (path contains)")
    total: int = Field(description="requests in the window")
    limit: int
    next_cursor: int | None = Field(description="pass as `cursor` for the next (older) page")
    entries: list[AccessLogEntry]


class UsageDay(BaseModel):
    date: str = Field(description="a Madrid calendar day, YYYY-MM-DD (00:00 to 00:00 Madrid time)")
    requests: int
    users: int
    devices: int


class PathCount(BaseModel):
    path: str
    requests: int


class UserActivity(BaseModel):
    login: str
    name: str
    requests: int
    devices: int
    last_request_at: datetime | None


class IngestionInfo(BaseModel):
    lines: int
    malformed: int
    last_stored_at: datetime | None


class DashboardUsageResponse(BaseModel):
    days: int
    per_day: list[UsageDay]
    top_paths: list[PathCount]
    users: list[UserActivity]
    anonymous_requests: int = Field(description="requests whose user is unknown")
    ingestion: IngestionInfo


class DeviceUptime(BaseModel):
    node_id: str
    host_name: str
    kind: DeviceKind
    user_login: str
    samples: int = Field(description="snapshots in the window that listed the device")
    online_samples: int
    uptime_pct: float
    rx_bytes: int = Field(description="bytes received in the window (sum over snapshots)")
    tx_bytes: int
    first_seen: datetime
    last_seen: datetime | None


class UsersDay(BaseModel):
    date: str
    users: int = Field(description="distinct users with a device online in a snapshot that day")
    online_devices: int


class UptimeResponse(BaseModel):
    days: int
    snapshots: int
    devices: list[DeviceUptime]
    users_per_day: list[UsersDay]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: AlertKind
    severity: str = Field(description="critical, warning or info")
    subject: str = Field(description="the device's host name, the user's login, the log's path, or empty")
    value: float | None = Field(
        description="seats used (seats_*), minutes offline or stale, days left (key_expiring)"
    )
    at: datetime | None = Field(description="since when it holds; for key_expiring, when the key expires")


class AlertThresholds(BaseModel):
    new_device_hours: int
    tagged_offline_minutes: int
    key_expiry_days: int
    access_log_stale_minutes: int


class AlertsResponse(BaseModel):
    alerts: list[AlertOut] = Field(description="what holds now, critical first")
    thresholds: AlertThresholds = Field(description="CF_ANALYTICS_ALERT_* in effect")

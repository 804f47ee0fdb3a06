"""Response bodies of the analytics endpoints: the contract the pages and the smoke tests read."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

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
    key_expiry: datetime | None
    is_self: bool


class DevicesResponse(BaseModel):
    freshness: Freshness
    tailnet: str
    owner: str
    counts: dict[str, int] = Field(description="devices per kind: own, tagged, shared-in, other-user")
    devices: list[DeviceOut]


class QuotaResponse(BaseModel):
    freshness: Freshness
    owner: str
    plan_limit: int
    used: int
    remaining: int
    over_limit: bool
    level: QuotaLevel
    warning_at: float
    alert_at: float
    users: list[str] = Field(description="logins that take a seat: users other than the owner")


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

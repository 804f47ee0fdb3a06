"""An async client of tailscaled's LocalAPI, reached through the read-only proxy sidecar.

tailscaled answers only requests whose Host is `local-tailscaled.sock` and that carry no Origin or
Referer; the proxy runs as an unprivileged uid, so only reads (status, whois) are possible.
The JSON shapes parsed here are tailscale's `ipnstate.Status` and `apitype.WhoIsResponse`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import ExpectedFailure

LOCALAPI_HOST = "local-tailscaled.sock"


class LocalAPIError(ExpectedFailure):
    """The LocalAPI could not be reached, was too slow, or answered something unusable."""


def _zero_time_is_none(value: Any) -> Any:
    """Go's zero time (`0001-01-01T00:00:00Z`) means "never"."""
    if isinstance(value, str) and value.startswith("0001-01-01"):
        return None
    return value


class _GoModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class PeerStatus(_GoModel):
    """One node as `ipnstate.PeerStatus`: Self, or a value of the Peer map."""

    id: str = Field(default="", alias="ID", description="stable node id")
    public_key: str = Field(default="", alias="PublicKey")
    host_name: str = Field(default="", alias="HostName")
    dns_name: str = Field(default="", alias="DNSName")
    os: str = Field(default="", alias="OS")
    user_id: int = Field(default=0, alias="UserID")
    tailscale_ips: list[str] = Field(default_factory=list, alias="TailscaleIPs")
    tags: list[str] = Field(default_factory=list, alias="Tags")
    online: bool = Field(default=False, alias="Online")
    last_seen: datetime | None = Field(default=None, alias="LastSeen")
    rx_bytes: int = Field(default=0, alias="RxBytes")
    tx_bytes: int = Field(default=0, alias="TxBytes")
    sharee_node: bool = Field(default=False, alias="ShareeNode")
    key_expiry: datetime | None = Field(default=None, alias="KeyExpiry")
    created: datetime | None = Field(default=None, alias="Created")
    # The approved routes the control plane gives the node: its own addresses, subnet routes and, for
    # an exit node, 0.0.0.0/0 and ::/0 (tailscale ipn/ipnstate/ipnstate.go, PeerStatus.AllowedIPs).
    allowed_ips: list[str] = Field(default_factory=list, alias="AllowedIPs")
    # The subnet routes this node is the primary router for (PeerStatus.PrimaryRoutes).
    primary_routes: list[str] = Field(default_factory=list, alias="PrimaryRoutes")
    # True when the node offers to be an exit node and the offer is approved (PeerStatus.ExitNodeOption).
    exit_node_option: bool = Field(default=False, alias="ExitNodeOption")

    @field_validator("last_seen", "key_expiry", "created", mode="before")
    @classmethod
    def _never(cls, value: Any) -> Any:
        return _zero_time_is_none(value)

    @field_validator("tags", "tailscale_ips", "allowed_ips", "primary_routes", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("last_seen", "key_expiry", "created")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def node_id(self) -> str:
        """A key that stays the same for the node: its stable id, else its node key."""
        return self.id or self.public_key


class UserProfile(_GoModel):
    """`tailcfg.UserProfile`: a value of Status.User, keyed by the user id."""

    id: int = Field(alias="ID")
    login_name: str = Field(default="", alias="LoginName")
    display_name: str = Field(default="", alias="DisplayName")


class TailnetInfo(_GoModel):
    name: str = Field(default="", alias="Name")
    magic_dns_suffix: str = Field(default="", alias="MagicDNSSuffix")


class TailnetStatus(_GoModel):
    """`ipnstate.Status`: this node, its peers keyed by node key, and their users keyed by user id."""

    version: str = Field(default="", alias="Version")
    backend_state: str = Field(default="", alias="BackendState")
    tailscale_ips: list[str] = Field(default_factory=list, alias="TailscaleIPs")
    self_node: PeerStatus | None = Field(default=None, alias="Self")
    peer: dict[str, PeerStatus] = Field(default_factory=dict, alias="Peer")
    user: dict[str, UserProfile] = Field(default_factory=dict, alias="User")
    current_tailnet: TailnetInfo | None = Field(default=None, alias="CurrentTailnet")

    @field_validator("peer", "user", mode="before")
    @classmethod
    def _null_map(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("tailscale_ips", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    def user_by_id(self, user_id: int) -> UserProfile | None:
        return self.user.get(str(user_id))


class WhoIsNode(_GoModel):
    id: int = Field(default=0, alias="ID")
    stable_id: str = Field(default="", alias="StableID")
    name: str = Field(default="", alias="Name")
    computed_name: str = Field(default="", alias="ComputedName")
    tags: list[str] = Field(default_factory=list, alias="Tags")

    @field_validator("tags", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def host_name(self) -> str:
        return self.computed_name or self.name.split(".", 1)[0]


class WhoIs(_GoModel):
    """`apitype.WhoIsResponse`: the node and user behind a tailnet address."""

    node: WhoIsNode = Field(alias="Node")
    user_profile: UserProfile = Field(alias="UserProfile")


class LocalAPIClient:
    """Reads status and whois from tailscaled; every call raises `LocalAPIError` on any failure.

    `url` is the proxy sidecar (`http://proxy-prod:8765`) or tailscaled's socket (`unix:///path`).
    """

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url
        if url.startswith("unix://"):
            transport = httpx.AsyncHTTPTransport(uds=url.removeprefix("unix://"))
            base_url = f"http://{LOCALAPI_HOST}"
        else:
            transport = httpx.AsyncHTTPTransport()
            base_url = url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers={"Host": LOCALAPI_HOST, "User-Agent": "cf-analytics"},
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
        )

    async def status(self) -> TailnetStatus:
        """`GET /localapi/v0/status`."""
        payload = await self._get_json("/localapi/v0/status", {})
        try:
            return TailnetStatus.model_validate(payload)
        except ValidationError as exc:
            raise LocalAPIError(f"LocalAPI status is not an ipnstate.Status: {_first_error(exc)}") from None

    async def whois(self, addr: str) -> WhoIs | None:
        """`GET /localapi/v0/whois?addr=`; None when no node has that address."""
        payload = await self._get_json("/localapi/v0/whois", {"addr": addr}, missing_ok=True)
        if payload is None:
            return None
        try:
            return WhoIs.model_validate(payload)
        except ValidationError as exc:
            raise LocalAPIError(f"LocalAPI whois is not a WhoIsResponse: {_first_error(exc)}") from None

    async def _get_json(self, path: str, params: dict[str, str], missing_ok: bool = False) -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise LocalAPIError(f"LocalAPI at {self.url} did not answer {path} in time") from None
        except httpx.HTTPError as exc:
            raise LocalAPIError(f"LocalAPI at {self.url} unreachable for {path}: {exc!r}") from None
        if missing_ok and response.status_code in (400, 404):
            return None
        if response.status_code != 200:
            snippet = response.text[:200].strip()
            raise LocalAPIError(f"LocalAPI {path} answered {response.status_code}: {snippet}")
        try:
            payload = response.json()
        except ValueError:
            raise LocalAPIError(f"LocalAPI {path} answered something that is not JSON") from None
        if not isinstance(payload, dict):
            raise LocalAPIError(f"LocalAPI {path} answered JSON that is not an object")
        return payload

    async def aclose(self) -> None:
        await self._client.aclose()


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"

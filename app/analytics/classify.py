"""Which devices are whose, and how many of the plan's users the tailnet uses.

- own: a device of the tailnet owner;
- tagged: a server (`tag:*`): it belongs to the tailnet, not to a user, and costs no user seat;
- shared-in: a device shared into this tailnet from another one (`ShareeNode`); costs no seat;
- other-user: a device of any other user: each such user takes one of the plan's seats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.analytics.localapi import PeerStatus, TailnetStatus


class DeviceKind(StrEnum):
    OWN = "own"
    TAGGED = "tagged"
    SHARED_IN = "shared-in"
    OTHER_USER = "other-user"


class QuotaLevel(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ALERT = "alert"


@dataclass(frozen=True)
class Device:
    """A node of the tailnet as the analytics see it."""

    node_id: str
    host_name: str
    dns_name: str
    os: str
    ips: tuple[str, ...]
    tags: tuple[str, ...]
    kind: DeviceKind
    user_login: str
    user_name: str
    online: bool
    last_seen: datetime | None
    rx_bytes: int
    tx_bytes: int
    key_expiry: datetime | None
    is_self: bool


@dataclass(frozen=True)
class Quota:
    """Distinct human users other than the owner, against the plan's user limit."""

    limit: int
    used: int
    users: tuple[str, ...]
    level: QuotaLevel
    warning_at: float
    alert_at: float

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def over_limit(self) -> bool:
        return self.used > self.limit


def tailnet_owner(status: TailnetStatus, configured: str, admins: Sequence[str]) -> str:
    """The owner's login: configured, else this node's user (when the node is not tagged), else the
    first admin; empty when none is known (then every human user counts against the quota)."""
    if configured:
        return configured
    node = status.self_node
    if node is not None and not node.tags:
        profile = status.user_by_id(node.user_id)
        if profile is not None and profile.login_name:
            return profile.login_name
    return admins[0] if admins else ""


def device_kind(node: PeerStatus, user_login: str, owner: str) -> DeviceKind:
    if node.tags:
        return DeviceKind.TAGGED
    if node.sharee_node:
        return DeviceKind.SHARED_IN
    if owner and user_login.casefold() == owner.casefold():
        return DeviceKind.OWN
    return DeviceKind.OTHER_USER


def classify(status: TailnetStatus, owner: str) -> list[Device]:
    """Every node of `status` (this node first, then peers by host name), with its kind and user."""
    nodes: list[tuple[PeerStatus, bool]] = []
    if status.self_node is not None:
        nodes.append((status.self_node, True))
    nodes.extend((peer, False) for peer in sorted(status.peer.values(), key=lambda p: p.host_name.lower()))
    devices = []
    for node, is_self in nodes:
        profile = status.user_by_id(node.user_id)
        login = profile.login_name if profile else ""
        devices.append(
            Device(
                node_id=node.node_id,
                host_name=node.host_name,
                dns_name=node.dns_name,
                os=node.os,
                ips=tuple(node.tailscale_ips),
                tags=tuple(node.tags),
                kind=device_kind(node, login, owner),
                user_login=login,
                user_name=profile.display_name if profile else "",
                online=True if is_self else node.online,
                last_seen=node.last_seen,
                rx_bytes=node.rx_bytes,
                tx_bytes=node.tx_bytes,
                key_expiry=node.key_expiry,
                is_self=is_self,
            )
        )
    return devices


def quota(devices: Sequence[Device], limit: int, warning_ratio: float, alert_ratio: float) -> Quota:
    """Seats used: distinct users of other-user devices (tagged, shared-in and own devices are free)."""
    users = sorted({d.user_login or f"user:{d.node_id}" for d in devices if d.kind is DeviceKind.OTHER_USER})
    used = len(users)
    warning_at = warning_ratio * limit
    alert_at = alert_ratio * limit
    if used >= alert_at:
        level = QuotaLevel.ALERT
    elif used >= warning_at:
        level = QuotaLevel.WARNING
    else:
        level = QuotaLevel.OK
    return Quota(
        limit=limit, used=used, users=tuple(users), level=level, warning_at=warning_at, alert_at=alert_at
    )

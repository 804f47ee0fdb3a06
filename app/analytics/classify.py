"""Which devices are whose, and how many seats of the Tailscale plan the tailnet uses.

- own: a device of the tailnet owner;
- tagged: a server (`tag:*`): it belongs to the tailnet, not to a user, and takes no seat;
- infrastructure: an untagged node that routes for others (a subnet router or an exit node, e.g. a
  Headscale router registered under a user): it is the network's, not a person's, and takes no seat;
- shared-in: a device shared into this tailnet from another one (`ShareeNode`); takes no seat;
- other-user: a device of any other user: each such user takes one seat.

Seats follow Tailscale's pricing (https://tailscale.com/pricing and the pricing FAQ,
https://tailscale.com/kb/1251/pricing-faq): a plan is billed per user, every human user of the tailnet
(the owner included) is one seat whatever their number of devices, and tagged devices are not users.
The Personal plan allows 6 users (it was 3 until 2025). `SeatRule` makes both facts settings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.analytics.localapi import PeerStatus, TailnetStatus


class DeviceKind(StrEnum):
    OWN = "own"
    TAGGED = "tagged"
    INFRASTRUCTURE = "infrastructure"
    SHARED_IN = "shared-in"
    OTHER_USER = "other-user"


# Kinds whose user is a person of this tailnet, and so a seat.
HUMAN_KINDS = frozenset({DeviceKind.OWN, DeviceKind.OTHER_USER})


class QuotaLevel(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ALERT = "alert"
    UNKNOWN = "unknown"


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
    subnet_routes: tuple[str, ...] = ()
    exit_node: bool = False
    version: str = ""


@dataclass(frozen=True)
class SeatRule:
    """How the plan counts: `limit` users in all; `owner_takes_seat`: the owner is one of them."""

    limit: int
    owner_takes_seat: bool
    warning_ratio: float
    alert_ratio: float


@dataclass(frozen=True)
class Quota:
    """Seats used against the plan's limit. `used` is None when nothing is known about the tailnet."""

    limit: int
    used: int | None
    users: tuple[str, ...]
    level: QuotaLevel
    warning_at: float
    alert_at: float
    owner_counted: bool

    @property
    def remaining(self) -> int | None:
        return None if self.used is None else max(self.limit - self.used, 0)

    @property
    def over_limit(self) -> bool:
        return self.used is not None and self.used > self.limit


DEFAULT_ROUTES = frozenset({"0.0.0.0/0", "::/0"})


def routes_of(node: PeerStatus) -> tuple[tuple[str, ...], bool]:
    """(subnet routes, exit node) of a node: its approved routes other than its own addresses.

    AllowedIPs holds the node's addresses (/32, /128), its approved subnet routes and, for an exit node,
    0.0.0.0/0 and ::/0; PrimaryRoutes the subnets it currently routes (ipn/ipnstate/ipnstate.go).
    """
    own = set()
    for ip in node.tailscale_ips:
        try:
            own.add(str(ipaddress.ip_network(ip)))
        except ValueError:
            continue
    routes: list[str] = []
    exit_node = node.exit_node_option
    for prefix in [*node.allowed_ips, *node.primary_routes]:
        try:
            network = str(ipaddress.ip_network(prefix, strict=False))
        except ValueError:
            continue
        if network in DEFAULT_ROUTES:
            exit_node = True
        elif network not in own and network not in routes:
            routes.append(network)
    return tuple(routes), exit_node


def _routes_for_others(node: PeerStatus) -> bool:
    routes, exit_node = routes_of(node)
    return bool(routes) or exit_node


def _nodes(status: TailnetStatus) -> list[PeerStatus]:
    return ([status.self_node] if status.self_node is not None else []) + list(status.peer.values())


def human_users(status: TailnetStatus) -> dict[str, datetime | None]:
    """Logins of the users who own untagged, own-tailnet, non-router nodes, with their oldest node's
    creation time (None when unknown)."""
    users: dict[str, datetime | None] = {}
    for node in _nodes(status):
        if node.tags or node.sharee_node or _routes_for_others(node):
            continue
        profile = status.user_by_id(node.user_id)
        if profile is None or not profile.login_name:
            continue
        login = profile.login_name
        oldest = users.get(login)
        if login not in users or (node.created is not None and (oldest is None or node.created < oldest)):
            users[login] = node.created
    return users


def tailnet_owner(status: TailnetStatus, configured: str, admins: Sequence[str]) -> str:
    """The owner's login, from the status itself, never from the order of `admins`:

    1. `configured` (CF_ANALYTICS_TAILNET_OWNER) when set;
    2. the tailnet's name when it is a login (a personal tailnet is named after its owner), if that
       user owns a node here or is an admin;
    3. the one admin among the users who own untagged nodes; with several, the one whose first node
       is the oldest (the owner created the tailnet);
    4. this node's user, when this node is untagged (and no admin owns a node here);
    5. else empty: the status cannot tell (a tagged node, no admins, a domain tailnet).
    """
    if configured:
        return configured
    humans = human_users(status)
    by_fold = {login.casefold(): login for login in humans}
    admin_folds = {admin.casefold() for admin in admins}
    name = status.current_tailnet.name if status.current_tailnet else ""
    if "@" in name and (name.casefold() in by_fold or name.casefold() in admin_folds):
        return by_fold.get(name.casefold(), name)
    admins_here = [login for login in humans if login.casefold() in admin_folds]
    if admins_here:
        return min(admins_here, key=lambda login: (_oldest_key(humans[login]), login.casefold()))
    node = status.self_node
    if node is not None and not node.tags:
        profile = status.user_by_id(node.user_id)
        if profile is not None and profile.login_name in humans:
            return profile.login_name
    return ""


def _oldest_key(created: datetime | None) -> float:
    return created.timestamp() if created is not None else float("inf")


def device_kind(node: PeerStatus, user_login: str, owner: str) -> DeviceKind:
    if node.tags:
        return DeviceKind.TAGGED
    if node.sharee_node:
        return DeviceKind.SHARED_IN
    if _routes_for_others(node):
        return DeviceKind.INFRASTRUCTURE
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
        routes, exit_node = routes_of(node)
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
                subnet_routes=routes,
                exit_node=exit_node,
                # ipnstate.Status carries the Tailscale version of this node only (Status.Version).
                version=status.version if is_self else "",
            )
        )
    return devices


def quota(devices: Sequence[Device], owner: str, rule: SeatRule) -> Quota:
    """Seats used: the distinct users of own and other-user devices (tagged, infrastructure and
    shared-in devices take none), the owner counted or not by `rule`.

    When the owner is known but has no visible device and takes a seat, they are counted all the same.
    When the owner is unknown and takes no seat, one of the visible users is the owner: one fewer.
    """
    humans = sorted({d.user_login or f"user:{d.node_id}" for d in devices if d.kind in HUMAN_KINDS})
    folded_owner = owner.casefold()
    others = [login for login in humans if login.casefold() != folded_owner]
    if rule.owner_takes_seat:
        users = sorted({*humans, owner}) if owner else humans
        used = len(users)
    else:
        users = others
        used = len(others) if owner else max(len(others) - 1, 0)
    return Quota(
        limit=rule.limit,
        used=used,
        users=tuple(users),
        level=level_of(used, rule),
        warning_at=rule.warning_ratio * rule.limit,
        alert_at=rule.alert_ratio * rule.limit,
        owner_counted=rule.owner_takes_seat,
    )


def unknown_quota(rule: SeatRule) -> Quota:
    """No tailnet data at all: nothing can be said about the seats."""
    return Quota(
        limit=rule.limit,
        used=None,
        users=(),
        level=QuotaLevel.UNKNOWN,
        warning_at=rule.warning_ratio * rule.limit,
        alert_at=rule.alert_ratio * rule.limit,
        owner_counted=rule.owner_takes_seat,
    )


def level_of(used: int, rule: SeatRule) -> QuotaLevel:
    if used >= rule.alert_ratio * rule.limit:
        return QuotaLevel.ALERT
    if used >= rule.warning_ratio * rule.limit:
        return QuotaLevel.WARNING
    return QuotaLevel.OK

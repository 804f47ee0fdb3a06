"""Who is asking, and whether they may ask again now.

Identity (the trust model):

- The Tailscale sidecar (`tailscale serve` -> nginx) adds `Tailscale-User-Login` for requests from a
  user's device; `tailscale serve` sets that header itself, so a client cannot supply its own value.
- The app believes that header only when the TCP peer of the request is one of `chat_trusted_proxies`
  (the sidecar's addresses). From any other peer the header is ignored and the identity is the peer's
  address: a client that talks to the app directly cannot pretend to be someone else.
- A trusted proxy's request without the header (a tagged device) is identified by the last
  `X-Forwarded-For` entry, the address the proxy itself appended, else by the proxy's address.

The peer address is the socket's, so the server must not rewrite it from `X-Forwarded-For` on its own
(uvicorn runs with `proxy_headers=False`).

Limits are a sliding window per identity, held in memory: each app process counts its own requests.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import Request

USER_HEADER = "Tailscale-User-Login"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> list[Network]:
    """`chat_trusted_proxies` entries as networks; a bad entry names the setting to fix."""
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ValueError(
                f"CF_CHAT_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR ({error})"
            ) from None
    return networks


def _in_networks(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def identify(request: Request, trusted: Sequence[Network]) -> str:
    """The rate-limit identity of `request`: `user:<login>` or `addr:<address>`."""
    peer = request.client.host if request.client else "unknown"
    if trusted and _in_networks(peer, trusted):
        login = request.headers.get(USER_HEADER, "").strip()
        if login:
            return f"user:{login.lower()}"
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        if forwarded and forwarded[-1]:
            return f"addr:{forwarded[-1]}"
    return f"addr:{peer}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter:
    """At most `requests` per `window_seconds` per identity (sliding window)."""

    def __init__(
        self, requests: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.requests = requests
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._last_sweep = clock()

    def check(self, identity: str) -> Decision:
        """Count a request by `identity` if allowed; otherwise say how long until one is."""
        now = self._clock()
        self._sweep(now)
        hits = self._hits.setdefault(identity, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.requests:
            wait = hits[0] + self.window - now
            return Decision(False, max(1, math.ceil(wait)))
        hits.append(now)
        return Decision(True)

    def _sweep(self, now: float) -> None:
        """Forget identities idle for a whole window, at most once per window."""
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for identity in [i for i, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[identity]

"""How often an identity (app/identity.py) may ask: a sliding window per identity.

Limits are a sliding window per identity, held in memory: each app process counts its own requests.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


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

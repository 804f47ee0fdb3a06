from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.analytics.support import StandInTailscaled, standin_tailscaled


@pytest.fixture
def tailscaled(tmp_path: Path) -> Iterator[StandInTailscaled]:
    """The stand-in LocalAPI on a unix socket, serving a copy of tests/fixtures/tailscale."""
    with standin_tailscaled(tmp_path / "logs", slow_seconds=5.0) as running:
        yield running

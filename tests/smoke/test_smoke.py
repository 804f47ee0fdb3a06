"""The smoke suite, one test per check: `pytest tests/smoke` (SMOKE_BASE_URL=... to aim it elsewhere).

The same checks run after every deploy (`python -m infra.deploy deploy`), from infra/deploy/smoke.py.
"""

from __future__ import annotations

import httpx
import pytest

from infra.deploy.smoke import CHECKS, SmokeTarget, run_check


@pytest.mark.parametrize("check", list(CHECKS))
def test_smoke(check: str, smoke_http: httpx.Client, smoke_target: SmokeTarget) -> None:
    result = run_check(check, smoke_http, smoke_target)
    assert result.passed, f"{check}: {result.detail}"

"""Fixtures of the resilience tests: the app under a real uvicorn (one worker) with stand-ins and data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.app_stack import module_exists


def require_module(name: str, what: str) -> None:
    """Fail, naming the missing piece, when a module a resilience test drives is not in the repository."""
    if not module_exists(name):
        pytest.fail(f"{name} is not in the repository: {what} cannot be tested without it")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path

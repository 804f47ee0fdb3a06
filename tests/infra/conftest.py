"""Each stack file runs once per session under mocks; tests read the captured resources."""

from __future__ import annotations

import pytest

from tests.infra.harness import StackRun, run_stack

STACKS = ("dev", "prod", "local")


@pytest.fixture(scope="session")
def runs() -> dict[str, StackRun]:
    return {stack: run_stack(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def run(request: pytest.FixtureRequest, runs: dict[str, StackRun]) -> StackRun:
    return runs[request.param]

"""One policy-pack process per test session, started and called the way the engine does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.policy.engine import Analyzer, EngineLog, RunningPack, fake_engine, start_pack


@pytest.fixture(scope="session")
def pack_dir(repo_root: Path) -> Path:
    return repo_root / "infra" / "policy"


@pytest.fixture(scope="session")
def engine() -> Iterator[tuple[str, EngineLog]]:
    with fake_engine() as started:
        yield started


@pytest.fixture(scope="session")
def running_pack(pack_dir: Path, engine: tuple[str, EngineLog], artifacts_dir: Path) -> Iterator[RunningPack]:
    address, _ = engine
    with start_pack(pack_dir, address, artifacts_dir / "policy-pack.log") as running:
        yield running


@pytest.fixture(scope="session")
def analyzer(running_pack: RunningPack, pack_dir: Path, engine: tuple[str, EngineLog]) -> Iterator[Analyzer]:
    address, _ = engine
    with grpc.insecure_channel(f"127.0.0.1:{running_pack.port}") as channel:
        client = Analyzer(channel, pack_dir, address)
        client.start()
        yield client


@pytest.fixture
def default_config(analyzer: Analyzer) -> Iterator[Analyzer]:
    """The session's analyzer, configured back to the pack's defaults after the test."""
    yield analyzer
    analyzer.configure(None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    import json

    from tests.policy.report import FIRED_OVER_GRPC, RESULTS, as_json

    if not RESULTS and not FIRED_OVER_GRPC:
        return
    terminalreporter.section("policy pack")
    for result in RESULTS:
        terminalreporter.write_line(result.line())
    if FIRED_OVER_GRPC:
        terminalreporter.write_line(
            f"{len(FIRED_OVER_GRPC)} policies fired on their violating fixtures over gRPC"
        )
    artifacts = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "policy-report.json").write_text(json.dumps(as_json(), indent=2) + "\n")

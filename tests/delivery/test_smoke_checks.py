"""The smoke checks judge what a deployed app answers; here against a stand-in app on a real port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.deploy.__main__ import main
from infra.deploy.smoke import SmokeTarget, normalize_digest, run_smoke
from tests.delivery.environment import Behaviour, FakeAppServer

RUNNING = "sha256:" + "d" * 64
OTHER = "sha256:" + "e" * 64


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def app(behaviour: Behaviour) -> Iterator[FakeAppServer]:
    with FakeAppServer(behaviour) as server:
        server.running = RUNNING
        yield server


def test_a_healthy_app_passes_every_check(app: FakeAppServer) -> None:
    report = run_smoke(SmokeTarget(base_url=app.url, expected_digest=RUNNING))
    assert report.passed, report.summary()
    assert [r.name for r in report.results] == [
        "health",
        "readiness",
        "dashboard",
        "vpn-page",
        "chat-health",
        "analytics",
        "version",
    ]


def test_an_app_that_is_not_ready_fails_and_says_why(app: FakeAppServer, behaviour: Behaviour) -> None:
    behaviour.smoke_broken.add(RUNNING)
    report = run_smoke(SmokeTarget(base_url=app.url, expected_digest=RUNNING))
    assert not report.passed
    assert [r.name for r in report.failures] == ["readiness"]
    assert "database unreachable" in report.summary()


def test_another_digest_than_the_one_deployed_fails_the_version_check(app: FakeAppServer) -> None:
    report = run_smoke(SmokeTarget(base_url=app.url, expected_digest=OTHER))
    assert [r.name for r in report.failures] == ["version"]
    assert OTHER in report.failures[0].detail


def test_the_version_check_never_passes_without_an_expectation(app: FakeAppServer) -> None:
    report = run_smoke(SmokeTarget(base_url=app.url))
    assert [r.name for r in report.failures] == ["version"]
    assert "SMOKE_EXPECTED_DIGEST" in report.failures[0].detail


def test_nothing_listening_fails_every_check_quickly() -> None:
    report = run_smoke(SmokeTarget(base_url="http://127.0.0.1:9", expected_digest=RUNNING, timeout=1))
    assert len(report.failures) == len(report.results) == 7
    assert "did not answer" in report.failures[0].detail


def test_digests_are_compared_whatever_way_they_are_written() -> None:
    assert normalize_digest(f"registry:5000/app@{RUNNING}") == RUNNING
    assert normalize_digest("d" * 64) == RUNNING


def test_target_from_env_requires_a_base_url() -> None:
    with pytest.raises(ValueError, match="SMOKE_BASE_URL"):
        SmokeTarget.from_env({})
    target = SmokeTarget.from_env({"SMOKE_BASE_URL": "http://127.0.0.1:1", "SMOKE_EXPECTED_DIGEST": RUNNING})
    assert target.expected_digest == RUNNING and target.expected_version is None


def test_the_smoke_command_exits_non_zero_on_a_broken_app(
    app: FakeAppServer, behaviour: Behaviour, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["smoke", "--base-url", app.url, "--expect-digest", RUNNING]) == 0
    behaviour.smoke_broken.add(RUNNING)
    assert main(["smoke", "--base-url", app.url, "--expect-digest", RUNNING]) == 1
    assert "FAIL readiness" in capsys.readouterr().out

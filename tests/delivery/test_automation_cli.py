"""`AutomationStack` drives the `pulumi` CLI through the Automation API; here a stand-in CLI answers.

What it proves: the digest is set as a path key of the `app` object, `up` gets the app targets with
`--target-dependents`, outputs are read back, and a fresh checkout (the stack file without the
deploy's keys) finds the last digest and the good list in the stack's update history.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.deploy.automation import REPO_ROOT, AutomationStack
from infra.deploy.keys import GOOD_DIGESTS_KEY, IMAGE_DIGEST_KEY
from infra.deploy.release import Outcome, ReleaseOptions, Releaser
from infra.deploy.stack import StackUpError
from tests.delivery.environment import Behaviour, FakeAppServer

GOOD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64
TARGETS = ["urn:pulumi:dev::chocolate-factory::chocolate:index:AppEnvironment::dev"]


@pytest.fixture
def state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` on PATH that is the stand-in CLI, with its state in a file of this test."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "pulumi"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tests.delivery.pulumi_cli "$@"\n')
    shim.chmod(0o755)
    state = tmp_path / "pulumi-state.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PULUMI_STANDIN_STATE", str(state))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    return state


@pytest.fixture
def server() -> Iterator[FakeAppServer]:
    with FakeAppServer(Behaviour()) as running:
        yield running


def read(state_file: Path) -> dict[str, Any]:
    return dict(json.loads(state_file.read_text()))


def test_a_deploy_sets_the_path_key_and_ups_only_the_app_targets(state_file: Path) -> None:
    stack = AutomationStack("dev", REPO_ROOT, echo=lambda line: None)

    assert stack.get_config(IMAGE_DIGEST_KEY) is None
    stack.set_config(IMAGE_DIGEST_KEY, NEW)
    stack.up(TARGETS)

    state = read(state_file)
    assert state["config"]["chocolate-factory:app"]["imageDigest"] == NEW
    assert state["config"]["chocolate-factory:app"]["imageRepository"], "the rest of the object is kept"
    up = next(call for call in state["calls"] if "up" in call[:2])
    assert up[up.index("--target") + 1] == TARGETS[0] and "--target-dependents" in up
    assert stack.outputs()["appImageDigest"] == NEW


def test_a_failed_up_raises_with_the_engines_words(state_file: Path) -> None:
    stack = AutomationStack("dev", REPO_ROOT, echo=lambda line: None)
    stack.set_config(IMAGE_DIGEST_KEY, NEW)
    state = read(state_file)
    state["fail_up_for"] = [NEW]
    state_file.write_text(json.dumps(state))

    with pytest.raises(StackUpError, match="not found"):
        stack.up(TARGETS)


def test_a_fresh_checkout_reverts_to_the_digest_the_last_job_deployed(
    state_file: Path, server: FakeAppServer
) -> None:
    def job() -> Releaser:
        stack = AutomationStack("dev", REPO_ROOT, echo=lambda line: None)
        return Releaser(stack, TARGETS, ReleaseOptions(base_url=server.url, health_timeout=2))

    server.running = GOOD
    assert job().deploy(GOOD).outcome is Outcome.DEPLOYED

    # The next job runs in a fresh checkout: the committed stack file has none of the deploy's keys.
    state = read(state_file)
    state["config"]["chocolate-factory:app"].pop("imageDigest")
    state["config"].pop(GOOD_DIGESTS_KEY)
    state_file.write_text(json.dumps(state))

    # The app keeps answering as GOOD: NEW fails the version check, and the revert must find GOOD.
    release = job().deploy(NEW)

    assert release.outcome is Outcome.REVERTED, release.account()
    assert f"running now: {IMAGE_DIGEST_KEY} = {GOOD}" in release.account()
    updates = [entry["config"]["chocolate-factory:app"]["value"] for entry in read(state_file)["history"]]
    assert [json.loads(config)["imageDigest"] for config in reversed(updates)] == [GOOD, NEW, GOOD]

"""A broken stack file fails with one message that names the file, every bad key and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError, load_stack, read_stack_file
from tests.infra.harness import run_stack


def _write_stack(tmp_path: Path, stack: str, config: dict[str, object]) -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def test_every_problem_is_reported_at_once_naming_file_and_keys(tmp_path: Path) -> None:
    config = read_stack_file(Path("stacks/Pulumi.dev.yaml"))
    config["chocolate-factory:nodes"] = {
        "dev": {"tailnetHostname": "dev-node", "sshUser": 42, "dockerHost": "tcp://x"}
    }
    config["chocolate-factory:environments"] = [{"name": "dev", "node": "devv", "hostname": "factory-dev"}]
    config["chocolate-factory:app"] = {"imageDigest": "latest"}
    config["chocolate-factory:colour"] = "brown"
    del config["chocolate-factory:runnerSecret-dev"]
    _write_stack(tmp_path, "dev", config)

    with pytest.raises(ConfigError) as caught:
        load_stack("dev", tmp_path)

    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/Pulumi.dev.yaml: ")
    for expected in (
        "chocolate-factory:colour: unknown key",
        "chocolate-factory:nodes.dev.sshUser: Input should be a valid string (got 42)",
        "chocolate-factory:nodes.dev.dockerHost: Value error, expected an ssh://user@host or unix:///",
        "chocolate-factory:app.imageRepository: missing; "
        "expected registry/repository the app image is pushed to",
        "chocolate-factory:app.imageDigest: String should match pattern",
    ):
        assert expected in message
    assert len(caught.value.problems) == 5


def test_dangling_references_and_missing_secrets_are_reported_together(tmp_path: Path) -> None:
    config = read_stack_file(Path("stacks/Pulumi.dev.yaml"))
    config["chocolate-factory:environments"] = [{"name": "dev", "node": "devv", "hostname": "factory-dev"}]
    del config["chocolate-factory:runnerSecret-dev"]
    del config["chocolate-factory:tailscaleOauthClientSecret"]
    _write_stack(tmp_path, "dev", config)

    with pytest.raises(ConfigError) as caught:
        load_stack("dev", tmp_path)

    assert caught.value.problems == [
        "chocolate-factory:environments.0.node: node 'devv' is not declared; expected one of ['dev']",
        "chocolate-factory:tailscaleOauthClientSecret: missing secret; set it with "
        "`pulumi config set --secret tailscaleOauthClientSecret <value>`",
        "chocolate-factory:runnerSecret-dev: missing secret; set it with "
        "`pulumi config set --secret runnerSecret-dev <value>`",
    ]


def test_a_stack_without_a_tailnet_must_publish_on_loopback_and_cannot_own_the_policy(tmp_path: Path) -> None:
    config = read_stack_file(Path("stacks/Pulumi.local.yaml"))
    config["chocolate-factory:tailnet"] = {"enabled": False, "ownsPolicy": True}
    config["chocolate-factory:environments"] = [{"name": "local", "node": "local"}]
    _write_stack(tmp_path, "local", config)

    with pytest.raises(ConfigError) as caught:
        load_stack("local", tmp_path)

    assert caught.value.problems == [
        "chocolate-factory:tailnet.ownsPolicy: a stack without a tailnet cannot own its policy",
        "chocolate-factory:environments.0.localPort: missing; "
        "expected the 127.0.0.1 port (the stack has no tailnet)",
    ]


def test_the_program_itself_refuses_a_broken_config_before_declaring_anything() -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack(
            "prod", {"tailnet": {"enabled": True, "ownsPolicy": True}, "images": {"nginx": "nginx:latest"}}
        )
    assert str(caught.value).startswith("stacks/Pulumi.prod.yaml: ")
    assert caught.value.problems == [
        "chocolate-factory:images.nginx: expected an explicit version tag or a digest, not 'nginx:latest'",
        "chocolate-factory:tailnet.name: missing; expected it when tailnet.enabled is true",
        "chocolate-factory:tailnet.oauthClientId: missing; expected it when tailnet.enabled is true",
        "chocolate-factory:tailnet.admins: expected at least one admin login (the policy owner)",
        "chocolate-factory:tailnet.dashboardUsers: expected at least one login (the policy tests one)",
    ]


def test_the_real_stack_files_are_valid() -> None:
    for stack in ("dev", "prod", "local"):
        load_stack(stack)

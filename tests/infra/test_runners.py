"""The runners the program declares: untrusted jobs and deploy credentials never meet.

Pull requests run on the `ci` runner, which holds nothing worth stealing and starts each job in a
fresh container on a rootless job engine; deploy runners run only their environment's deploy job.
Each test reads what `docker inspect` would show of the runner containers: files, environment,
mounts, and the runner's own config.yml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, load_stack, read_stack_file
from infra.images import PINNED
from tests.infra.harness import CapturedResource, StackRun
from tests.infra.helpers import AUTH_KEY, DOCKER_PROVIDER, envs, uploads

CONFIG_FILE = "/etc/forgejo-runner/config.yml"
SECRET_FILE = "/run/secrets/runner-secret"
PROXY = {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}
# What a deploy needs and the ci runner must never hold: the stacks' passphrase, the registry login,
# an SSH key or config for a node's Docker engine, the Claude key.
DEPLOY_CREDENTIALS = ("PASSPHRASE", "REGISTRY", "SSH", "ANTHROPIC", "PULUMI", "id_ed25519", "id_rsa")


def runner_config(run: StackRun, runner: CapturedResource) -> dict[str, Any]:
    return dict(yaml.safe_load(uploads(run, runner)[CONFIG_FILE]["content"]))


def all_runners(runs: dict[str, StackRun]) -> list[tuple[str, CapturedResource]]:
    return [(stack, c) for stack, run in runs.items() for c in run.containers if c.name.startswith("runner-")]


def test_pull_requests_have_a_runner_of_their_own_that_holds_no_deploy_credential(
    runs: dict[str, StackRun],
) -> None:
    runner = runs["dev"].container("runner-ci")
    assert runner_config(runs["dev"], runner)["runner"]["labels"] == [f"ci:docker://{PINNED['python-base']}"]
    # Exactly two files: its registration secret and its config. No key, no passphrase, no login.
    assert set(uploads(runs["dev"], runner)) == {SECRET_FILE, CONFIG_FILE}
    assert set(envs(runner)) == PROXY | {"DOCKER_HOST", "HOME"}
    inspected = yaml.safe_dump(runner.inputs)
    for credential in DEPLOY_CREDENTIALS:
        assert credential not in inspected, f"runner-ci holds {credential}"
    # Its sidecar is `tag:ci` only: Forgejo and the registry, never a node's SSH port (tag:ci-<env>).
    keys = {k.name: k.inputs["tags"] for k in runs["dev"].of_type(AUTH_KEY)}
    assert keys["ts-runner-ci-authkey"] == ["tag:ci"]
    assert keys["ts-runner-dev-authkey"] == ["tag:ci", "tag:ci-dev"]


def test_the_ci_runner_starts_every_job_in_a_fresh_container_on_a_rootless_engine(
    runs: dict[str, StackRun],
) -> None:
    runner = runs["dev"].container("runner-ci")
    config = runner_config(runs["dev"], runner)
    (label,) = config["runner"]["labels"]
    assert label.startswith("ci:docker://"), "a host-mode label would run jobs in the runner's container"
    # The engine it drives is the dev node's rootless engine (user uid 1500), not the node's own
    # engine, which the program reaches as root over SSH.
    provider = runs["dev"].by_urn(runner.provider or "")
    assert provider.type == DOCKER_PROVIDER and provider.inputs["host"] == "ssh://deploy@dev-node"
    assert envs(runner)["DOCKER_HOST"] == "unix:///run/job-engine/docker.sock"
    assert runner.inputs["volumes"] == [{"hostPath": "/run/user/1500", "containerPath": "/run/job-engine"}]
    assert runner.inputs["user"] == "1500:1500", "only the engine's user may enter its runtime directory"
    # Jobs get nothing of the runner: no socket, no mount, no extra option, their own network.
    jobs = config["container"]
    assert jobs == {
        "network": "",
        "docker_host": "-",
        "privileged": False,
        "options": "",
        "valid_volumes": [],
        "force_pull": False,
    }
    assert config["runner"]["capacity"] == 1
    assert config["runner"]["envs"] == {}, "the runner's proxy is not reachable from a job container"


def test_no_job_can_reach_a_runners_registration_secret(runs: dict[str, StackRun]) -> None:
    """The secret, and the credentials file written from it, exist only in the runner's container.

    Jobs get `runner.envs` (proxy settings only, never the secret or DOCKER_HOST). A ci job runs in
    another container, on another engine, mounting nothing: the secret file, `/data/.runner` (a tmpfs
    of the runner's) and the engine socket are out of its reach.
    """
    runners = all_runners(runs)
    assert {c.name for _, c in runners} >= {"runner-ci", "runner-dev", "runner-prod", "runner-local"}
    for stack, runner in runners:
        config = runner_config(runs[stack], runner)
        assert set(config["runner"]["envs"]) <= PROXY, f"{runner.name} hands jobs {config['runner']['envs']}"
        # What each runner container gets, all of it: two files, and proxy (plus, for ci, engine) env.
        assert set(uploads(runs[stack], runner)) == {SECRET_FILE, CONFIG_FILE}, runner.name
        engine = {"DOCKER_HOST", "HOME"} if runner.name == "runner-ci" else set()
        assert set(envs(runner)) - PROXY == engine, runner.name
        assert config["runner"]["file"] == "/data/.runner"
        secret = uploads(runs[stack], runner)[SECRET_FILE]
        assert (secret["permissions"], "uploads" in runner.secret_properties) == ("0400", True)
        assert runner.inputs["user"].split(":")[0] == secret["owner"], "only the runner's own uid reads it"
        holders = [c.name for c in runs[stack].containers if secret["content"] in yaml.safe_dump(c.inputs)]
        assert holders == [runner.name], f"{secret['content']} is in {holders}"
        assert secret["content"] not in yaml.safe_dump(envs(runner)), "never in the environment"
    ci = runs["dev"].container("runner-ci")
    assert ci.inputs["tmpfs"] == {"/data": "rw,noexec,nosuid,size=64m"}, "credentials on a tmpfs"
    assert runner_config(runs["dev"], ci)["container"]["valid_volumes"] == []


def test_deploy_runners_serve_only_their_own_deploy_label(runs: dict[str, StackRun]) -> None:
    labels = {
        runner.name: runner_config(runs[stack], runner)["runner"]["labels"]
        for stack, runner in all_runners(runs)
    }
    assert labels == {
        "runner-ci": labels["runner-ci"],
        "runner-dev": ["deploy-dev:host"],
        "runner-prod": ["deploy-prod:host"],
        "runner-local": ["deploy-local:host"],
    }
    assert labels["runner-ci"][0].startswith("ci:docker://")


def _dev_stack_with_runners(tmp_path: Path, runners: list[dict[str, object]]) -> Path:
    config = read_stack_file(Path("stacks/Pulumi.dev.yaml"))
    config["chocolate-factory:runners"] = runners
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


@pytest.mark.parametrize(
    ("runner", "message"),
    [
        (
            {"env": "ci", "node": "dev", "kind": "ci"},
            "chocolate-factory:runners.1.jobEngine: missing; a ci runner starts each job in a fresh "
            "container on the node's rootless job engine",
        ),
        (
            {"env": "ci", "node": "dev", "kind": "ci", "jobEngine": "unix:///var/run/docker.sock"},
            "chocolate-factory:runners.1.jobEngine: Value error, expected the socket of a rootless Docker "
            "engine, unix:///run/user/<uid>/docker.sock",
        ),
        (
            {"env": "ci", "node": "dev", "kind": "ci", "jobEngine": "unix:///run/user/0/docker.sock"},
            "chocolate-factory:runners.1.jobEngine: Value error, expected the socket of a rootless Docker",
        ),
        (
            {"env": "dev2", "node": "dev", "jobEngine": "unix:///run/user/1500/docker.sock"},
            "chocolate-factory:runners.1.jobEngine: only a ci runner has a job engine",
        ),
        (
            {"env": "prod", "node": "dev", "kind": "ci", "jobEngine": "unix:///run/user/1500/docker.sock"},
            "chocolate-factory:runners.1.env: a ci runner is named 'ci', not after an environment",
        ),
    ],
)
def test_a_runner_that_would_mix_untrusted_jobs_and_the_node_is_refused_with_its_key(
    tmp_path: Path, runner: dict[str, object], message: str
) -> None:
    deploy = {"env": "dev", "node": "dev", "forgejoUrl": "https://git.tailfa57c0.ts.net"}
    directory = _dev_stack_with_runners(
        tmp_path, [deploy, {"forgejoUrl": "https://git.tailfa57c0.ts.net", **runner}]
    )
    with pytest.raises(ConfigError) as caught:
        load_stack("dev", directory)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{tmp_path}/Pulumi.dev.yaml: ")

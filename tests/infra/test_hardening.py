"""Every container of every stack carries the platform's guard rails (what the policy pack enforces)."""

from __future__ import annotations

from infra.images import PINNED, ROOT_IMAGES
from tests.infra.harness import StackRun
from tests.infra.helpers import VOLUME


def _root_image_names(image: str) -> set[str]:
    return {name for name in ROOT_IMAGES if PINNED[name] == image}


def test_no_container_is_privileged_or_adds_capabilities(run: StackRun) -> None:
    for c in run.containers:
        assert c.inputs.get("privileged") in (None, False), c.name
        assert not (c.inputs.get("capabilities") or {}).get("adds"), c.name
        assert "no-new-privileges:true" in c.inputs["securityOpts"], c.name
        assert not c.inputs.get("devices"), c.name


def test_no_container_mounts_the_docker_socket(run: StackRun) -> None:
    for c in run.containers:
        paths = [
            v.get("hostPath", "") + " " + v.get("containerPath", "") for v in c.inputs.get("volumes") or []
        ]
        paths += [m.get("source", "") + " " + m.get("target", "") for m in c.inputs.get("mounts") or []]
        assert not [p for p in paths if "docker.sock" in p], c.name
        binds = [v for v in c.inputs.get("volumes") or [] if v.get("hostPath")]
        # The one bind mount: the ci runner's rootless job engine (its user's runtime directory).
        allowed = (
            [{"hostPath": "/run/user/1500", "containerPath": "/run/job-engine"}]
            if c.name == "runner-ci"
            else []
        )
        assert binds == allowed, f"{c.name} bind-mounts the host"


def test_containers_run_as_non_root_except_the_reviewed_images(run: StackRun) -> None:
    for c in run.containers:
        user = c.inputs.get("user")
        if user is None:
            assert _root_image_names(c.inputs["image"]), (
                f"{c.name} runs as root but its image is not reviewed"
            )
        else:
            assert user.split(":")[0] not in ("0", "root"), c.name


def test_every_container_has_health_check_restart_policy_log_rotation_and_memory_limit(run: StackRun) -> None:
    for c in run.containers:
        inputs = c.inputs
        assert inputs["healthcheck"]["tests"][0] == "CMD", c.name
        assert inputs["restart"] == "unless-stopped", c.name
        assert inputs["logDriver"] == "json-file", c.name
        assert inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}, c.name
        assert 0 < inputs["memory"] <= 2048, c.name


def test_ports_are_published_on_loopback_only_and_only_without_a_tailnet(runs: dict[str, StackRun]) -> None:
    for stack, run in runs.items():
        published = {
            (c.name, p["ip"], p["external"]) for c in run.containers for p in c.inputs.get("ports") or []
        }
        if stack == "local":
            assert published == {
                ("forgejo", "127.0.0.1", 3000),
                ("registry", "127.0.0.1", 5000),
                ("web-local", "127.0.0.1", 8080),
            }
        else:
            assert published == set(), f"{stack} publishes ports; the tailnet is the only way in"


def test_volumes_that_hold_data_survive_a_destroy(runs: dict[str, StackRun]) -> None:
    retained = {
        (stack, v.name)
        for stack, run in runs.items()
        for v in run.of_type(VOLUME)
        if v.retain_on_delete or v.protect
    }
    for stack, data in (
        ("prod", {"forgejo-data", "registry-data", "app-prod-data"}),
        ("dev", {"app-dev-data"}),
        ("local", {"forgejo-data", "registry-data", "app-local-data"}),
    ):
        assert {(stack, name) for name in data} <= retained
    assert ("dev", "web-dev-logs") not in retained

"""Every container of every stack carries the platform's guard rails (what the policy pack enforces)."""

from __future__ import annotations

from infra.images import ADDED_CAPABILITIES, PINNED, ROOT_IMAGES, WRITABLE_ROOT_IMAGES
from tests.infra.harness import StackRun
from tests.infra.helpers import VOLUME, files_holder


def _root_image_names(image: str) -> set[str]:
    return {name for name in ROOT_IMAGES if PINNED[name] == image}


def _image_name(image: object) -> str | None:
    """The infra/images.py name of a pinned image reference (None for the images the program builds)."""
    return next((name for name, reference in PINNED.items() if reference == image), None)


def test_no_container_is_privileged_and_each_drops_every_capability_it_does_not_need(run: StackRun) -> None:
    for c in run.containers:
        assert c.inputs.get("privileged") in (None, False), c.name
        assert "no-new-privileges:true" in c.inputs["securityOpts"], c.name
        assert not c.inputs.get("devices"), c.name
        capabilities = c.inputs.get("capabilities") or {}
        assert capabilities.get("drops") == ["ALL"], f"{c.name} keeps Docker's default capabilities"
        granted = ADDED_CAPABILITIES.get(_image_name(c.inputs["image"]) or "", ((), ""))[0]
        assert set(capabilities.get("adds") or ()) <= set(granted), c.name
    web = [c for c in run.containers if c.name.startswith("web-")]
    assert [c.inputs["capabilities"]["adds"] for c in web] == [["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"]], (
        "as docker inspect reports them, or every up replaces nginx"
    )


def test_every_container_has_a_read_only_root_except_the_reviewed_images(run: StackRun) -> None:
    writable = {PINNED[name] for name in WRITABLE_ROOT_IMAGES}
    for c in run.containers:
        if c.inputs.get("readOnly") is not True:
            assert c.inputs["image"] in writable, f"{c.name} writes its root file system"
    runners = {c.name for c in run.containers if c.inputs["image"] == PINNED["forgejo-runner"]}
    assert f"runner-{run.stack}" in runners or run.stack == "local"
    assert {c.name for c in run.containers if not c.inputs.get("readOnly")} == runners


def test_a_read_only_container_finds_its_files_in_volumes_its_never_started_holder_filled(
    run: StackRun,
) -> None:
    for c in run.containers:
        holder = files_holder(run, c)
        if holder is c:
            continue
        assert not c.inputs.get("uploads"), f"{c.name}: Docker refuses uploads to a read-only root"
        assert holder.inputs["start"] is False and holder.inputs["mustRun"] is False
        directories = {u["file"].rsplit("/", 1)[0] for u in holder.inputs["uploads"]}
        filled = {v["containerPath"]: v["volumeName"] for v in holder.inputs["volumes"]}
        mounted = {v["containerPath"]: (v["volumeName"], v["readOnly"]) for v in c.inputs["volumes"]}
        assert set(filled) == directories, c.name
        for directory, volume in filled.items():
            assert mounted[directory] == (volume, True), f"{c.name} mounts {directory} writable"
        labels = {entry["label"]: entry["value"] for entry in c.inputs["labels"]}
        assert len(labels["chocolate-factory.files-digest"]) == 64, "a change of the files replaces it"


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

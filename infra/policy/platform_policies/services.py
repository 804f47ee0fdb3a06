"""Policies 9-11: how Forgejo, the registry and the runners are configured."""

from __future__ import annotations

import configparser
import ipaddress
import json
import posixpath
import re
from typing import Any, Final

import yaml
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .containers import socket_mounts
from .resources import CONTAINER, Container
from .values import UNKNOWN, entries, is_unknown, known_str, mapping

# Go's strconv.ParseBool, which Forgejo uses for its settings.
_GO_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def _container_with_role(args: ResourceValidationArgs, role: str) -> Container | None:
    if args.resource_type != CONTAINER:
        return None
    container = Container.of(args.name, args.props)
    return container if container.role() == role else None


def _app_ini(container: Container) -> configparser.ConfigParser | None:
    for file, content in container.uploads():
        if file.endswith("app.ini"):
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read_string("[DEFAULT]\n" + content)
            except configparser.Error:
                return None
            return parser
    return None


def forgejo_setting(container: Container, section: str, key: str) -> Any:
    """A Forgejo setting as the container would see it: FORGEJO__section__KEY wins over app.ini."""
    found: Any = None
    for name, value in container.envs():
        parts = name.split("__")
        if (
            len(parts) == 3
            and parts[0].upper() in ("FORGEJO", "GITEA")
            and parts[1].lower() == section.lower()
            and parts[2].upper() == key.upper()
        ):
            found = value
    if found is not None:
        return found
    ini = _app_ini(container)
    if ini is not None and ini.has_option(section, key):
        return ini.get(section, key).strip()
    if container.has_unknown_envs() or container.has_unknown_uploads():
        return UNKNOWN
    return None


def _validate_forgejo(args: ResourceValidationArgs, report: ReportViolation) -> None:
    container = _container_with_role(args, "forgejo")
    if container is None:
        return
    for section, key, what in (
        ("service", "DISABLE_REGISTRATION", "leaves registration open"),
        ("security", "INSTALL_LOCK", "leaves the install page open"),
    ):
        value = forgejo_setting(container, section, key)
        if not is_unknown(value) and value not in _GO_TRUE:
            report(
                f"forgejo container '{container.name}' {what}: {section}.{key} is "
                f"{'unset' if value is None else repr(value)}, not true.",
                None,
            )


FORGEJO_CLOSED: Final = ResourceValidationPolicy(
    name="forgejo-registration-disabled-and-install-locked",
    description=(
        "Forgejo accepts no self-registration and its web installer is locked. Fix: set "
        "FORGEJO__service__DISABLE_REGISTRATION=true and FORGEJO__security__INSTALL_LOCK=true in the "
        "Forgejo container's envs; create accounts with `forgejo admin user create`."
    ),
    validate=_validate_forgejo,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _registry_config(container: Container) -> dict[str, Any]:
    for file, content in container.uploads():
        if file.endswith((".yml", ".yaml")):
            try:
                loaded = yaml.safe_load(content)
            except yaml.YAMLError:
                continue
            if isinstance(loaded, dict) and ("auth" in loaded or "storage" in loaded):
                return loaded
    return {}


def _validate_registry(args: ResourceValidationArgs, report: ReportViolation) -> None:
    container = _container_with_role(args, "registry")
    if container is None:
        return
    env_names = ("REGISTRY_AUTH", "REGISTRY_AUTH_HTPASSWD_REALM", "REGISTRY_AUTH_HTPASSWD_PATH")
    env = {name: container.env(name) for name in env_names}
    if any(is_unknown(value) for value in env.values()):
        return
    if container.has_unknown_uploads():
        return
    htpasswd = mapping(mapping(_registry_config(container).get("auth")).get("htpasswd"))
    realm = env["REGISTRY_AUTH_HTPASSWD_REALM"] or htpasswd.get("realm")
    path = env["REGISTRY_AUTH_HTPASSWD_PATH"] or htpasswd.get("path")
    if is_unknown(realm) or is_unknown(path):
        return
    missing = []
    kind = env["REGISTRY_AUTH"]
    if kind is not None and kind != "htpasswd":
        missing.append(f"REGISTRY_AUTH is {kind!r}")
    elif kind is None and not htpasswd:
        missing.append("REGISTRY_AUTH=htpasswd")
    if not realm:
        missing.append("REGISTRY_AUTH_HTPASSWD_REALM")
    if not path:
        missing.append("REGISTRY_AUTH_HTPASSWD_PATH")
    if missing:
        report(
            f"registry container '{container.name}' does not require htpasswd auth: "
            + "; ".join(missing)
            + ".",
            None,
        )


REGISTRY_HTPASSWD: Final = ResourceValidationPolicy(
    name="registry-requires-htpasswd-auth",
    description=(
        "The image registry requires htpasswd (bcrypt) authentication. Fix: set REGISTRY_AUTH=htpasswd, "
        "REGISTRY_AUTH_HTPASSWD_REALM=<realm> and REGISTRY_AUTH_HTPASSWD_PATH=<file> on the registry "
        "container, and upload the htpasswd file (bcrypt entries from a Pulumi secret) to that path."
    ),
    validate=_validate_registry,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _runner_configs(container: Container) -> list[tuple[str, dict[str, Any]]]:
    configs = []
    for file, content in container.uploads():
        if not file.endswith((".yml", ".yaml")):
            continue
        try:
            loaded = yaml.safe_load(content)
        except yaml.YAMLError:
            continue
        if isinstance(loaded, dict) and ("runner" in loaded or "container" in loaded):
            configs.append((file, loaded))
    return configs


# The runs-on label of untrusted jobs (pull requests): infra.config.CI_LABEL. Such a job must never run
# in the runner's own container (`ci:host`), where it could read the runner's registration secret.
_UNTRUSTED_LABEL: Final = "ci"


def _runner_config_problems(file: str, config: dict[str, Any]) -> list[str]:
    jobs = mapping(config.get("container"))
    problems = []
    for label in entries(mapping(config.get("runner")).get("labels")):
        name, _, backend = str(label).partition(":")
        if name == _UNTRUSTED_LABEL and not backend.startswith("docker://"):
            problems.append(
                f"{file} runs untrusted jobs (label {label!r}) in the runner's own container; "
                f"expected '{_UNTRUSTED_LABEL}:docker://<image>', a fresh container per job"
            )
    if jobs.get("privileged") is True:
        problems.append(f"{file} runs jobs privileged (container.privileged: true)")
    options = str(jobs.get("options") or "")
    if "--privileged" in options:
        problems.append(f"{file} passes --privileged to jobs (container.options)")
    if "docker.sock" in options:
        problems.append(f"{file} mounts the Docker socket into jobs (container.options)")
    docker_host = jobs.get("docker_host")
    if isinstance(docker_host, str) and docker_host not in ("", "-"):
        problems.append(f"{file} hands jobs the Docker daemon {docker_host} (container.docker_host)")
    for volume in entries(jobs.get("valid_volumes")):
        if isinstance(volume, str) and ("docker.sock" in volume or volume.strip() in ("**", "/**")):
            problems.append(f"{file} lets jobs mount {volume} (container.valid_volumes)")
    return problems


# A rootless Docker engine's socket lives in its user's runtime directory (Docker's rootless mode:
# $XDG_RUNTIME_DIR/docker.sock, https://docs.docker.com/engine/security/rootless/). Whoever drives
# that engine is that unprivileged user on the node, not root.
_RUNTIME_DIR: Final = re.compile(r"^/run/user/([1-9][0-9]*)/?$")


def rootless_job_engine(container: Container) -> str | None:
    """The container path of the rootless job engine the runner reaches, when DOCKER_HOST names it.

    That is the one engine a runner may reach (the ci runner's, where each job gets a fresh
    container): DOCKER_HOST is `unix://<dir>/docker.sock`, `<dir>` is bind-mounted from
    `/run/user/<uid>` with uid > 0, and the container runs as that uid (only it may enter the 0700
    runtime directory), so the engine's root is that user, never the node's root.
    """
    docker_host = container.env("DOCKER_HOST")
    if not isinstance(docker_host, str) or not docker_host.startswith("unix://"):
        return None
    directory = posixpath.dirname(docker_host.removeprefix("unix://"))
    if posixpath.basename(docker_host) != "docker.sock":
        return None
    user = known_str(container.get("user")) or ""
    for volume in entries(container.get("volumes")):
        host = known_str(mapping(volume).get("hostPath")) or ""
        match = _RUNTIME_DIR.match(host)
        if (
            match
            and posixpath.normpath(str(mapping(volume).get("containerPath"))) == directory
            and user.split(":")[0] == match.group(1)
        ):
            return directory
    return None


def _validate_runner(args: ResourceValidationArgs, report: ReportViolation) -> None:
    container = _container_with_role(args, "runner")
    if container is None:
        return
    name = container.name
    if container.get("privileged") is True:
        report(f"runner container '{name}' is privileged.", None)
    for mount in socket_mounts(container):
        report(f"runner container '{name}' mounts the Docker socket: {mount}.", None)
    docker_host = container.env("DOCKER_HOST")
    if isinstance(docker_host, str) and docker_host not in ("", "-") and not rootless_job_engine(container):
        report(
            f"runner container '{name}' sets DOCKER_HOST to {docker_host}, which is not a rootless job "
            "engine (unix:///<dir>/docker.sock with <dir> bound from /run/user/<uid> and the container "
            "running as that uid).",
            None,
        )
    for file, config in _runner_configs(container):
        for problem in _runner_config_problems(file, config):
            report(f"runner container '{name}': {problem}.", None)


RUNNERS_UNPRIVILEGED: Final = ResourceValidationPolicy(
    name="runners-get-no-docker-socket-or-privileged-jobs",
    description=(
        "A CI runner gets no Docker socket and runs no privileged job: a job that reaches the daemon "
        "owns the node and every environment on it. The one engine a runner may drive is a rootless "
        "job engine (its socket bound from /run/user/<uid>, the runner running as that uid), which "
        "jobs never see. Fix: remove the socket mount, privileged=True and any other DOCKER_HOST from "
        "the runner container; in its config.yml keep container.privileged: false, "
        "container.docker_host: '-', and no docker.sock in container.options or container.valid_volumes; "
        "give the untrusted label 'ci' a docker:// backend, never host mode."
    ),
    validate=_validate_runner,
    enforcement_level=EnforcementLevel.MANDATORY,
)

TRUSTED_PROXIES: Final = "CF_TRUSTED_PROXIES"


def _trusted_proxy_problem(value: str) -> str | None:
    """Why the app's CF_TRUSTED_PROXIES trusts more than single addresses, or None."""
    try:
        listed = json.loads(value)
    except ValueError:
        listed = None
    if not isinstance(listed, list):
        return f"{TRUSTED_PROXIES} is not a JSON list of addresses: {value!r}"
    wide = []
    for entry in listed:
        try:
            network = ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            return f"{TRUSTED_PROXIES} holds {entry!r}, which is not an IP address"
        if network.num_addresses != 1:
            wide.append(f"{entry} ({network.num_addresses} addresses)")
    if wide:
        return f"{TRUSTED_PROXIES} trusts networks, not one address: " + ", ".join(wide)
    return None


def _validate_app_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    container = _container_with_role(args, "app")
    if container is None:
        return
    value = container.env(TRUSTED_PROXIES)
    if not isinstance(value, str) or value == "":
        return
    problem = _trusted_proxy_problem(value)
    if problem:
        report(f"app container '{container.name}': {problem}.", None)


APP_TRUSTS_ONE_ADDRESS: Final = ResourceValidationPolicy(
    name="app-trusts-one-proxy-address",
    description=(
        "The app believes Tailscale identity headers from single addresses only (the web container's): "
        "a network holds its gateway, the Docker host, so every process on the node could pose as an "
        'admin. Fix: set CF_TRUSTED_PROXIES to a JSON list of single addresses, e.g. ["10.213.0.2"] '
        "(the program sets the sidecar's fixed address on cf-<env>; remove any app.env override)."
    ),
    validate=_validate_app_trust,
    enforcement_level=EnforcementLevel.MANDATORY,
)

SERVICE_POLICIES: Final = [FORGEJO_CLOSED, REGISTRY_HTPASSWD, RUNNERS_UNPRIVILEGED, APP_TRUSTS_ONE_ADDRESS]

"""Policies 1-8: how every container runs."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .images import parse_image, valid_digest
from .resources import CONTAINER, REMOTE_IMAGE, Container
from .settings import (
    CAPABILITIES_SCHEMA,
    CONFINEMENT_SCHEMA,
    DEFAULT_ADDED_CAPABILITIES,
    DEFAULT_ALLOWED_CAPABILITIES,
    DEFAULT_DIGEST_STACKS,
    DEFAULT_ROOT_IMAGES,
    DEFAULT_WRITABLE_ROOT_IMAGES,
    DIGEST_STACKS_SCHEMA,
    ROOT_IMAGES_SCHEMA,
    setting,
)
from .values import entries, is_unknown, known_str, mapping, plain, stack_of


def _capability(name: str) -> str:
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def _validate_privileges(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    if container.get("privileged") is True:
        report(f"container '{container.name}' sets privileged: true.", None)
    configured = setting(args.get_config(), "allowedCapabilities", DEFAULT_ALLOWED_CAPABILITIES)
    allowed = {_capability(str(name)) for name in configured}
    adds = mapping(container.get("capabilities")).get("adds")
    added = {_capability(name) for name in entries(adds) if isinstance(name, str)}
    extra = sorted(added - allowed)
    if extra:
        report(
            f"container '{container.name}' adds capabilities outside allowedCapabilities: "
            + ", ".join(extra)
            + ".",
            None,
        )


NO_PRIVILEGED_CONTAINERS: Final = ResourceValidationPolicy(
    name="no-privileged-containers",
    description=(
        "Containers run unprivileged and add no Linux capability outside the allowlist. "
        "Fix: remove privileged=True and the capability from capabilities.adds (tailscaled runs in "
        "userspace mode and needs neither); if a service truly needs a capability, add it to "
        "allowedCapabilities in the policy pack config after review."
    ),
    validate=_validate_privileges,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CAPABILITIES_SCHEMA,
)

# Directories that contain the Docker socket at its default location: mounting one hands it over too.
_SOCKET_PARENTS: Final = frozenset({"/", "/var", "/run", "/var/run", "/run/docker", "/var/run/docker"})


def socket_mounts(container: Container) -> list[str]:
    """'<field> = <host path>' for every bind mount that hands the container the Docker socket."""
    found = []
    for path, where in container.host_paths():
        normal = posixpath.normpath(path)
        if normal.endswith("docker.sock") or normal in _SOCKET_PARENTS:
            found.append(f"{where} = {path}")
    return found


def _validate_socket(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    for mount in socket_mounts(container):
        report(f"container '{container.name}' mounts the Docker socket: {mount}.", None)


NO_DOCKER_SOCKET: Final = ResourceValidationPolicy(
    name="no-docker-socket-mounts",
    description=(
        "No container mounts the Docker socket (a path ending in docker.sock, or a directory such "
        "as /var/run that holds it): whoever reaches the socket is root on the node. Fix: remove the "
        "volume or bind mount; manage containers with `pulumi up` from the operator's machine instead."
    ),
    validate=_validate_socket,
    enforcement_level=EnforcementLevel.MANDATORY,
)

_ROOT_USERS: Final = frozenset({"", "root", "0"})


def _validate_user(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    user = container.get("user")
    if is_unknown(user):
        return
    user_name = user.split(":", 1)[0].strip() if isinstance(user, str) else ""
    if user_name not in _ROOT_USERS:
        return
    reference = container.get("image")
    if is_unknown(reference):
        return
    image = container.image
    exceptions = mapping(setting(args.get_config(), "rootImages", DEFAULT_ROOT_IMAGES))
    if image is not None and image.repository:
        reason = exceptions.get(image.repository)
        if isinstance(reason, str) and reason.strip():
            return
    shown = image.repository if image is not None and image.repository else str(reference)
    if user is None or user == "":
        report(
            f"container '{container.name}' (image {shown}) sets no user, so it runs as the image's "
            "default user.",
            None,
        )
    else:
        report(f"container '{container.name}' (image {shown}) runs as user '{user}'.", None)


NON_ROOT_CONTAINERS: Final = ResourceValidationPolicy(
    name="containers-run-as-non-root",
    description=(
        "Every container runs as an explicit non-root user. Fix: set user='<uid>:<gid>' (e.g. "
        "'1000:1000') on the container and make its volumes writable by that uid; if the image cannot "
        "run without root, add its repository to rootImages in the policy pack config with the reason."
    ),
    validate=_validate_user,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=ROOT_IMAGES_SCHEMA,
)

_SELF_HEALING_RESTARTS: Final = ("always", "unless-stopped", "on-failure")


def _validate_health(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    if container.is_one_shot() is not False:
        return
    healthcheck = container.get("healthcheck")
    if not is_unknown(healthcheck):
        tests = mapping(healthcheck).get("tests")
        if not is_unknown(tests):
            commands = [t for t in entries(tests)]
            if not commands or commands[0] == "NONE":
                report(f"container '{container.name}' has no health check.", None)
    restart = container.get("restart")
    if not is_unknown(restart) and restart not in _SELF_HEALING_RESTARTS:
        report(f"container '{container.name}' has restart policy '{restart or 'no'}'.", None)


HEALTH_AND_RESTART: Final = ResourceValidationPolicy(
    name="containers-have-health-check-and-restart",
    description=(
        "Every long-running container has a health check and a restart policy. Fix: set "
        "healthcheck=ContainerHealthcheckArgs(tests=['CMD', ...], interval=..., retries=...) and "
        "restart='unless-stopped' (or 'always' / 'on-failure'); a one-shot container sets rm=True, "
        "attach=True or must_run=False instead."
    ),
    validate=_validate_health,
    enforcement_level=EnforcementLevel.MANDATORY,
)

_ROTATION_OPTIONS: Final = ("max-size", "max-file")


def _validate_logs_and_memory(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    driver = container.get("logDriver")
    if not is_unknown(driver) and driver not in (None, "json-file"):
        report(f"container '{container.name}' uses log driver '{driver}', not json-file.", None)
    options = container.get("logOpts")
    if not is_unknown(options):
        missing = [key for key in _ROTATION_OPTIONS if mapping(options).get(key) in (None, "")]
        if missing:
            report(
                f"container '{container.name}' sets no log rotation: logOpts lacks {', '.join(missing)}.",
                None,
            )
    memory = container.get("memory")
    if not is_unknown(memory) and not (isinstance(memory, int | float) and memory > 0):
        report(f"container '{container.name}' has no memory limit.", None)


LOGS_AND_MEMORY: Final = ResourceValidationPolicy(
    name="containers-rotate-logs-and-limit-memory",
    description=(
        "Every container rotates its logs and has a memory limit, so no container can fill the "
        "node's disk or memory. Fix: set log_driver='json-file', log_opts={'max-size': '10m', "
        "'max-file': '3'} and memory=<MiB> on the container."
    ),
    validate=_validate_logs_and_memory,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_pinning(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CONTAINER:
        field, kind = "image", "container"
    elif args.resource_type == REMOTE_IMAGE:
        field, kind = "name", "remote image"
    else:
        return
    props = mapping(plain(args.props))
    reference = known_str(props.get(field))
    if reference is None:
        return
    image = parse_image(reference)
    if image.is_image_id:
        return
    stack = stack_of(args.urn)
    digest_stacks = {str(s) for s in setting(args.get_config(), "digestStacks", DEFAULT_DIGEST_STACKS)}
    what = f"{kind} '{args.name}' uses image '{reference}'"
    if image.tag == "latest":
        report(f"{what}: the tag 'latest' moves.", None)
    if image.digest and not valid_digest(image.digest):
        report(f"{what}: '{image.digest}' is not a sha256 digest.", None)
    elif stack in digest_stacks and not image.digest:
        report(f"{what} without a digest; stack '{stack}' needs repo@sha256:<digest>.", None)
    elif not image.digest and image.tag != "latest" and not image.has_version_tag:
        report(f"{what} without a version tag.", None)


PINNED_IMAGES: Final = ResourceValidationPolicy(
    name="images-are-pinned",
    description=(
        "Images are pinned: by digest (repo@sha256:...) in the stacks listed in digestStacks (prod), "
        "at least by an explicit version tag (e.g. 1.27.3) elsewhere, and never by 'latest'. Fix: put "
        "the pinned reference in the stack file (`pulumi config set` the image key) or feed the "
        "container Image.repo_digest."
    ),
    validate=_validate_pinning,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=DIGEST_STACKS_SCHEMA,
)

_TAILNET_NETWORKS: Final = (
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("fd7a:115c:a1e0::/48"),
)


def _bind_problem(ip: str) -> str | None:
    """Why publishing on `ip` is not allowed, or None when it is loopback or a tailnet address."""
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return f"{ip}, which is not an IP address"
    if address.is_unspecified:
        return f"{ip} (every interface)"
    if address.is_loopback or any(address in network for network in _TAILNET_NETWORKS):
        return None
    return f"{ip}, which is neither loopback nor a tailnet address"


def _validate_ports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    if container.get("publishAllPorts") is True:
        report(
            f"container '{container.name}' sets publishAllPorts, which publishes on every interface.", None
        )
    if container.get("networkMode") == "host":
        report(f"container '{container.name}' uses the host network, so it listens on every interface.", None)
    for port in entries(container.get("ports")):
        if is_unknown(port):
            continue
        fields = mapping(port)
        ip = fields.get("ip")
        if is_unknown(ip):
            continue
        internal = fields.get("internal")
        shown = int(internal) if isinstance(internal, int | float) else internal
        if ip is None or ip == "":
            report(
                f"container '{container.name}' publishes port {shown} with no ip, which Docker binds "
                "on 0.0.0.0.",
                None,
            )
            continue
        problem = _bind_problem(str(ip))
        if problem:
            report(f"container '{container.name}' publishes port {shown} on {problem}.", None)


PORTS_ON_TAILNET_OR_LOOPBACK: Final = ResourceValidationPolicy(
    name="ports-on-tailnet-or-loopback",
    description=(
        "No port is published on 0.0.0.0 or :: ; services are reached over the tailnet (the "
        "Tailscale sidecar) or on loopback. Fix: set ip='127.0.0.1' (or the node's tailnet address) "
        "on every ports entry, and drop publish_all_ports and network_mode='host'."
    ),
    validate=_validate_ports,
    enforcement_level=EnforcementLevel.MANDATORY,
)

_SECRET_WORDS: Final = frozenset(
    {
        "KEY",
        "KEYS",
        "APIKEY",
        "AUTHKEY",
        "TOKEN",
        "TOKENS",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "SECRETS",
        "CREDENTIAL",
        "CREDENTIALS",
    }
)
_REFERENCE_SUFFIXES: Final = frozenset({"FILE", "PATH", "URI", "DIR"})
_SETTING_VALUE: Final = re.compile(r"^(\d+|true|false|yes|no|on|off)$", re.IGNORECASE)
_SECRET_VALUES: Final = (
    (re.compile(r"^tskey-"), "a Tailscale auth key"),
    (re.compile(r"^sk-ant-"), "an Anthropic API key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"^\$2[aby]\$\d\d\$"), "a bcrypt password hash"),
    (re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.upper()) if word]


def secret_problem(name: str, value: object) -> str | None:
    """Why `name=value` exposes a secret in plain text, or None. Never includes the value."""
    if not isinstance(value, str) or value == "":
        return None
    for pattern, what in _SECRET_VALUES:
        if pattern.search(value):
            return f"holds what looks like {what}"
    words = _words(name)
    if "PUBLIC" in words or not _SECRET_WORDS.intersection(words):
        return None
    if _SETTING_VALUE.match(value):
        return None  # a number or a switch (CF_CHAT_MAX_TOKENS=1024) is a setting, not a secret
    if value.startswith("file:"):
        return None
    if words[-1] in _REFERENCE_SUFFIXES and value.startswith("/"):
        return None
    return "holds a secret-looking value in plain text"


def _validate_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    for name, value in container.envs():
        problem = secret_problem(name, value)
        if problem:
            report(f"container '{container.name}': environment variable {name} {problem}.", None)
    for label, value in container.labels():
        problem = secret_problem(label, value)
        if problem:
            report(f"container '{container.name}': label {label} {problem}.", None)


NO_PLAIN_SECRETS: Final = ResourceValidationPolicy(
    name="no-plain-secrets-in-env-or-labels",
    description=(
        "Secrets (keys, tokens, passwords, auth keys) never appear as plain container environment "
        "values or labels, which `docker inspect` shows to anyone on the node. Fix: deliver the secret "
        "as a file with the container's uploads (content from a Pulumi secret) and point the variable "
        "at it (NAME_FILE=/run/secrets/x, or a 'file:/path' value where the program supports it)."
    ),
    validate=_validate_secrets,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_confinement(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    container = Container.of(args.name, args.props)
    start = container.get("start")
    if start is False or is_unknown(start):
        return  # created and never started (an upload holder): no process runs in it
    image = container.image
    repository = image.repository if image is not None and image.repository else None
    config = args.get_config()
    shown = f"container '{container.name}'" + (f" (image {repository})" if repository else "")
    read_only = container.get("readOnly")
    writable = mapping(setting(config, "writableRootImages", DEFAULT_WRITABLE_ROOT_IMAGES))
    reviewed = repository is not None and isinstance(writable.get(repository), str) and writable[repository]
    if (
        not is_unknown(read_only)
        and read_only is not True
        and not reviewed
        and not is_unknown(container.get("image"))
    ):
        report(f"{shown} has a writable root file system (readOnly is not true).", None)
    capabilities = container.get("capabilities")
    if is_unknown(capabilities):
        return
    drops = mapping(capabilities).get("drops")
    if not is_unknown(drops) and not any(is_unknown(name) for name in entries(drops)):
        dropped = {_capability(name) for name in entries(drops) if isinstance(name, str)}
        if "ALL" not in dropped:
            report(f"{shown} keeps Docker's default capabilities: capabilities.drops lacks ALL.", None)
    adds = mapping(capabilities).get("adds")
    added = {_capability(name) for name in entries(adds) if isinstance(name, str)}
    if not added or is_unknown(container.get("image")):
        return
    grants = mapping(setting(config, "addedCapabilities", DEFAULT_ADDED_CAPABILITIES))
    grant = mapping(grants.get(repository)) if repository else {}
    granted = {_capability(str(name)) for name in entries(grant.get("capabilities"))}
    extra = sorted(added - granted)
    if extra:
        report(f"{shown} adds capabilities its image is not granted: {', '.join(extra)}.", None)


CONFINED_CONTAINERS: Final = ResourceValidationPolicy(
    name="containers-read-only-and-capabilities-dropped",
    description=(
        "Every container runs with a read-only root file system and drops every Linux capability, "
        "adding back only what its image is granted. Fix: set read_only=True (tmpfs or a volume where "
        "it writes; uploads go through infra/components/container.py's holder) and "
        "capabilities={'drops': ['ALL']}; if the image truly needs a writable root or a capability, "
        "add it to writableRootImages or addedCapabilities in the policy pack config, with the reason."
    ),
    validate=_validate_confinement,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFINEMENT_SCHEMA,
)

CONTAINER_POLICIES: Final = [
    NO_PRIVILEGED_CONTAINERS,
    NO_DOCKER_SOCKET,
    NON_ROOT_CONTAINERS,
    HEALTH_AND_RESTART,
    LOGS_AND_MEMORY,
    PINNED_IMAGES,
    PORTS_ON_TAILNET_OR_LOOPBACK,
    NO_PLAIN_SECRETS,
    CONFINED_CONTAINERS,
]

"""One way to declare a container, so that every container of the platform gets the same guard rails:
an explicit provider, a health check, a restart policy, log rotation, a memory limit, no new
privileges, a user (root only for the images `infra.images.ROOT_IMAGES` names, with the reason), a
read-only root file system (writable only for `infra.images.WRITABLE_ROOT_IMAGES`; tmpfs and volumes
where a container writes), and every Linux capability dropped (an image adds back only what
`infra.images.ADDED_CAPABILITIES` grants it).

Files a container needs (`uploads`: secrets and config) cannot be copied into a read-only root file
system: the docker provider copies uploads into the container at `/` after creating it
(terraform-provider-docker, resource_docker_container_funcs.go: `CopyToContainer(ctx, id, "/", ...)`),
and Docker refuses a copy to a read-only root outside its volumes (moby daemon/archive.go: "container
rootfs is marked read-only"). So a read-only container's uploads go to a holder: a container of the
same image that is created and never started, whose upload lands in volumes mounted at the files'
directories (Docker mounts a created container's volumes for the copy). The service mounts those
volumes read-only, and a label holding a digest of the files replaces it when they change.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from infra.config import LoggingConfig

NON_ROOT_USER = "10001:10001"
"""Default uid:gid of containers whose image does not name its own unprivileged user."""


@dataclass(frozen=True)
class HealthCheck:
    """A Docker health check; `test` is the exec form (`["CMD", ...]`)."""

    test: Sequence[str]
    interval: str = "30s"
    timeout: str = "5s"
    retries: int = 3
    start_period: str = "20s"

    def args(self) -> docker.ContainerHealthcheckArgs:
        return docker.ContainerHealthcheckArgs(
            tests=list(self.test),
            interval=self.interval,
            timeout=self.timeout,
            retries=self.retries,
            start_period=self.start_period,
        )


def http_check(url: str, *, tool: str = "wget") -> HealthCheck:
    """A health check that GETs `url` from inside the container (busybox wget or curl)."""
    if tool == "curl":
        return HealthCheck(["CMD", "curl", "--fail", "--silent", "--max-time", "4", url])
    return HealthCheck(["CMD", "wget", "--quiet", "--spider", "--timeout=4", url])


@dataclass(frozen=True)
class ContainerSpec:
    """What differs between containers; everything else is the platform's defaults."""

    image: pulumi.Input[str]
    health: HealthCheck
    memory_mb: int
    user: str | None = NON_ROOT_USER
    """uid:gid to run as; None only for an image in ROOT_IMAGES (it runs as its image's root user)."""
    command: Sequence[str] | None = None
    envs: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    volumes: Sequence[docker.ContainerVolumeArgs] = ()
    uploads: Sequence[docker.ContainerUploadArgs] = ()
    networks: Sequence[docker.ContainerNetworksAdvancedArgs] = ()
    network_mode: pulumi.Input[str] | None = None
    ports: Sequence[docker.ContainerPortArgs] = ()
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    hostname: str | None = None
    capabilities: Sequence[str] = ()
    """Capabilities added back after dropping all; only what infra.images.ADDED_CAPABILITIES grants."""
    writable_root: bool = False
    """True only for an image in infra.images.WRITABLE_ROOT_IMAGES (it writes outside volumes and tmpfs)."""


ROLE_LABEL = "chocolate-factory.role"
FILES_ROLE = "files"
"""The role label of an upload holder (never started): the policies of its image's service skip it."""
FILES_DIGEST_LABEL = "chocolate-factory.files-digest"


def loopback_port(internal: int, external: int) -> docker.ContainerPortArgs:
    """Publish `internal` on 127.0.0.1:`external` only (never on every interface)."""
    return docker.ContainerPortArgs(internal=internal, external=external, ip="127.0.0.1", protocol="tcp")


def container(
    name: str,
    spec: ContainerSpec,
    *,
    provider: docker.Provider,
    parent: pulumi.Resource,
    logging: LoggingConfig,
    depends_on: Sequence[pulumi.Resource] = (),
) -> docker.Container:
    """Declare the container `name` (also its Docker name) on `provider`, parented to `parent`."""
    volumes = list(spec.volumes)
    uploads = list(spec.uploads)
    labels: dict[str, pulumi.Input[str]] = dict(spec.labels)
    waits_for = list(depends_on)
    if uploads and not spec.writable_root:
        holder, mounts = _upload_holder(name, spec, provider=provider, parent=parent, logging=logging)
        volumes += mounts
        uploads = []
        labels[FILES_DIGEST_LABEL] = _files_digest(spec.uploads)
        waits_for.append(holder)
    args = _container_args(name, spec, logging=logging, volumes=volumes, uploads=uploads, labels=labels)
    return docker.Container(
        name, args, opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=waits_for)
    )


def _container_args(
    name: str,
    spec: ContainerSpec,
    *,
    logging: LoggingConfig,
    volumes: Sequence[docker.ContainerVolumeArgs],
    uploads: Sequence[docker.ContainerUploadArgs],
    labels: Mapping[str, pulumi.Input[str]],
) -> docker.ContainerArgs:
    envs = [pulumi.Output.concat(key, "=", value) for key, value in sorted(spec.envs.items())]
    return docker.ContainerArgs(
        name=name,
        image=spec.image,
        user=spec.user,
        command=list(spec.command) if spec.command else None,
        envs=envs or None,
        healthcheck=spec.health.args(),
        restart="unless-stopped",
        log_driver="json-file",
        log_opts={"max-size": logging.max_size, "max-file": str(logging.max_file)},
        memory=spec.memory_mb,
        memory_swap=spec.memory_mb,
        security_opts=["no-new-privileges:true"],
        privileged=False,
        read_only=not spec.writable_root,
        capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=sorted(spec.capabilities) or None),
        volumes=list(volumes) or None,
        uploads=list(uploads) or None,
        networks_advanced=list(spec.networks) or None,
        network_mode=spec.network_mode,
        ports=list(spec.ports) or None,
        tmpfs=dict(spec.tmpfs) or None,
        labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels.items())] or None,
        hostname=spec.hostname,
    )


def _upload_holder(
    name: str,
    spec: ContainerSpec,
    *,
    provider: docker.Provider,
    parent: pulumi.Resource,
    logging: LoggingConfig,
) -> tuple[docker.Container, list[docker.ContainerVolumeArgs]]:
    """The never-started container `<name>-files` that writes `spec.uploads` into one volume per
    directory, and those volumes as the service mounts them (read-only)."""
    directories = sorted({posixpath.dirname(str(upload.file)) for upload in spec.uploads})
    holder_mounts: list[docker.ContainerVolumeArgs] = []
    service_mounts: list[docker.ContainerVolumeArgs] = []
    for directory in directories:
        slug = re.sub(r"[^a-z0-9]+", "-", directory.lower()).strip("-")
        files = volume(f"{name}-files-{slug}", provider=provider, parent=parent, holds_data=False)
        holder_mounts.append(mount(files, directory))
        service_mounts.append(mount(files, directory, read_only=True))
    args = _container_args(
        f"{name}-files",
        spec,
        logging=logging,
        volumes=holder_mounts,
        uploads=spec.uploads,
        labels={ROLE_LABEL: FILES_ROLE},
    )
    # Created, never started: it only carries the copy. Its root is written by that copy, but no
    # process ever runs in it. It keeps the service's health check: the provider reads the image's
    # back otherwise, and a difference would replace it on every `up`.
    args.read_only = False
    args.capabilities = docker.ContainerCapabilitiesArgs(drops=["ALL"])
    args.start = False
    args.must_run = False
    args.restart = "no"
    args.envs = None
    args.networks_advanced = None
    args.network_mode = None
    args.ports = None
    args.hostname = None
    holder = docker.Container(
        f"{name}-files",
        args,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, delete_before_replace=True),
    )
    return holder, service_mounts


def _files_digest(uploads: Sequence[docker.ContainerUploadArgs]) -> pulumi.Output[str]:
    """sha256 over every upload's path, mode, owner and content: a new value replaces the service."""
    parts = [
        pulumi.Output.all(upload.file, upload.permissions, upload.owner, upload.group, upload.content).apply(
            lambda values: json.dumps(values)
        )
        for upload in uploads
    ]
    return pulumi.Output.all(*parts).apply(
        lambda texts: hashlib.sha256("\n".join(sorted(texts)).encode()).hexdigest()
    )


def private_network(
    name: str,
    network_name: str,
    *,
    provider: docker.Provider,
    parent: pulumi.Resource,
    subnet: ipaddress.IPv4Network | None = None,
) -> docker.Network:
    """A bridge network `network_name` of one component's containers.

    With `subnet`, Docker hands out dynamic addresses only from its upper half (`dynamic_range`), so
    the addresses below it (`fixed_address`) stay free for containers that need a fixed one."""
    ipam = (
        [
            docker.NetworkIpamConfigArgs(
                subnet=str(subnet), gateway=str(subnet[1]), ip_range=str(dynamic_range(subnet))
            )
        ]
        if subnet is not None
        else None
    )
    return docker.Network(
        name,
        name=network_name,
        driver="bridge",
        ipam_configs=ipam,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )


def dynamic_range(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """The upper half of `subnet`, from which Docker assigns the addresses nobody fixed."""
    return list(subnet.subnets(prefixlen_diff=1))[1]


def fixed_address(subnet: ipaddress.IPv4Network, index: int = 2) -> str:
    """The `index`th address of `subnet` (1 is the gateway), below the dynamic range."""
    address = subnet[index]
    if index < 2 or address in dynamic_range(subnet):
        raise ValueError(f"{address} is the gateway or in {subnet}'s dynamic range")
    return str(address)


def volume(
    name: str,
    *,
    provider: docker.Provider,
    parent: pulumi.Resource,
    holds_data: bool,
) -> docker.Volume:
    """A named volume; one that holds data survives `pulumi destroy` and replacement of its owner."""
    return docker.Volume(
        name,
        docker.VolumeArgs(
            name=name,
            labels=[docker.VolumeLabelArgs(label="chocolate-factory.data", value=str(holds_data).lower())],
        ),
        opts=pulumi.ResourceOptions(
            parent=parent, provider=provider, retain_on_delete=holds_data, protect=False
        ),
    )


def mount(volume: docker.Volume, path: str, *, read_only: bool = False) -> docker.ContainerVolumeArgs:
    return docker.ContainerVolumeArgs(volume_name=volume.name, container_path=path, read_only=read_only)


def secret_file(
    path: str, content: pulumi.Input[str], *, owner: str = "0", mode: str = "0400"
) -> docker.ContainerUploadArgs:
    """A secret delivered as a file in the container (not an environment variable `docker inspect` shows)."""
    return docker.ContainerUploadArgs(
        file=path, content=pulumi.Output.secret(content), permissions=mode, owner=owner, group=owner
    )


def config_file(path: str, content: pulumi.Input[str], *, mode: str = "0444") -> docker.ContainerUploadArgs:
    return docker.ContainerUploadArgs(file=path, content=content, permissions=mode)

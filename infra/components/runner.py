"""A Forgejo Actions runner on a node: a deploy runner of one environment, or the untrusted ci runner.

Two kinds, which never share a label (docs/delivery.md, "Runners and trust"):

- **deploy** (label `deploy-<env>`): runs only the deploy job of pushes to its environment's branch,
  in host mode in its own container. No Docker socket is handed to it and nothing runs privileged.
- **ci** (label `ci`): runs pull requests and every job that needs no deploy secret. Each job runs in
  a fresh container that the runner starts on the node's *rootless* job engine (a Docker engine run by
  an unprivileged user, so whoever drives it is that user, not root), and that is removed after the
  job. The job container mounts nothing of the runner's: the registration secret, the runner's
  credentials file (`/data/.runner`, on a tmpfs) and the engine's socket stay in the runner's
  container. The runner holds no deploy key, no passphrase and no other secret, and its sidecar's
  tags (`tag:ci` only) reach Forgejo and the registry, never a node's SSH port.

Every runner registers offline with its own shared secret (`forgejo-runner create-runner-file`),
which the operator also gives Forgejo (`forgejo forgejo-cli actions register`). With a tailnet, the
runner reaches Forgejo (and a deploy runner its node's SSH port) through its own sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import yaml

from infra import tokens
from infra.components.container import (
    ContainerSpec,
    HealthCheck,
    config_file,
    container,
    mount,
    private_network,
    secret_file,
    volume,
)
from infra.components.sidecar import OUTBOUND_PROXY, SidecarArgs, tailscale_sidecar
from infra.config import LoggingConfig, RunnerConfig
from infra.tailnet_policy import CI, runner_tags

RUNNER_USER = "1000:1000"
"""The runner image's unprivileged user, which owns /data."""
SECRET_FILE = "/run/secrets/runner-secret"  # noqa: S105 (a path)
CONFIG_FILE = "/etc/forgejo-runner/config.yml"
CREDENTIALS_FILE = "/data/.runner"
"""Written by `create-runner-file`: the runner's uuid and token, which is the registration secret itself
(forgejo-runner internal/app/cmd/create-runner-file.go: `Token: args.Secret`)."""
JOB_ENGINE_DIR = "/run/job-engine"
"""Where the ci runner sees its job engine's runtime directory (`/run/user/<uid>` on the node)."""
JOB_ENGINE_HOST = f"unix://{JOB_ENGINE_DIR}/docker.sock"
"""DOCKER_HOST of the ci runner. With `container.docker_host: "-"` the runner itself uses DOCKER_HOST
and mounts no socket into jobs (forgejo-runner internal/app/cmd/daemon.go, getDockerSocketPath)."""


@dataclass(frozen=True)
class RunnerArgs:
    config: RunnerConfig
    image: str
    provider: docker.Provider
    logging: LoggingConfig
    forgejo_url: str
    secret: pulumi.Input[str]
    network: docker.Network | None = None
    """Without a tailnet: the network on which Forgejo answers."""
    sidecar_image: str | None = None
    auth_key: pulumi.Input[str] | None = None
    job_image: str = ""
    """kind ci: the image each job's fresh container starts from."""


def proxy_envs(proxy: str | None) -> dict[str, str]:
    """Environment that sends the runner's (and its jobs') HTTP through the sidecar's proxy."""
    if proxy is None:
        return {}
    return {
        "HTTP_PROXY": f"http://{proxy}",
        "HTTPS_PROXY": f"http://{proxy}",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def runner_labels(cfg: RunnerConfig, *, job_image: str) -> list[str]:
    """The runner's labels with their backend: `deploy-<env>:host`, or `ci:docker://<job image>`."""
    if cfg.kind == "ci":
        return [f"{cfg.label}:docker://{job_image}"]
    return [f"{cfg.label}:host"]


def runner_config(cfg: RunnerConfig, *, proxy: str | None, job_image: str) -> dict[str, object]:
    """The runner's config.yml: its one label, one job at a time, and nothing of the runner for jobs.

    `runner.envs` reach every job: a deploy runner's carry only its sidecar's proxy, never DOCKER_HOST
    or a secret; a ci job gets none (the proxy listens in the runner's network namespace, which a job
    container does not share). `container.docker_host: "-"` keeps the engine's socket out of job
    containers, `valid_volumes: []` lets a workflow mount nothing, and `network: ""` gives each job a
    network of its own (forgejo-runner internal/pkg/config/config.example.yaml documents each key).
    """
    envs = proxy_envs(proxy) if cfg.kind == "deploy" else {}
    return {
        "log": {"level": "info"},
        "runner": {
            "file": CREDENTIALS_FILE,
            "capacity": 1,
            "timeout": "1h",
            "envs": envs,
            "labels": runner_labels(cfg, job_image=job_image),
        },
        "cache": {"enabled": False},
        "container": {
            "network": "",
            "docker_host": "-",
            "privileged": False,
            "options": "",
            "valid_volumes": [],
            "force_pull": False,
        },
    }


def start_script(cfg: RunnerConfig, forgejo_url: str) -> str:
    return (
        "set -eu; "
        f'forgejo-runner --config {CONFIG_FILE} create-runner-file --connect --instance "{forgejo_url}" '
        f'--name "runner-{cfg.env}" --secret "$(cat {SECRET_FILE})"; '
        f"exec forgejo-runner --config {CONFIG_FILE} daemon"
    )


class Runner(pulumi.ComponentResource):
    def __init__(self, name: str, args: RunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.RUNNER, name, None, opts)
        cfg, provider = args.config, args.provider
        untrusted = cfg.kind == "ci"
        network_mode: pulumi.Input[str] | None = None
        networks: list[docker.ContainerNetworksAdvancedArgs] = []
        depends: list[pulumi.Resource] = []
        proxy: str | None = None
        if args.auth_key is not None:
            assert args.sidecar_image is not None
            network = private_network(f"{name}-net", f"cf-ci-{cfg.env}", provider=provider, parent=self)
            sidecar = tailscale_sidecar(
                f"ts-{name}",
                SidecarArgs(
                    hostname=f"runner-{cfg.env}",
                    auth_key=args.auth_key,
                    image=args.sidecar_image,
                    network=network,
                    outbound_proxy=True,
                ),
                provider=provider,
                parent=self,
                logging=args.logging,
            )
            network_mode = sidecar.network_mode
            depends.append(sidecar.container)
            proxy = OUTBOUND_PROXY
        elif args.network is not None:
            networks = [docker.ContainerNetworksAdvancedArgs(name=args.network.name)]
        envs: dict[str, pulumi.Input[str]] = dict(proxy_envs(proxy))
        volumes: list[docker.ContainerVolumeArgs] = []
        tmpfs: dict[str, str] = {}
        user = RUNNER_USER
        if untrusted:
            # The runner runs as the job engine's user: only that uid may enter /run/user/<uid> (0700).
            # Its credentials live on a tmpfs and are written again at each start.
            uid = cfg.job_engine_uid
            assert uid is not None, "config validation requires jobEngine for a ci runner"
            user = f"{uid}:{uid}"
            envs |= {"DOCKER_HOST": JOB_ENGINE_HOST, "HOME": "/data"}
            volumes.append(
                docker.ContainerVolumeArgs(host_path=f"/run/user/{uid}", container_path=JOB_ENGINE_DIR)
            )
            tmpfs["/data"] = "rw,noexec,nosuid,size=64m"
        else:
            data = volume(f"{name}-data", provider=provider, parent=self, holds_data=False)
            volumes.append(mount(data, "/data"))
        config = runner_config(cfg, proxy=proxy, job_image=args.job_image)
        self.container = container(
            name,
            ContainerSpec(
                image=args.image,
                user=user,
                command=["/bin/sh", "-c", start_script(cfg, args.forgejo_url)],
                health=HealthCheck(["CMD", "pgrep", "-f", "forgejo-runner"], start_period="60s"),
                memory_mb=cfg.memory_mb,
                envs=envs,
                volumes=volumes,
                tmpfs=tmpfs,
                uploads=[
                    secret_file(SECRET_FILE, args.secret, owner=user.split(":")[0]),
                    config_file(CONFIG_FILE, yaml.safe_dump(config, sort_keys=False)),
                ],
                networks=networks,
                network_mode=network_mode,
                labels={"chocolate-factory.runner": cfg.env, "chocolate-factory.runner-kind": cfg.kind},
                writable_root=True,  # see infra.images.WRITABLE_ROOT_IMAGES["forgejo-runner"]
            ),
            provider=provider,
            parent=self,
            logging=args.logging,
            depends_on=depends,
        )
        self.register_outputs({"label": cfg.label, "kind": cfg.kind})


def sidecar_tags(cfg: RunnerConfig) -> list[str]:
    """Tags of a runner's sidecar: a deploy runner reaches its node; the ci runner only Forgejo."""
    return [CI] if cfg.kind == "ci" else runner_tags(cfg.env)

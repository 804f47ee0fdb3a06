"""The Pulumi program: `platform()` declares one stack of the chocolate factory's platform.

The CLI (`infra/__main__.py`), the Automation API (`infra.deploy`) and the tests all run this one
function. It is split in two halves that mirror who changes what:

- `operator_platform`: nodes, the tailnet (policy and auth keys), Forgejo, the registry, the runners.
  Only an operator's `pulumi up` changes these.
- `app_environments`: one `AppEnvironment` per environment. CI deploys target only these
  (`infra.targets.ci_deploy_targets`), so a deploy can never replace the runner that runs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from infra import config as cfgmod
from infra.components import (
    AppEnvironment,
    AppEnvironmentArgs,
    Forgejo,
    ForgejoArgs,
    Node,
    NodeArgs,
    Registry,
    RegistryArgs,
    Runner,
    RunnerArgs,
    Tailnet,
    TailnetArgs,
)
from infra.components.app_environment import Images, RegistryPush
from infra.components.node import RegistryLogin
from infra.components.runner import sidecar_tags as runner_sidecar_tags
from infra.config import PlatformConfig, RunnerConfig
from infra.images import resolve
from infra.tailnet_policy import ADMINS, GIT, build_policy, node_tag


@dataclass(frozen=True)
class Secrets:
    """The stack's secrets as Pulumi secret outputs (None: not set and not needed)."""

    tailscale_oauth: pulumi.Output[str] | None
    registry_password: pulumi.Output[str] | None
    registry_htpasswd: pulumi.Output[str] | None
    forgejo_secret_key: pulumi.Output[str] | None
    anthropic_api_key: pulumi.Output[str] | None
    runner_secrets: dict[str, pulumi.Output[str]]


def _structured(text: str) -> Any:
    """A config value as the stack file holds it: objects and lists arrive as JSON, scalars as text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def read_config(stack: str) -> tuple[PlatformConfig, Secrets]:
    """Read and validate the running stack's config through `pulumi.Config`."""
    config = pulumi.Config(cfgmod.PROJECT)
    raw: dict[str, Any] = {}
    for key in cfgmod.SCHEMA_KEYS:
        text = config.get(key)
        if text is not None:
            raw[f"{cfgmod.PROJECT}:{key}"] = _structured(text)
    secret_outputs: dict[str, pulumi.Output[str]] = {}
    secret_names = [
        cfgmod.TAILSCALE_OAUTH_SECRET,
        cfgmod.REGISTRY_PASSWORD,
        cfgmod.REGISTRY_HTPASSWD,
        cfgmod.FORGEJO_SECRET_KEY,
        cfgmod.ANTHROPIC_API_KEY,
    ]
    runners = raw.get(f"{cfgmod.PROJECT}:runners") or []
    if isinstance(runners, list):
        secret_names += [cfgmod.runner_secret_key(str(r.get("env"))) for r in runners if isinstance(r, dict)]
    for key in secret_names:
        value = config.get_secret(key)
        if value is not None:
            secret_outputs[key] = value
            raw[f"{cfgmod.PROJECT}:{key}"] = {"secure": "set"}
    cfg = cfgmod.parse_config(raw, source=f"stacks/Pulumi.{stack}.yaml")
    secrets = Secrets(
        tailscale_oauth=secret_outputs.get(cfgmod.TAILSCALE_OAUTH_SECRET),
        registry_password=secret_outputs.get(cfgmod.REGISTRY_PASSWORD),
        registry_htpasswd=secret_outputs.get(cfgmod.REGISTRY_HTPASSWD),
        forgejo_secret_key=secret_outputs.get(cfgmod.FORGEJO_SECRET_KEY),
        anthropic_api_key=secret_outputs.get(cfgmod.ANTHROPIC_API_KEY),
        runner_secrets={
            r.env: secret_outputs[cfgmod.runner_secret_key(r.env)]
            for r in cfg.runners
            if cfgmod.runner_secret_key(r.env) in secret_outputs
        },
    )
    return cfg, secrets


def registry_server(cfg: PlatformConfig) -> str:
    """host[:port] of the registry, from the app's image repository."""
    return cfg.app.image_repository.split("/", 1)[0]


def forgejo_url(cfg: PlatformConfig) -> str | None:
    if cfg.forgejo is None:
        return None
    if cfg.tailnet.enabled:
        return f"https://{cfg.forgejo.hostname}.{cfg.tailnet.name}/"
    return f"http://127.0.0.1:{cfg.forgejo.local_port}/"


def runner_forgejo_url(cfg: PlatformConfig, runner: RunnerConfig) -> str:
    """Where a runner reaches Forgejo: as configured, else over the tailnet, else on Forgejo's network."""
    if runner.forgejo_url:
        return runner.forgejo_url
    assert cfg.forgejo is not None
    if cfg.tailnet.enabled:
        return f"https://{cfg.forgejo.hostname}.{cfg.tailnet.name}"
    return f"http://forgejo:{cfg.forgejo.http_port}"


def sidecar_tags(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Every Tailscale sidecar this stack runs, and the tags of its auth key."""
    if not cfg.tailnet.enabled:
        return {}
    tags: dict[str, list[str]] = {}
    if cfg.forgejo:
        tags["ts-forgejo"] = [GIT]
    if cfg.registry:
        tags["ts-registry"] = [GIT]
    for runner in cfg.runners:
        tags[f"ts-runner-{runner.env}"] = runner_sidecar_tags(runner)
    for env in cfg.environments:
        tags[f"ts-{env.name}"] = [node_tag(env.name)]
    return tags


@dataclass
class OperatorPlatform:
    nodes: dict[str, Node]
    tailnet: Tailnet | None
    forgejo: Forgejo | None
    registry: Registry | None
    runners: dict[str, Runner]

    def auth_key(self, sidecar: str) -> pulumi.Output[str] | None:
        return self.tailnet.auth_keys[sidecar] if self.tailnet else None


def operator_platform(cfg: PlatformConfig, secrets: Secrets, images: dict[str, str]) -> OperatorPlatform:
    """Nodes, tailnet, Forgejo, registry and runners: changed only by an operator's `pulumi up`."""
    login = (
        RegistryLogin(registry_server(cfg), cfg.app.registry_username, secrets.registry_password)
        if secrets.registry_password is not None
        else None
    )
    nodes = {
        name: Node(name, NodeArgs(docker_host=node.docker_url, registry_login=login))
        for name, node in cfg.nodes.items()
    }

    tailnet = None
    if cfg.tailnet.enabled:
        assert secrets.tailscale_oauth is not None
        tailnet = Tailnet(
            "tailnet",
            TailnetArgs(
                config=cfg.tailnet, oauth_client_secret=secrets.tailscale_oauth, sidecars=sidecar_tags(cfg)
            ),
        )
    platform = OperatorPlatform(nodes=nodes, tailnet=tailnet, forgejo=None, registry=None, runners={})
    sidecar_image = images["tailscale"] if tailnet else None

    if cfg.forgejo and cfg.declares("git"):
        url = forgejo_url(cfg)
        assert url is not None and secrets.forgejo_secret_key is not None
        platform.forgejo = Forgejo(
            "forgejo",
            ForgejoArgs(
                config=cfg.forgejo,
                image=images["forgejo"],
                provider=nodes[cfg.forgejo.node].provider,
                logging=cfg.logging,
                root_url=url,
                secret_key=secrets.forgejo_secret_key,
                sidecar_image=sidecar_image,
                auth_key=platform.auth_key("ts-forgejo"),
            ),
        )
    if cfg.registry and cfg.declares("git"):
        assert secrets.registry_htpasswd is not None
        platform.registry = Registry(
            "registry",
            RegistryArgs(
                config=cfg.registry,
                image=images["registry"],
                provider=nodes[cfg.registry.node].provider,
                logging=cfg.logging,
                htpasswd=secrets.registry_htpasswd,
                sidecar_image=sidecar_image,
                auth_key=platform.auth_key("ts-registry"),
            ),
            address=registry_server(cfg),
        )
    for runner in cfg.runners if cfg.declares("runners") else ():
        local_forgejo = (
            platform.forgejo if tailnet is None and cfg.forgejo and cfg.forgejo.node == runner.node else None
        )
        platform.runners[runner.env] = Runner(
            f"runner-{runner.env}",
            RunnerArgs(
                config=runner,
                image=images["forgejo-runner"],
                provider=nodes[runner.node].provider,
                logging=cfg.logging,
                forgejo_url=runner_forgejo_url(cfg, runner),
                secret=secrets.runner_secrets[runner.env],
                network=local_forgejo.network if local_forgejo else None,
                sidecar_image=sidecar_image,
                auth_key=platform.auth_key(f"ts-runner-{runner.env}"),
                job_image=images["python-base"],
            ),
        )
    return platform


def app_environments(
    cfg: PlatformConfig, secrets: Secrets, images: dict[str, str], platform: OperatorPlatform
) -> dict[str, AppEnvironment]:
    """One `AppEnvironment` per environment: all that a CI deploy changes."""
    assert secrets.registry_password is not None
    push = RegistryPush(
        server=registry_server(cfg),
        username=cfg.app.registry_username,
        password=secrets.registry_password,
    )
    analytics = {
        "CF_ANALYTICS_PLAN_USER_LIMIT": str(cfg.tailnet.user_quota),
    }
    if cfg.tailnet.admins:
        analytics["CF_ANALYTICS_ADMINS"] = json.dumps(list(cfg.tailnet.admins))
        # Production batches are written by the tailnet's admins: the policy file's own group, so the
        # app and the tailnet agree on who that is (app/bi/writers.py).
        analytics["CF_TAILNET_GROUPS"] = json.dumps(build_policy(cfg.tailnet)["groups"], sort_keys=True)
        analytics["CF_PRODUCTION_WRITERS"] = json.dumps([ADMINS])
    envs: dict[str, AppEnvironment] = {}
    for env in cfg.environments if cfg.declares("environments") else ():
        envs[env.name] = AppEnvironment(
            env.name,
            AppEnvironmentArgs(
                env=env,
                app=cfg.app,
                images=Images(
                    tailscale=images["tailscale"],
                    nginx=images["nginx"],
                    python_base=images["python-base"],
                    debian_base=images["debian-base"],
                ),
                provider=platform.nodes[env.node].provider,
                logging=cfg.logging,
                registry=push,
                tailnet_name=cfg.tailnet.name if cfg.tailnet.enabled else None,
                auth_key=platform.auth_key(f"ts-{env.name}"),
                anthropic_api_key=secrets.anthropic_api_key,
                analytics_env=analytics,
                image_depends_on=[platform.registry.container] if platform.registry else [],
            ),
        )
    return envs


def platform() -> None:
    """Declare the running stack (`pulumi.get_stack()`) and export what an operator needs."""
    cfg, secrets = read_config(pulumi.get_stack())
    images = resolve(cfg.images)
    ops = operator_platform(cfg, secrets, images)
    envs = app_environments(cfg, secrets, images, ops)

    pulumi.export("nodes", sorted(cfg.nodes))
    pulumi.export("dashboardUrls", {name: env.url for name, env in envs.items()})
    pulumi.export("appImages", {name: env.image for name, env in envs.items()})
    pulumi.export(
        "imageDigests",
        {name: env.image.apply(lambda ref: ref.rpartition("@")[2]) for name, env in envs.items()},
    )
    if len(envs) == 1:
        # The one environment of a dev/prod/local stack, under the names the deploy tool reads.
        (only,) = envs.values()
        pulumi.export("appUrl", only.url)
        pulumi.export("appImageDigest", only.image.apply(lambda ref: ref.rpartition("@")[2]))
    if ops.forgejo:
        pulumi.export("forgejoUrl", ops.forgejo.url)
    if ops.registry:
        pulumi.export(
            "registryUrl",
            f"https://{ops.registry.address}" if cfg.tailnet.enabled else f"http://{ops.registry.address}",
        )
    if secrets.registry_password is not None:
        pulumi.export(
            "registryLogin",
            {
                "server": registry_server(cfg),
                "username": cfg.app.registry_username,
                "password": secrets.registry_password,
            },
        )

"""Small compliant resources, shaped like the program's, to break one rule at a time in tests."""

from __future__ import annotations

import json
from typing import Any

from tests.policy.model import (
    DOCKER_PROVIDER_TYPE,
    TAILSCALE_PROVIDER_TYPE,
    Resource,
    default_provider,
    docker_provider,
    urn_of,
)

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
ACL = "tailscale:index/acl:Acl"
TAILNET_KEY = "tailscale:index/tailnetKey:TailnetKey"

DIGEST = "sha256:" + "3f1d2b6c" * 8
NGINX = f"docker.io/library/nginx:1.27-alpine@{DIGEST}"
TAILSCALE = f"ghcr.io/tailscale/tailscale:v1.88.4@{DIGEST}"
FORGEJO = f"codeberg.org/forgejo/forgejo:10-rootless@{DIGEST}"
REGISTRY = f"docker.io/library/registry:2.8.3@{DIGEST}"
RUNNER = f"data.forgejo.org/forgejo/runner:6.3.1@{DIGEST}"
APP = f"registry.tailfa57c0.ts.net/chocolate-factory/app@{DIGEST}"

RUNNER_CONFIG = """\
log:
  level: info
runner:
  file: /data/.runner
  capacity: 1
container:
  privileged: false
  docker_host: "-"
  valid_volumes: []
"""


def _merged(overrides: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    return {**defaults, **overrides}


def node(stack: str = "dev") -> Resource:
    return docker_provider(stack, f"{stack}-node", f"ssh://deploy@{stack}-node")


def container(name: str = "web-dev", stack: str = "dev", **inputs: Any) -> Resource:
    """A container that every policy accepts; `inputs` replace (or, as None, remove) its inputs."""
    base: dict[str, Any] = {
        "name": name,
        "image": NGINX,
        "user": "10001:10001",
        "healthcheck": {"tests": ["CMD", "wget", "--spider", "http://127.0.0.1:8080/"], "retries": 3},
        "restart": "unless-stopped",
        "logDriver": "json-file",
        "logOpts": {"max-size": "10m", "max-file": "3"},
        "memory": 256,
        "memorySwap": 256,
        "privileged": False,
        "capabilities": {"drops": ["ALL"], "adds": ["SETUID", "CAP_CHOWN"]},
        "readOnly": True,
        "securityOpts": ["no-new-privileges:true"],
        "ports": [{"internal": 8080, "external": 8080, "ip": "127.0.0.1", "protocol": "tcp"}],
        "envs": [
            "CF_ENVIRONMENT=dev",
            "TS_AUTHKEY=file:/run/secrets/ts-authkey",
            "CF_ANTHROPIC_API_KEY_FILE=/run/secrets/anthropic",
            "TS_AUTH_ONCE=true",
            "CF_CHAT_MAX_TOKENS=1024",
        ],
        "labels": [{"label": "chocolate-factory.env", "value": stack}],
        "volumes": [{"volumeName": f"logs-{stack}", "containerPath": "/var/log/nginx"}],
        "uploads": [
            {"file": "/run/secrets/ts-authkey", "content": "tskey-auth-kXXXX", "permissions": "0400"}
        ],
    }
    resource = Resource(
        type=CONTAINER, name=name, inputs=base, urn=urn_of(stack, CONTAINER, name), provider=node(stack)
    )
    return resource.with_inputs(**inputs)


def forgejo(stack: str = "prod", **inputs: Any) -> Resource:
    return container(
        "forgejo",
        stack,
        **_merged(
            image=FORGEJO,
            user="1000:1000",
            capabilities={"drops": ["ALL"]},
            envs=[
                "FORGEJO__server__ROOT_URL=https://git.tailfa57c0.ts.net/",
                "FORGEJO__service__DISABLE_REGISTRATION=true",
                "FORGEJO__security__INSTALL_LOCK=true",
                "FORGEJO__security__SECRET_KEY_URI=file:/run/secrets/secret-key",
                "FORGEJO__actions__ENABLED=true",
            ],
            volumes=[{"volumeName": "forgejo-data", "containerPath": "/var/lib/gitea"}],
            ports=None,
            overrides=inputs,
        ),
    )


def registry(stack: str = "prod", **inputs: Any) -> Resource:
    return container(
        "registry",
        stack,
        **_merged(
            image=REGISTRY,
            capabilities={"drops": ["ALL"]},
            envs=[
                "REGISTRY_AUTH=htpasswd",
                "REGISTRY_AUTH_HTPASSWD_REALM=chocolate-factory",
                "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
                "REGISTRY_STORAGE_DELETE_ENABLED=true",
            ],
            volumes=[{"volumeName": "registry-data", "containerPath": "/var/lib/registry"}],
            uploads=[
                {
                    "file": "/auth/htpasswd",
                    "content": "ci:$2y$05$abcdefghijklmnopqrstuv",
                    "permissions": "0400",
                }
            ],
            ports=None,
            overrides=inputs,
        ),
    )


def runner(stack: str = "dev", **inputs: Any) -> Resource:
    return container(
        f"runner-{stack}",
        stack,
        **_merged(
            image=RUNNER,
            user="1000:1000",
            capabilities={"drops": ["ALL"]},
            readOnly=False,
            envs=["CONFIG_FILE=/data/config.yml"],
            volumes=[{"volumeName": f"runner-{stack}-data", "containerPath": "/data"}],
            uploads=[{"file": "/data/config.yml", "content": RUNNER_CONFIG}],
            ports=None,
            overrides=inputs,
        ),
    )


def remote_image(reference: str, stack: str = "dev", name: str = "nginx") -> Resource:
    return Resource(
        type=REMOTE_IMAGE,
        name=name,
        inputs={"name": reference, "keepLocally": True},
        urn=urn_of(stack, REMOTE_IMAGE, name),
        provider=node(stack),
    )


def volume(name: str, stack: str = "prod", protect: bool = False, data_label: bool = False) -> Resource:
    labels = [{"label": "chocolate-factory.data", "value": "true"}] if data_label else []
    return Resource(
        type=VOLUME,
        name=name,
        inputs={"name": name, **({"labels": labels} if labels else {})},
        urn=urn_of(stack, VOLUME, name),
        provider=node(stack),
        protect=protect,
    )


def tailscale_provider(stack: str = "prod") -> Resource:
    return Resource(
        type=TAILSCALE_PROVIDER_TYPE,
        name="tailnet",
        inputs={"tailnet": "tailfa57c0.ts.net"},
        urn=urn_of(stack, TAILSCALE_PROVIDER_TYPE, "tailnet"),
    )


def tailnet_key(name: str = "ts-dev", stack: str = "dev", **inputs: Any) -> Resource:
    base = {"tags": ["tag:dev"], "preauthorized": True, "reusable": False, "ephemeral": False, "expiry": 3600}
    resource = Resource(
        type=TAILNET_KEY,
        name=name,
        inputs=base,
        urn=urn_of(stack, TAILNET_KEY, name),
        provider=tailscale_provider(stack),
    )
    return resource.with_inputs(**inputs)


POLICY_FILE: dict[str, Any] = {
    "tagOwners": {"tag:git": ["autogroup:admin"], "tag:dev": ["autogroup:admin"]},
    "acls": [{"action": "accept", "src": ["autogroup:admin"], "dst": ["*:*"]}],
    "tests": [
        {"src": "operator@chocolatefactory.example", "accept": ["tag:dev:443"]},
        {"src": "tag:dev", "deny": ["tag:git:22"]},
    ],
}


def acl(stack: str = "prod", document: str | None = None, name: str = "tailnet-policy") -> Resource:
    text = json.dumps(POLICY_FILE, indent=2) if document is None else document
    return Resource(
        type=ACL,
        name=name,
        inputs={"acl": text, "overwriteExistingContent": True},
        urn=urn_of(stack, ACL, name),
        provider=tailscale_provider(stack),
    )


def on_default_provider(resource: Resource) -> Resource:
    stack = resource.urn.split("::", 1)[0].split(":")[2]
    copy = resource.with_inputs()
    copy.provider = default_provider("docker", stack, "5.2.0")
    return copy


__all__ = ["DOCKER_PROVIDER_TYPE", "node"]

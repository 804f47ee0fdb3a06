"""Policy configuration: each configurable policy's schema and defaults.

The engine fills a policy's config from the schema's `default` values, then from the pack's
`--policy-pack-config` file, and sends it with `Configure`. A policy called without config (a unit
test, an engine that sends none) falls back to the same defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import PolicyConfigSchema

# Docker grants these to every container by default; re-adding one after `drops: ["ALL"]` gives no
# more than a default container has. Anything else (NET_ADMIN, SYS_ADMIN, ...) must be reviewed.
DEFAULT_ALLOWED_CAPABILITIES: Final = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)

# Image repositories allowed to run as root, each with the reason an operator reviewed.
DEFAULT_ROOT_IMAGES: Final[Mapping[str, str]] = {
    "tailscale/tailscale": (
        "containerboot runs tailscaled, which needs root to own its state and socket; userspace "
        "networking, no capability beyond Docker's defaults"
    ),
    "nginx": (
        "the upstream entrypoint prepares /etc/nginx and its cache as root before the master drops "
        "its workers to the nginx user; it listens on an unprivileged port"
    ),
    "registry": (
        "the upstream image has no unprivileged user and its storage directory is root-owned; it "
        "listens on an unprivileged port behind the sidecar and adds no capability"
    ),
}

# Image repositories whose containers keep a writable root file system, each with the reason.
DEFAULT_WRITABLE_ROOT_IMAGES: Final[Mapping[str, str]] = {
    "forgejo/runner": (
        "jobs run in the runner's own container (host-mode labels) and install their tools and caches "
        "under its home and /tmp, wherever a workflow puts them"
    ),
}

# Image repositories that add capabilities back after dropping them all: which, and why.
DEFAULT_ADDED_CAPABILITIES: Final[Mapping[str, Mapping[str, Any]]] = {
    "nginx": {
        "capabilities": ["CHOWN", "SETGID", "SETUID"],
        "reason": (
            "the master (root) creates its temp directories for the workers' user and switches the "
            "workers to that user; it binds 8080, so no NET_BIND_SERVICE"
        ),
    },
}

DEFAULT_DIGEST_STACKS: Final = ("prod",)
DEFAULT_REUSABLE_KEY_MAX_EXPIRY_DAYS: Final = 30
DEFAULT_ACL_OWNER_STACK: Final = "prod"

CAPABILITIES_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "allowedCapabilities": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Linux capabilities a container may add (without the CAP_ prefix).",
            "default": list(DEFAULT_ALLOWED_CAPABILITIES),
        }
    }
)

ROOT_IMAGES_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "rootImages": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": "Image repository (e.g. tailscale/tailscale) -> why it must run as root.",
            "default": dict(DEFAULT_ROOT_IMAGES),
        }
    }
)

CONFINEMENT_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "writableRootImages": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": "Image repository -> why its containers need a writable root file system.",
            "default": dict(DEFAULT_WRITABLE_ROOT_IMAGES),
        },
        "addedCapabilities": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "capabilities": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "reason": {"type": "string", "minLength": 1},
                },
                "required": ["capabilities", "reason"],
                "additionalProperties": False,
            },
            "description": "Image repository -> the capabilities it adds back after dropping all, and why.",
            "default": {repo: dict(grant) for repo, grant in DEFAULT_ADDED_CAPABILITIES.items()},
        },
    }
)

DIGEST_STACKS_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "digestStacks": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Stacks whose images must be pinned by digest (repo@sha256:...).",
            "default": list(DEFAULT_DIGEST_STACKS),
        }
    }
)

KEY_EXPIRY_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "reusableKeyMaxExpiryDays": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Longest expiry a reusable, non-ephemeral auth key may have, in days.",
            "default": DEFAULT_REUSABLE_KEY_MAX_EXPIRY_DAYS,
        }
    }
)

ACL_OWNER_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "aclOwnerStack": {
            "type": "string",
            "minLength": 1,
            "description": "The one stack that declares the tailnet policy file (tailscale.Acl).",
            "default": DEFAULT_ACL_OWNER_STACK,
        }
    }
)


def setting(config: Mapping[str, Any], key: str, default: Any) -> Any:
    """`config[key]`, or `default` when the engine sent no value for it."""
    value = config.get(key)
    return default if value is None else value

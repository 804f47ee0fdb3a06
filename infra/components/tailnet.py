"""The tailnet as code: the policy file (only in the owning stack) and one auth key per sidecar."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_tailscale as tailscale

from infra import tokens
from infra.config import TailnetConfig
from infra.tailnet_policy import build_policy, policy_problems


@dataclass(frozen=True)
class TailnetArgs:
    config: TailnetConfig
    oauth_client_secret: pulumi.Input[str]
    sidecars: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Sidecar name -> the tags its auth key carries."""


class Tailnet(pulumi.ComponentResource):
    """`auth_keys[sidecar]` is a secret: a single-use, tagged, preauthorized key for that sidecar."""

    acl: tailscale.Acl | None
    auth_keys: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TailnetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.TAILNET, name, None, opts)
        cfg = args.config
        provider = tailscale.Provider(
            f"{name}-api",
            tailnet=cfg.name,
            oauth_client_id=cfg.oauth_client_id,
            oauth_client_secret=args.oauth_client_secret,
            scopes=["auth_keys", "policy_file"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.acl = None
        if cfg.owns_policy:
            policy = build_policy(cfg)
            problems = policy_problems(cfg, policy)
            if problems:
                raise ValueError("the tailnet policy is incomplete: " + "; ".join(problems))
            self.acl = tailscale.Acl(
                f"{name}-policy",
                acl=json.dumps(policy, indent=2, sort_keys=True),
                overwrite_existing_content=True,
                reset_acl_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
        self.auth_keys = {}
        for sidecar, tags in sorted(args.sidecars.items()):
            key = tailscale.TailnetKey(
                f"{sidecar}-authkey",
                description=f"{sidecar} sidecar",
                tags=list(tags),
                preauthorized=True,
                reusable=False,
                ephemeral=False,
                expiry=cfg.auth_key_expiry_seconds,
                recreate_if_invalid="never",
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=provider,
                    depends_on=[self.acl] if self.acl is not None else [],
                    additional_secret_outputs=["key"],
                ),
            )
            self.auth_keys[sidecar] = pulumi.Output.secret(key.key)
        self.register_outputs({"ownsPolicy": cfg.owns_policy, "sidecars": sorted(args.sidecars)})

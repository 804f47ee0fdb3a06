"""One ComponentResource per concern.

Operator-owned platform (changed only by an operator's `pulumi up`): `Node`, `Tailnet`, `Forgejo`,
`Registry`, `Runner`. CI-deployable (what a pipeline's deploy targets): `AppEnvironment`.
"""

from infra.components.app_environment import AppEnvironment, AppEnvironmentArgs
from infra.components.forgejo import Forgejo, ForgejoArgs
from infra.components.node import Node, NodeArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.runner import Runner, RunnerArgs
from infra.components.tailnet import Tailnet, TailnetArgs

__all__ = [
    "AppEnvironment",
    "AppEnvironmentArgs",
    "Forgejo",
    "ForgejoArgs",
    "Node",
    "NodeArgs",
    "Registry",
    "RegistryArgs",
    "Runner",
    "RunnerArgs",
    "Tailnet",
    "TailnetArgs",
]

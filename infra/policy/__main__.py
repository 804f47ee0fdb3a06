"""The pack's entry point. The engine runs `python -m pulumi.policy <engine address> .` here.

Constructing the PolicyPack serves the Analyzer gRPC service and blocks: import nothing from here.
"""

from platform_policies import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Security and operations rules of the chocolate-factory platform (every stack).",
)

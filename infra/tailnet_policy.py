"""The tailnet policy file, built as data from the stack config (no Pulumi here: a pure function).

Who reaches what:
- admins reach every port of the git, dev and prod nodes (and of their sidecars, which carry the
  node's tag), but not the runners' sidecars;
- dashboard users reach the dashboards (HTTPS, 443) of dev and prod, nothing else;
- runners (`tag:ci`) reach Forgejo and the registry on the git node (443), and each deploy runner
  reaches its own node only: SSH to deploy (`tag:ci-dev` -> `tag:dev:22`) and the dashboard's HTTPS
  port for the smoke suite after a deploy (`tag:ci-dev` -> `tag:dev:443`). The untrusted `ci` runner
  is `tag:ci` alone: it reaches no node.

Every rule has a test with accept and deny cases; Tailscale runs them before it accepts a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra.config import ENVIRONMENTS, TailnetConfig

ADMINS = "group:admins"
DASHBOARD_USERS = "group:dashboard"
GIT = "tag:git"
CI = "tag:ci"


def node_tag(node_role: str) -> str:
    """Tag of a node and of the sidecars that run on it: `tag:git`, `tag:dev`, `tag:prod`."""
    return f"tag:{node_role}"


def runner_tags(env: str) -> list[str]:
    """Tags of the sidecar of the runner of `env`: every runner is `tag:ci`, plus its own `tag:ci-<env>`."""
    return [CI, f"tag:ci-{env}"]


def all_tags() -> list[str]:
    return [GIT, *(node_tag(e) for e in ENVIRONMENTS), CI, *(f"tag:ci-{e}" for e in ENVIRONMENTS)]


def build_policy(tailnet: TailnetConfig) -> dict[str, Any]:
    """The policy file (as JSON-ready data) for `tailnet`."""
    env_tags = [node_tag(e) for e in ENVIRONMENTS]
    admin = tailnet.admins[0] if tailnet.admins else None
    dashboard_user = tailnet.dashboard_users[0] if tailnet.dashboard_users else admin

    acls: list[dict[str, Any]] = [
        {"action": "accept", "src": [ADMINS], "dst": [f"{t}:*" for t in (GIT, *env_tags)]},
        {"action": "accept", "src": [DASHBOARD_USERS], "dst": [f"{t}:443" for t in env_tags]},
        {"action": "accept", "src": [CI], "dst": [f"{GIT}:443"]},
    ]
    acls += [
        {"action": "accept", "src": [f"tag:ci-{env}"], "dst": [f"{node_tag(env)}:22", f"{node_tag(env)}:443"]}
        for env in ENVIRONMENTS
    ]

    tests: list[dict[str, Any]] = [
        {
            "src": admin,
            "accept": [
                f"{GIT}:22",
                f"{GIT}:443",
                *(f"{t}:22" for t in env_tags),
                *(f"{t}:443" for t in env_tags),
            ],
            "deny": [f"{CI}:22", f"{CI}:443"],
        },
        {
            "src": dashboard_user,
            "accept": [f"{t}:443" for t in env_tags],
            "deny": [*(f"{t}:22" for t in env_tags), f"{GIT}:443", f"{GIT}:22"],
        },
        {"src": CI, "accept": [f"{GIT}:443"], "deny": [f"{GIT}:22", *(f"{t}:443" for t in env_tags)]},
    ]
    for env in ENVIRONMENTS:
        others = [node_tag(o) for o in ENVIRONMENTS if o != env]
        tests.append(
            {
                "src": f"tag:ci-{env}",
                "accept": [f"{node_tag(env)}:22", f"{node_tag(env)}:443"],
                "deny": [
                    *(f"{o}:22" for o in others),
                    *(f"{o}:443" for o in others),
                    f"{node_tag(env)}:8080",
                ],
            }
        )

    return {
        "groups": {ADMINS: list(tailnet.admins), DASHBOARD_USERS: list(tailnet.dashboard_users)},
        "tagOwners": {tag: [ADMINS] for tag in all_tags()},
        "acls": acls,
        "tests": tests,
    }


def _members(policy: Mapping[str, Any], src: str) -> set[str]:
    return set(policy.get("groups", {}).get(src, [])) if src.startswith("group:") else {src}


def _covers(dst: str, case: str) -> bool:
    host, _, port = dst.rpartition(":")
    case_host, _, case_port = case.rpartition(":")
    return host == case_host and (port == "*" or port == case_port)


def untested_rules(policy: Mapping[str, Any]) -> list[str]:
    """Rules of `policy` without a test that accepts each destination and denies something, as text."""
    problems: list[str] = []
    tests = policy.get("tests", [])
    for index, rule in enumerate(policy.get("acls", [])):
        sources: set[str] = set().union(*(_members(policy, s) for s in rule["src"]))
        cases = [t for t in tests if t.get("src") in sources]
        if not any(t.get("deny") for t in cases):
            problems.append(f"acls[{index}] {rule['src']}: no test with a deny case")
        for dst in rule["dst"]:
            if not any(_covers(dst, a) for t in cases for a in t.get("accept", [])):
                problems.append(f"acls[{index}] {rule['src']} -> {dst}: no test accepts it")
    return problems


def policy_problems(tailnet: TailnetConfig, policy: Mapping[str, Any]) -> list[str]:
    """Why `policy` must not be applied; empty when it is sound."""
    problems = untested_rules(policy)
    missing: Sequence[str] = [
        t for t in (GIT, CI, *(node_tag(e) for e in ENVIRONMENTS)) if t not in policy["tagOwners"]
    ]
    problems += [f"tagOwners: {t} has no owner" for t in missing]
    if not tailnet.dashboard_users:
        problems.append("groups: group:dashboard is empty (set chocolate-factory:tailnet.dashboardUsers)")
    return problems

"""The tailnet policy file: declared by the owning stack only, and tested for every rule."""

from __future__ import annotations

import json

from infra.config import load_stack
from infra.tailnet_policy import build_policy, untested_rules
from tests.infra.harness import StackRun
from tests.infra.helpers import ACL, AUTH_KEY, envs, files_holder, uploads


def test_only_the_owning_stack_declares_the_policy_file(runs: dict[str, StackRun]) -> None:
    owners = {stack for stack, run in runs.items() if run.of_type(ACL)}
    assert owners == {"prod"}
    assert len(runs["prod"].of_type(ACL)) == 1


def test_policy_owns_the_platform_tags_and_tests_every_rule(runs: dict[str, StackRun]) -> None:
    policy = json.loads(runs["prod"].of_type(ACL)[0].inputs["acl"])
    assert {"tag:git", "tag:dev", "tag:prod", "tag:ci"} <= set(policy["tagOwners"])
    assert all(owners == ["group:admins"] for owners in policy["tagOwners"].values())
    assert untested_rules(policy) == []
    assert len(policy["tests"]) >= len(policy["acls"])
    assert all(test["accept"] and test["deny"] for test in policy["tests"])


def test_a_rule_without_a_test_is_detected() -> None:
    policy = build_policy(load_stack("prod").tailnet)
    policy["acls"].append({"action": "accept", "src": ["tag:ci"], "dst": ["tag:prod:443"]})
    policy["tests"] = [t for t in policy["tests"] if t["src"] != "tag:ci-dev"]
    assert untested_rules(policy) == [
        "acls[3] ['tag:ci-dev']: no test with a deny case",
        "acls[3] ['tag:ci-dev'] -> tag:dev:22: no test accepts it",
        "acls[3] ['tag:ci-dev'] -> tag:dev:443: no test accepts it",
        "acls[5] ['tag:ci'] -> tag:prod:443: no test accepts it",
    ]


def test_runners_reach_only_their_own_node_and_dashboard_users_only_dashboards() -> None:
    policy = build_policy(load_stack("prod").tailnet)
    rules = {tuple(rule["src"]): rule["dst"] for rule in policy["acls"]}
    # SSH to deploy, and the dashboard's HTTPS for the smoke suite after a deploy.
    assert rules[("tag:ci-dev",)] == ["tag:dev:22", "tag:dev:443"]
    assert rules[("tag:ci-prod",)] == ["tag:prod:22", "tag:prod:443"]
    assert rules[("group:dashboard",)] == ["tag:dev:443", "tag:prod:443"]
    assert not any("*:*" in dst for dst in rules.values())


def test_auth_keys_are_single_use_tagged_preauthorized_and_wait_for_the_policy(
    runs: dict[str, StackRun],
) -> None:
    acl_urn = runs["prod"].of_type(ACL)[0].urn
    for stack in ("prod", "dev"):
        keys = runs[stack].of_type(AUTH_KEY)
        assert keys
        for key in keys:
            assert key.inputs["preauthorized"] is True
            assert key.inputs["reusable"] is False
            assert key.inputs["tags"], key.name
            assert 0 < key.inputs["expiry"] <= 86400
            assert key.provider is not None
            if stack == "prod":
                assert acl_urn in key.dependencies, key.name
    tags = {k.name: k.inputs["tags"] for k in runs["prod"].of_type(AUTH_KEY)}
    assert tags == {
        "ts-forgejo-authkey": ["tag:git"],
        "ts-registry-authkey": ["tag:git"],
        "ts-runner-prod-authkey": ["tag:ci", "tag:ci-prod"],
        "ts-prod-authkey": ["tag:prod"],
    }
    assert runs["local"].of_type(AUTH_KEY) == []


def test_sidecars_get_their_auth_key_as_a_secret_file_and_run_in_userspace(runs: dict[str, StackRun]) -> None:
    for stack in ("prod", "dev"):
        sidecars = [c for c in runs[stack].containers if c.name.startswith("ts-")]
        assert sidecars
        for sidecar in sidecars:
            environment = envs(sidecar)
            assert environment["TS_USERSPACE"] == "true"
            assert environment["TS_AUTHKEY"] == "file:/run/secrets/tailscale-authkey"
            assert not [v for v in environment.values() if v.startswith("tskey-")]
            key_file = uploads(runs[stack], sidecar)["/run/secrets/tailscale-authkey"]
            assert key_file["content"].startswith("tskey-auth-")
            assert "uploads" in files_holder(runs[stack], sidecar).secret_properties
            assert key_file["permissions"] == "0400"


def test_the_dashboard_sidecar_serves_https_to_nginx_on_loopback(runs: dict[str, StackRun]) -> None:
    sidecar = runs["prod"].container("ts-prod")
    serve = json.loads(uploads(runs["prod"], sidecar)["/config/serve.json"]["content"])
    assert serve == {
        "TCP": {"443": {"HTTPS": True}},
        "Web": {"${TS_CERT_DOMAIN}:443": {"Handlers": {"/": {"Proxy": "http://127.0.0.2:8080"}}}},
    }
    assert envs(sidecar)["TS_HOSTNAME"] == "factory"
    assert envs(sidecar)["TS_SOCKET"] == "/var/run/tailscale-shared/tailscaled.sock"

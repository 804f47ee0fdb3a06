"""The pack as the engine sees it: its metadata, its configuration, and its documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from infra.images import ADDED_CAPABILITIES, PINNED, ROOT_IMAGES, WRITABLE_ROOT_IMAGES
from infra.policy.platform_policies.images import parse_image
from infra.policy.platform_policies.settings import (
    DEFAULT_ADDED_CAPABILITIES,
    DEFAULT_ROOT_IMAGES,
    DEFAULT_WRITABLE_ROOT_IMAGES,
)
from tests.policy import cases as p
from tests.policy import fixtures as f
from tests.policy.engine import Analyzer, reconcile_config


def test_pack_reports_every_policy_with_its_level_and_kind(analyzer: Analyzer) -> None:
    assert analyzer.info is not None
    assert analyzer.info.name == "chocolate-factory-platform"
    assert analyzer.info.supportsConfig
    levels = {policy.name: analyzer.config[policy.name].level for policy in analyzer.info.policies}
    expected = {
        name: "advisory" if name in p.ADVISORY else "mandatory"
        for name in p.RESOURCE_POLICIES + p.STACK_POLICIES
    }
    assert levels == expected
    stack_kind = {policy.name for policy in analyzer.info.policies if policy.policy_type == 2}
    assert stack_kind == set(p.STACK_POLICIES)


def test_every_description_says_how_to_fix(analyzer: Analyzer) -> None:
    assert analyzer.info is not None
    assert [policy.name for policy in analyzer.info.policies if "Fix:" not in policy.description] == []


def test_pack_runs_in_the_repository_virtualenv(pack_dir: Path, repo_root: Path) -> None:
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert (pack_dir / project["runtime"]["options"]["virtualenv"]).resolve() == (
        repo_root / ".venv"
    ).resolve()
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(project["version"]))


def test_docs_table_lists_the_pack_s_policies(analyzer: Analyzer, repo_root: Path) -> None:
    text = (repo_root / "docs" / "policy.md").read_text()
    rows = re.findall(r"^\| (\d+) \| `([a-z0-9-]+)` \| (mandatory|advisory) \|", text, re.MULTILINE)
    assert analyzer.info is not None
    assert [(name, level) for _, name, level in rows] == [
        (policy.name, analyzer.config[policy.name].level) for policy in analyzer.info.policies
    ]


def test_root_image_exceptions_match_the_program_s() -> None:
    program = {parse_image(PINNED[name]).repository for name in ROOT_IMAGES}
    assert program == set(DEFAULT_ROOT_IMAGES)


def test_confinement_exceptions_match_the_program_s() -> None:
    writable = {parse_image(PINNED[name]).repository: reason for name, reason in WRITABLE_ROOT_IMAGES.items()}
    assert set(writable) == set(DEFAULT_WRITABLE_ROOT_IMAGES)
    added = {
        parse_image(PINNED[name]).repository: sorted(c.removeprefix("CAP_") for c in capabilities)
        for name, (capabilities, _reason) in ADDED_CAPABILITIES.items()
    }
    assert added == {
        repo: sorted(grant["capabilities"]) for repo, grant in DEFAULT_ADDED_CAPABILITIES.items()
    }


def test_confinement_exceptions_come_from_config(default_config: Analyzer) -> None:
    python = f.container(
        image="python:3.11.9-slim", readOnly=False, capabilities={"drops": ["ALL"], "adds": ["SETUID"]}
    )
    assert [d.detail for d in default_config.analyze(python) if d.policy == p.CONFINED] == [
        "container 'web-dev' (image python) has a writable root file system (readOnly is not true).",
        "container 'web-dev' (image python) adds capabilities its image is not granted: SETUID.",
    ]
    default_config.configure(
        {
            p.CONFINED: {
                "writableRootImages": {"python": "reviewed: compiles its bytecode at start"},
                "addedCapabilities": {
                    "python": {"capabilities": ["SETUID"], "reason": "reviewed: drops to a user"}
                },
            }
        }
    )
    assert [d for d in default_config.analyze(python) if d.policy == p.CONFINED] == []
    nginx = f.container(readOnly=False)
    assert [d.detail for d in default_config.analyze(nginx) if d.policy == p.CONFINED] == [
        "container 'web-dev' (image nginx) has a writable root file system (readOnly is not true).",
        "container 'web-dev' (image nginx) adds capabilities its image is not granted: CHOWN, SETUID.",
    ], "a configured value replaces the defaults"


def test_a_confinement_exception_without_a_reason_is_refused(analyzer: Analyzer) -> None:
    assert analyzer.info is not None
    with pytest.raises(ValueError, match="containers-read-only-and-capabilities-dropped"):
        reconcile_config(analyzer.info, {p.CONFINED: {"writableRootImages": {"python": ""}}})
    with pytest.raises(ValueError, match="containers-read-only-and-capabilities-dropped"):
        reconcile_config(
            analyzer.info, {p.CONFINED: {"addedCapabilities": {"python": {"capabilities": ["SETUID"]}}}}
        )


def test_capability_allowlist_comes_from_config(default_config: Analyzer) -> None:
    container = f.container(capabilities={"drops": ["ALL"], "adds": ["NET_ADMIN"]})
    assert [d.policy for d in default_config.analyze(container) if d.policy != p.CONFINED] == [p.PRIVILEGED]
    default_config.configure({p.PRIVILEGED: {"allowedCapabilities": ["NET_ADMIN"]}})
    assert [d for d in default_config.analyze(container) if d.policy == p.PRIVILEGED] == []
    assert [d.detail for d in default_config.analyze(f.container())] == [
        "container 'web-dev' adds capabilities outside allowedCapabilities: CHOWN, SETUID."
    ]


def test_root_exception_comes_from_config(default_config: Analyzer) -> None:
    python = f.container(image="python:3.11.9-slim", user=None, capabilities={"drops": ["ALL"]})
    assert [d.policy for d in default_config.analyze(python)] == [p.NON_ROOT]
    default_config.configure({p.NON_ROOT: {"rootImages": {"python": "reviewed: a one-off migration"}}})
    assert default_config.analyze(python) == []


def test_root_exception_without_a_reason_is_refused(analyzer: Analyzer) -> None:
    assert analyzer.info is not None
    with pytest.raises(ValueError, match="containers-run-as-non-root"):
        reconcile_config(analyzer.info, {p.NON_ROOT: {"rootImages": {"python": ""}}})


def test_stacks_that_need_digests_come_from_config(default_config: Analyzer) -> None:
    tagged = f.container(image="nginx:1.27.3")
    assert default_config.analyze(tagged) == []
    default_config.configure({p.PINNED: {"digestStacks": ["dev", "prod"]}})
    assert [d.policy for d in default_config.analyze(tagged)] == [p.PINNED]


def test_key_expiry_bound_comes_from_config(default_config: Analyzer) -> None:
    week = f.tailnet_key(reusable=True, expiry=7 * 86400)
    assert default_config.analyze(week) == []
    default_config.configure({p.KEYS: {"reusableKeyMaxExpiryDays": 1}})
    assert [d.detail for d in default_config.analyze(week)] == [
        "reusable auth key 'ts-dev' is not ephemeral and expires after 7 days, beyond the 1-day bound."
    ]


def test_policy_file_owner_comes_from_config(default_config: Analyzer) -> None:
    default_config.configure({p.ACL: {"aclOwnerStack": "dev"}})
    assert default_config.analyze_stack([f.container(), f.acl("dev")]) == []
    assert [d.detail for d in default_config.analyze_stack([f.acl("prod")])] == [
        "stack 'prod' declares the tailnet policy file 'tailnet-policy'; only stack 'dev' may."
    ]


def test_an_advisory_rule_can_be_made_mandatory(default_config: Analyzer) -> None:
    stack = [f.forgejo(), f.volume("forgejo-data")]
    levels = {d.level for d in default_config.analyze_stack(stack) if d.policy == p.VOLUMES}
    assert levels == {"advisory"}
    default_config.configure({p.VOLUMES: "mandatory"})
    levels = {d.level for d in default_config.analyze_stack(stack) if d.policy == p.VOLUMES}
    assert levels == {"mandatory"}

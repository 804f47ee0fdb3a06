"""The Forgejo workflows: they pass actionlint and zizmor, and they do what the delivery design says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".forgejo" / "workflows"
ACTIONLINT_CONFIG = REPO_ROOT / ".forgejo" / "actionlint.yaml"
BIN = Path(sys.executable).parent
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return dict(document)


def evaluate(text: str, **github: str) -> object:
    """A workflow value with `${{ }}` expressions of `==`, `&&`, `||` and literals, as the runner reads it."""
    context = {"github": SimpleNamespace(**{"base_ref": "", "event_name": "push", **github})}

    def value(expression: str) -> object:
        python = expression.replace("&&", " and ").replace("||", " or ")
        return eval(python, {"__builtins__": {}}, context)  # noqa: S307 - our own workflow's expression

    whole = EXPRESSION.fullmatch(text.strip())
    if whole:
        return value(whole.group(1))
    assert EXPRESSION.search(text), f"no expression in {text!r}"
    return EXPRESSION.sub(lambda match: str(value(match.group(1))), text)


def lint(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, cwd=REPO_ROOT)


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, step)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job in workflow(path.name)["jobs"].values()
        for step in job["steps"]
    ]


def test_the_workflows_pass_actionlint() -> None:
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 3
    result = lint("actionlint", "-config-file", str(ACTIONLINT_CONFIG), *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflows_pass_zizmor() -> None:
    workflows = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    result = lint("zizmor", "--offline", "--persona", "pedantic", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_the_linters_reject_an_injectable_unpinned_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request_target\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: dev\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    assert lint("zizmor", "--offline", str(bad)).returncode != 0
    assert lint("actionlint", "-config-file", str(ACTIONLINT_CONFIG), str(bad)).returncode != 0


@pytest.mark.parametrize(("branch", "stack"), [("develop", "dev"), ("main", "prod")])
def test_a_push_deploys_its_stack_on_that_stacks_runner(branch: str, stack: str) -> None:
    deploy = workflow("deploy.yml")
    assert set(deploy["on"]["push"]["branches"]) == {"develop", "main"}
    (job,) = deploy["jobs"].values()
    assert evaluate(job["runs-on"], ref_name=branch) == stack
    assert evaluate(job["env"]["STACK"], ref_name=branch) == stack
    assert evaluate(job["concurrency"]["group"], ref_name=branch) == f"deploy-{stack}"
    assert job["concurrency"]["cancel-in-progress"] is False, "a running deploy is never cancelled"


def test_the_deploy_builds_pushes_then_hands_the_digest_to_the_deploy_tool() -> None:
    (job,) = workflow("deploy.yml")["jobs"].values()
    runs = [str(step.get("run", "")) for step in job["steps"]]
    image = next(i for i, run in enumerate(runs) if "infra.deploy image" in run)
    deploy = next(i for i, run in enumerate(runs) if "infra.deploy deploy" in run)
    assert image < deploy and "--push" in runs[image]
    step = job["steps"][deploy]
    assert step["env"]["DIGEST"] == "${{ steps.image.outputs.digest }}"
    assert '--stack "$STACK"' in runs[deploy] and '--digest "$DIGEST"' in runs[deploy]
    assert {"PULUMI_CONFIG_PASSPHRASE", "ANTHROPIC_API_KEY"} <= set(step["env"])


def test_secrets_reach_steps_only_through_env_and_are_never_echoed() -> None:
    for name, step in all_steps():
        run = str(step.get("run", ""))
        assert "secrets." not in run, f"{name}: a secret is expanded into a script: {run!r}"
        for value in (step.get("env") or {}).values():
            if "secrets." in str(value):
                assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", str(value)), value
        # The one echo of a secret allowed is the credential helper's answer, which goes to git.
        shown = re.sub(r"credential\.helper=![^']*", "", run)
        assert not re.search(
            r"(echo|printf)[^|\n]*\$(REGISTRY_PASSWORD|PULUMI_CONFIG_PASSPHRASE|MIRROR_TOKEN)\b[^|]*$",
            shown,
            re.M,
        )
        assert "set -x" not in run


def test_every_action_is_pinned_by_commit() -> None:
    uses = [str(step["uses"]) for _, step in all_steps() if "uses" in step]
    assert uses
    for action in uses:
        assert PINNED_ACTION.match(action), f"{action} is not pinned to a 40-hex commit"


def test_ci_lints_types_tests_and_previews_the_affected_stack_with_the_policy_pack() -> None:
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"] and "push" in ci["on"]
    runs = " ".join(str(step.get("run", "")) for job in ci["jobs"].values() for step in job["steps"])
    for command in ("make lint", "make types", "make pytest", "--policy-pack infra/policy"):
        assert command in runs
    preview = ci["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert evaluate(preview["runs-on"], base_ref="main", ref_name="feature") == "prod"
    assert evaluate(preview["runs-on"], base_ref="develop", ref_name="feature") == "dev"
    assert evaluate(preview["runs-on"], ref_name="main") == "prod"


def test_every_push_is_mirrored_to_github_with_the_token_kept_out_of_urls() -> None:
    mirror = workflow("mirror.yml")
    assert mirror["on"]["push"] == {"branches": ["**"], "tags": ["**"]}
    (job,) = mirror["jobs"].values()
    push = next(step for step in job["steps"] if "git" in str(step.get("run", "")))
    assert push["env"]["MIRROR_TOKEN"] == "${{ secrets.MIRROR_TOKEN }}"
    assert "credential.helper" in push["run"] and "@github.com" not in push["run"]

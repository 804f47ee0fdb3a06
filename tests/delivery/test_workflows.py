"""The Forgejo workflows: they pass actionlint and zizmor, and they do what the delivery design says."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from infra.config import CI_LABEL, deploy_label
from tests.infra.harness import run_stack
from tests.infra.helpers import uploads

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
    assert len(files) >= 2
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


def test_every_action_is_pinned_by_commit() -> None:
    uses = [str(step["uses"]) for _, step in all_steps() if "uses" in step]
    assert uses
    for action in uses:
        assert PINNED_ACTION.match(action), f"{action} is not pinned to a 40-hex commit"


def test_every_push_is_mirrored_to_github_with_the_token_kept_out_of_urls() -> None:
    mirror = workflow("mirror.yml")
    assert mirror["on"]["push"] == {"branches": ["**"], "tags": ["**"]}
    (job,) = mirror["jobs"].values()
    push = next(step for step in job["steps"] if "git" in str(step.get("run", "")))
    assert push["env"]["MIRROR_TOKEN"] == "${{ secrets.MIRROR_TOKEN }}"
    assert "credential.helper" in push["run"] and "@github.com" not in push["run"]


# --- who runs what: pull requests on the untrusted `ci` runner, deploys only after CI ---------------------

PULL_REQUEST = {"event_name": "pull_request", "ref": "refs/pull/7/merge", "ref_name": "7/merge"}
EVENTS: dict[str, dict[str, str]] = {
    "pull request into main": {**PULL_REQUEST, "base_ref": "main", "head_ref": "feature"},
    "pull request into develop": {**PULL_REQUEST, "base_ref": "develop", "head_ref": "feature"},
    "push to develop": {"event_name": "push", "ref": "refs/heads/develop", "ref_name": "develop"},
    "push to main": {"event_name": "push", "ref": "refs/heads/main", "ref_name": "main"},
    "push to a feature branch": {"event_name": "push", "ref": "refs/heads/feature", "ref_name": "feature"},
    "push of a tag": {"event_name": "push", "ref": "refs/tags/v1.0.0", "ref_name": "v1.0.0"},
}
DEPLOYS = {"push to develop": "dev", "push to main": "prod"}
SECRET = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")


def triggers(document: dict[str, Any], github: dict[str, str]) -> bool:
    """Whether a workflow's `on:` fires for the event (branch and tag filters as globs)."""
    on = document["on"]
    filters = on.get(github["event_name"], None) if isinstance(on, dict) else None
    if github["event_name"] not in on:
        return False
    if github["event_name"] != "push" or not filters:
        return True
    kind, _, name = github["ref"].removeprefix("refs/").partition("/")
    patterns = filters.get("branches" if kind == "heads" else "tags")
    return patterns is not None and any(fnmatch.fnmatch(name, p.replace("**", "*")) for p in patterns)


def runs(job: dict[str, Any], github: dict[str, str]) -> bool:
    """Whether a job's `if:` holds for the event (no `if:` means it always runs)."""
    condition = job.get("if")
    if condition is None:
        return True
    text = str(condition).strip()
    return bool(evaluate(text if EXPRESSION.fullmatch(text) else "${{ " + text + " }}", **github))


def jobs_run_by(event: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(workflow file, job id, job, runs-on label) of every job the event starts."""
    github = EVENTS[event]
    started = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = workflow(path.name)
        if not triggers(document, github):
            continue
        for job_id, job in document["jobs"].items():
            if runs(job, github):
                label = job["runs-on"]
                if EXPRESSION.search(str(label)):
                    label = evaluate(str(label), **github)
                started.append((path.name, job_id, job, str(label)))
    return started


def secrets_of(job: dict[str, Any]) -> set[str]:
    return set(SECRET.findall(yaml.safe_dump(job)))


def project_code_runs(job: dict[str, Any]) -> bool:
    """Whether a job runs the checked-out repository's own code (scripts, make, the venv, pytest)."""
    runs_text = " ".join(str(step.get("run", "")) for step in job["steps"])
    return bool(re.search(r"\b(make|bash scripts/|\.venv/|python|pytest|pip)\b", runs_text))


@pytest.mark.parametrize("event", ["pull request into main", "pull request into develop"])
def test_a_pull_request_runs_only_on_the_ci_label_and_gets_no_secret(event: str) -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        on = workflow(path.name)["on"]
        assert "pull_request_target" not in on, f"{path.name} runs pull requests with the base's secrets"
    started = jobs_run_by(event)
    assert any(project_code_runs(job) for _, _, job, _ in started), "a pull request must be tested"
    for file, job_id, job, label in started:
        assert label == CI_LABEL, f"{file} {job_id} runs a pull request's code on {label!r}"
        assert not secrets_of(job), f"{file} {job_id} hands a pull request {sorted(secrets_of(job))}"


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_deploy_labels_run_the_deploy_of_their_own_branch_and_nothing_else(event: str) -> None:
    deploy_jobs = [
        (f, j, job, label) for f, j, job, label in jobs_run_by(event) if label.startswith("deploy-")
    ]
    if event not in DEPLOYS:
        assert deploy_jobs == [], (
            f"{event} starts {[(f, j) for f, j, _, _ in deploy_jobs]} on a deploy runner"
        )
        return
    ((file, job_id, job, label),) = deploy_jobs
    stack = DEPLOYS[event]
    assert label == deploy_label(stack)
    assert evaluate(job["env"]["STACK"], **EVENTS[event]) == stack
    assert evaluate(job["concurrency"]["group"], **EVENTS[event]) == f"deploy-{stack}"
    assert job["concurrency"]["cancel-in-progress"] is False, "a running deploy is never cancelled"


@pytest.mark.parametrize("event", sorted(DEPLOYS))
def test_a_deploy_waits_for_ci_of_the_same_commit_in_the_same_run(event: str) -> None:
    """Forgejo Actions has no `workflow_run`: only `needs:` within one workflow orders CI and deploy."""
    by_file: dict[str, dict[str, dict[str, Any]]] = {}
    for file, job_id, job, _ in jobs_run_by(event):
        by_file.setdefault(file, {})[job_id] = job
    deploys = [
        (f, j, job)
        for f, jobs in by_file.items()
        for j, job in jobs.items()
        if "infra.deploy deploy" in yaml.safe_dump(job)
    ]
    assert deploys, f"{event} deploys nothing"
    for file, job_id, job in deploys:
        needs = job.get("needs")
        needed = [needs] if isinstance(needs, str) else list(needs or [])
        ci_jobs = [by_file[file][n] for n in needed if n in by_file[file]]
        assert ci_jobs, f"{file} {job_id} does not wait for CI (needs: {needs!r})"
        commands = " ".join(str(s.get("run", "")) for ci in ci_jobs for s in ci["steps"])
        for command in ("make lint", "make types", "make pytest"):
            assert command in commands, f"{job_id} waits for a CI without `{command}`"
        assert "always()" not in str(job.get("if", "")), "a deploy must not run when CI failed"


# Secrets a tool reads from its environment by contract, without the script naming them: the Pulumi CLI
# reads PULUMI_CONFIG_PASSPHRASE (https://www.pulumi.com/docs/iac/concepts/secrets/#passphrase), and
# only the deploy tool's commands that open a stack run it (`image` and `smoke` open none).
READ_BY_THE_TOOL = {"PULUMI_CONFIG_PASSPHRASE": re.compile(r"-m infra\.deploy (preview|deploy|rollback)\b")}


def uses_variable(variable: str, step: dict[str, Any]) -> bool:
    script = str(step.get("run", "")) + yaml.safe_dump(step.get("with") or {})
    if re.search(r"\$\{?" + re.escape(variable) + r"\b", script):
        return True
    reader = READ_BY_THE_TOOL.get(variable)
    return reader is not None and bool(reader.search(script))


def test_no_step_gets_a_secret_it_does_not_use() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = workflow(path.name)
        assert not SECRET.search(yaml.safe_dump(document.get("env") or {})), f"{path.name}: workflow env"
        for job_id, job in document["jobs"].items():
            assert not SECRET.search(yaml.safe_dump(job.get("env") or {})), f"{path.name} {job_id}: job env"
            for step in job["steps"]:
                name = step.get("name") or step.get("uses")
                for variable, value in (step.get("env") or {}).items():
                    if SECRET.search(str(value)):
                        assert uses_variable(str(variable), step), (
                            f"{path.name} {job_id} '{name}': {variable} is set but never used"
                        )


def test_the_ci_runner_runs_no_job_with_a_secret_but_the_mirror_push() -> None:
    """The mirror job runs none of the repository's code; its token reaches only its push step."""
    on_ci = {
        (path.name, job_id)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job_id, job in workflow(path.name)["jobs"].items()
        if job["runs-on"] == CI_LABEL
    }
    assert on_ci == {("pipeline.yml", "test"), ("mirror.yml", "github")}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in workflow(path.name)["jobs"].items():
            if job["runs-on"] != CI_LABEL or not secrets_of(job):
                continue
            assert (path.name, secrets_of(job)) == ("mirror.yml", {"MIRROR_TOKEN"}), f"{path.name} {job_id}"
            assert not project_code_runs(job)
            holders = [step for step in job["steps"] if secrets_of(step)]
            assert len(holders) == 1 and "git" in holders[0]["run"]


@pytest.fixture(scope="module")
def declared_runners() -> dict[str, dict[str, Any]]:
    """label -> {kind, stack, backend} of every runner the program declares (Pulumi mocks)."""
    declared: dict[str, dict[str, Any]] = {}
    for stack in ("dev", "prod"):
        run = run_stack(stack)
        for resource in run.containers:
            if resource.name.startswith("runner-"):
                config = yaml.safe_load(uploads(run, resource)["/etc/forgejo-runner/config.yml"]["content"])
                for entry in config["runner"]["labels"]:
                    label, _, backend = entry.partition(":")
                    kind = {item["label"]: item["value"] for item in resource.inputs["labels"]}[
                        "chocolate-factory.runner-kind"
                    ]
                    assert label not in declared, f"{label} is declared twice"
                    declared[label] = {"kind": kind, "stack": stack, "backend": backend}
    return declared


def test_every_label_a_workflow_names_is_a_runner_the_program_declares(
    declared_runners: dict[str, dict[str, Any]],
) -> None:
    linted = yaml.safe_load(ACTIONLINT_CONFIG.read_text())["self-hosted-runner"]["labels"]
    assert sorted(linted) == sorted(declared_runners)
    for event in EVENTS:
        for file, job_id, _, label in jobs_run_by(event):
            assert label in declared_runners, f"{file} {job_id} runs on {label!r}, which no runner serves"
    assert declared_runners[CI_LABEL]["kind"] == "ci"
    assert declared_runners[CI_LABEL]["backend"].startswith("docker://"), "each ci job in a fresh container"
    for stack in ("dev", "prod"):
        assert declared_runners[deploy_label(stack)] == {"kind": "deploy", "stack": stack, "backend": "host"}

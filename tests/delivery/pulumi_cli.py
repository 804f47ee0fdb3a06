"""A stand-in for the `pulumi` CLI, enough of it for the Automation API calls the deploy tool makes.

The real CLI cannot be installed here. This one answers the commands with the CLI's own JSON shapes
(`version`, `stack select`, `config get|set --path`, `up`, `stack output --json`, `stack history
--json`), keeps its state in the JSON file named by PULUMI_STANDIN_STATE, and starts from the
`config:` of the real stack file. `up` makes the configured digest the stack output `appImageDigest`
and records an update (with its config) in the history, or fails for digests listed in `fail_up_for`.
Every argv is appended to the state's `calls`.

    run as:  python -m tests.delivery.pulumi_cli ARGS...   (a `pulumi` shim in PATH execs this)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

TIME = "2026-11-25T10:00:00.000Z"


def _load(path: Path, stack: str) -> dict[str, Any]:
    if path.exists():
        state: dict[str, Any] = json.loads(path.read_text())
        return state
    stack_file = Path.cwd() / "stacks" / f"Pulumi.{stack}.yaml"
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config", {})
    return {"config": config, "history": [], "outputs": {}, "calls": [], "fail_up_for": []}


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def _split(key: str, path: bool) -> tuple[str, list[str]]:
    namespace, _, rest = key.partition(":")
    if not path:
        return key, []
    top, *fields = rest.split(".")
    return f"{namespace}:{top}", fields


def _history_config(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for key, value in config.items():
        secret = isinstance(value, dict) and "secure" in value
        if secret:
            entries[key] = {"secret": True}
        else:
            entries[key] = {"value": value if isinstance(value, str) else json.dumps(value), "secret": False}
    return entries


def main(argv: list[str]) -> int:
    if argv[:1] == ["version"]:
        print("v3.200.0")
        return 0
    stack = _option(argv, "--stack") or "dev"
    state_path = Path(os.environ["PULUMI_STANDIN_STATE"])
    state = _load(state_path, stack)
    state["calls"].append(argv)
    code = run(argv, state, stack)
    state_path.write_text(json.dumps(state, indent=1))
    return code


def run(argv: list[str], state: dict[str, Any], stack: str) -> int:
    config: dict[str, Any] = state["config"]
    words = [word for word in argv if not word.startswith("-")]
    if words[:2] == ["stack", "select"]:
        return 0
    if words[:2] == ["config", "get"]:
        key = words[2]
        top, fields = _split(key, "--path" in argv)
        value: Any = config.get(top)
        for name in fields:
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            print(f"error: configuration key '{key}' not found for stack '{stack}'", file=sys.stderr)
            return 255
        print(json.dumps({"value": value if isinstance(value, str) else json.dumps(value), "secret": False}))
        return 0
    if words[:2] == ["config", "set"]:
        key, value = words[2], argv[argv.index("--") + 1]
        top, fields = _split(key, "--path" in argv)
        if not fields:
            config[top] = value
        else:
            node = config.setdefault(top, {})
            for name in fields[:-1]:
                node = node.setdefault(name, {})
            node[fields[-1]] = value
        return 0
    if words[:1] == ["up"]:
        digest = config.get("chocolate-factory:app", {}).get("imageDigest", "")
        failed = digest in state["fail_up_for"]
        state["history"].insert(
            0,
            {
                "kind": "update",
                "startTime": TIME,
                "endTime": TIME,
                "message": "",
                "environment": {"exec.kind": _option(argv, "--exec-kind") or ""},
                "config": _history_config(config),
                "result": "failed" if failed else "succeeded",
                "version": len(state["history"]) + 1,
            },
        )
        if failed:
            print(f"error: update failed: image {digest} not found", file=sys.stderr)
            return 255
        state["outputs"] = {"appUrl": state.get("app_url", ""), "appImageDigest": digest}
        print(f"Updating ({stack}) ... done")
        return 0
    if words[:2] == ["stack", "output"]:
        print(json.dumps(state["outputs"]))
        return 0
    if words[:2] == ["stack", "history"]:
        size = int(_option(argv, "--page-size") or len(state["history"]) or 1)
        print(json.dumps(state["history"][:size]))
        return 0
    print(f"error: the stand-in pulumi does not know `{' '.join(argv)}`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

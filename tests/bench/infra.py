"""Seconds the Pulumi program takes under mocks, for every stack file in stacks/.

Each stack runs in a fresh interpreter (the Pulumi runtime's mocks and settings are process-wide), through
the same harness the infra tests use (`tests.infra.harness.run_stack`). Two figures per stack: the
program's own run, timed inside the child, and the child's wall time with interpreter start and imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.bench.app_stack import module_exists
from tests.bench.report import Section, missing

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = "tests.infra.harness"

_CHILD = """
import json, sys, time
from tests.infra.harness import run_stack
began = time.perf_counter()
result = run_stack(sys.argv[1])
elapsed = time.perf_counter() - began
resources = getattr(result, "resources", result)
try:
    count = len(resources)
except TypeError:
    count = None
print(json.dumps({"program_s": round(elapsed, 3), "resources": count}))
"""


def stack_names(stacks_dir: Path = REPO_ROOT / "stacks") -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def run_stack_timed(stack: str) -> dict[str, Any]:
    began = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, stack], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    wall = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError(f"run_stack({stack!r}) failed: {completed.stderr.strip()[-2000:]}")
    last_line = completed.stdout.strip().splitlines()[-1]
    return {"stack": stack, **json.loads(last_line), "wall_s": round(wall, 3)}


def measure() -> Section:
    if not module_exists(HARNESS):
        return missing(f"{HARNESS} (run_stack) is not in the repository: the Pulumi program was not timed")
    stacks = stack_names()
    if not stacks:
        return missing("no stacks/Pulumi.<stack>.yaml files: no stack to run")
    results = [run_stack_timed(stack) for stack in stacks]
    return {
        "how": "each stack in a fresh interpreter through tests.infra.harness.run_stack (pulumi set_mocks)",
        "stacks": results,
        "program_s_total": round(sum(r["program_s"] for r in results), 3),
    }

"""Entry point of `pulumi up` / `pulumi preview` (Pulumi.yaml `main: infra/`): it only runs the program."""

import sys
from pathlib import Path

# Pulumi runs this file with infra/ as the working directory; the package lives one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program import platform  # noqa: E402

platform()

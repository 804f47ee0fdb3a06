"""The deploy tool: release the app image to an environment, smoke it, and revert the stack when bad.

Run it as `python -m infra.deploy --help`; the decision logic is in `release`, the Pulumi calls behind
the `StackOps` interface in `stack` (implemented on the Automation API in `automation`).
"""

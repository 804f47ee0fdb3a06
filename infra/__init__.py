"""The chocolate factory's platform as code: config schema (`infra.config`), components
(`infra.components`), the program (`infra.program.platform`) and the CI/operator split
(`infra.targets`). Importing `infra` or `infra.config` does not need a running Pulumi engine.
"""

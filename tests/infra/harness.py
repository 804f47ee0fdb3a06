"""Run the real Pulumi program for a real stack file under Pulumi's mocks, and capture everything.

Stable API (the policy tests import it too):

    from tests.infra.harness import run_stack, StackRun, CapturedResource, Secret, UNKNOWN

    run = run_stack("prod")                          # stacks/Pulumi.prod.yaml, unchanged
    run = run_stack("dev", {"app": {...}})           # override config keys (namespace optional;
                                                     # a value of None removes the key)
    run = run_stack("dev", preview=True)             # as in `pulumi preview`: computed outputs unknown

`run_stack(stack_name, config_overrides=None, *, preview=False, stack_file=None) -> StackRun`

- The stack file's `secure:` values are replaced by placeholder secrets (`placeholder-<key>`), passed
  to the program as Pulumi secret config, exactly as the engine passes decrypted secrets.
- Each call runs the program in a fresh thread, so Pulumi's context-local runtime state (settings,
  config, root stack) never leaks from one stack to the next: several stacks run in one process.
- Errors of the program (for example `infra.config.ConfigError` for a broken stack file) propagate.

`StackRun` fields: `stack`, `project`, `config` (the raw config the program saw, secrets as
placeholders), `secret_keys`, `resources` (every `RegisterResource` call except the root stack, in
registration order: a parent before its children, otherwise as the program's outputs resolve, so
compare as sets), `outputs` (stack outputs, secret ones wrapped in `Secret`), `wire_outputs`.
Helpers: `of_type(type)`, `named(name, type=None)`, `container(name)`, `by_urn(urn)`,
`containers`, `ancestors(resource)`.

`CapturedResource` fields (one per registered resource, component or custom):
- `type`, `name`, `urn` (built as the engine builds it: the parent's qualified type chain, and no
  `pulumi:pulumi:Stack$` prefix for children of the root stack), `custom` (False for components), `id`;
- `inputs`: the properties as the Python SDK sends them to the engine (camelCase names, e.g.
  `networksAdvanced`, `logOpts`), with secrets unwrapped to their values and unknowns as `UNKNOWN`;
- `wire_inputs`: the exact `google.protobuf.Struct` the SDK sent (secret and unknown markers kept),
  what an engine would forward to an analyzer;
- `secret_properties`: names of top-level inputs that hold a secret anywhere inside;
- `provider`: URN of the explicit provider (None: the default provider), `provider_ref` as sent;
- `parent`: URN of the parent (the root stack for top-level resources);
- `protect`, `retain_on_delete`, `delete_before_replace`, `ignore_changes`,
  `additional_secret_outputs`, `dependencies` (URNs), `property_dependencies` (name -> URNs);
- `outputs`: the state the mocks returned for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2

from infra.config import PROJECT, STACKS_DIR, read_stack_file

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class _Unknown:
    """A value not known until the resource is created (as in a preview)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A stack output (or part of one) that the engine keeps encrypted."""

    value: Any


@dataclass(frozen=True)
class CapturedResource:
    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any] = field(repr=False)
    wire_inputs: struct_pb2.Struct = field(repr=False)
    secret_properties: frozenset[str]
    provider: str | None
    provider_ref: str | None
    parent: str | None
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    id: str | None
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StackRun:
    stack: str
    project: str
    config: dict[str, Any] = field(repr=False)
    secret_keys: tuple[str, ...] = field(repr=False)
    resources: tuple[CapturedResource, ...] = field(repr=False)
    outputs: dict[str, Any] = field(repr=False)
    wire_outputs: struct_pb2.Struct | None = field(repr=False)

    def of_type(self, type_: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str, type_: str | None = None) -> CapturedResource:
        matches = [r for r in self.resources if r.name == name and (type_ is None or r.type == type_)]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} resources named {name!r} (type {type_}) in stack {self.stack}")
        return matches[0]

    def container(self, name: str) -> CapturedResource:
        """The container called `name` (its Docker name, which is also its resource name)."""
        return self.named(name, "docker:index/container:Container")

    def by_urn(self, urn: str) -> CapturedResource:
        return next(r for r in self.resources if r.urn == urn)

    @property
    def containers(self) -> list[CapturedResource]:
        """The containers that run (not the upload holders, which are created and never started)."""
        return [c for c in self.all_containers if c.inputs.get("start") is not False]

    @property
    def all_containers(self) -> list[CapturedResource]:
        return self.of_type("docker:index/container:Container")

    def ancestors(self, resource: CapturedResource) -> Iterator[CapturedResource]:
        """Parents of `resource`, nearest first (the root stack is not a captured resource)."""
        urns = {r.urn: r for r in self.resources}
        parent = resource.parent
        while parent in urns:
            yield urns[parent]
            parent = urns[parent].parent


# --- decoding the wire format ----------------------------------------------------------------------


def _decode(value: Any, secret: list[bool]) -> Any:
    if isinstance(value, dict):
        sig = value.get(SPECIAL_SIG_KEY)
        if sig == SECRET_SIG:
            secret[0] = True
            return _decode(value.get("value"), secret)
        if sig == RESOURCE_SIG:
            return value.get("urn")
        if sig == OUTPUT_VALUE_SIG:
            if value.get("secret"):
                secret[0] = True
            return _decode(value["value"], secret) if "value" in value else UNKNOWN
        return {k: _decode(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, secret) for v in value]
    if value == UNKNOWN_WIRE:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _decode_outputs(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG:
            return Secret(_decode(value.get("value"), [False]))
        return {k: _decode_outputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_outputs(v) for v in value]
    return _decode(value, [False])


def _struct_to_python(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct, preserving_proto_field_name=True)


# --- mocks ---------------------------------------------------------------------------------------


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def _mock_state(type_: str, name: str, inputs: dict[str, Any], stack: str, preview: bool) -> dict[str, Any]:
    """What the engine would report after creating the resource (computed outputs omitted in a preview)."""
    state = dict(inputs)
    if preview:
        return state
    if type_ == "docker:index/image:Image":
        repository = str(inputs.get("imageName", name)).rsplit(":", 1)[0]
        state["repoDigest"] = f"{repository}@{_digest(stack, name)}"
    elif type_ == "docker:index/network:Network" and not inputs.get("ipamConfigs"):
        index = int(hashlib.sha256(f"{stack}/{name}".encode()).hexdigest()[:2], 16)
        state["ipamConfigs"] = [{"subnet": f"172.30.{index}.0/24", "gateway": f"172.30.{index}.1"}]
    elif type_ == "tailscale:index/tailnetKey:TailnetKey":
        state["key"] = f"tskey-auth-mock{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    elif type_ == "docker:index/container:Container":
        state.setdefault("hostname", name)
    return state


def _make_mocks(stack: str, preview: bool) -> Any:
    import pulumi

    class PlatformMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            return f"{args.name}-id", _mock_state(args.typ, args.name, args.inputs, stack, preview)

        def call(
            self, args: pulumi.runtime.MockCallArgs
        ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            return {}, None

    return PlatformMocks()


def _make_monitor(
    mocks: Any, captured: list[CapturedResource], outputs: dict[str, Any], stack: str, project: str
) -> Any:
    from pulumi.runtime.mocks import MockMonitor

    class CapturingMonitor(MockMonitor):  # type: ignore[misc]
        stack_urn: str | None = None
        stack: str = ""
        project: str = ""

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # As the engine builds URNs: the parent's whole qualified type chain, and no
            # `pulumi:pulumi:Stack$` prefix for children of the root stack.
            if parent:
                qualified = parent.split("::")[2]
                if qualified != "pulumi:pulumi:Stack":
                    type_ = f"{qualified}${type_}"
            return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
            response = super().RegisterResource(request)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = response.urn
                return response
            raw = _struct_to_python(request.object)
            secret_props: set[str] = set()
            inputs: dict[str, Any] = {}
            for key, value in raw.items():
                flag = [False]
                inputs[key] = _decode(value, flag)
                if flag[0]:
                    secret_props.add(key)
            provider_ref = request.provider or None
            registration = self.resources.get(response.urn)
            captured.append(
                CapturedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    custom=bool(request.custom),
                    inputs=inputs,
                    wire_inputs=request.object,
                    secret_properties=frozenset(secret_props),
                    provider=provider_ref.rsplit("::", 1)[0] if provider_ref else None,
                    provider_ref=provider_ref,
                    parent=request.parent or None,
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=tuple(request.ignoreChanges),
                    additional_secret_outputs=tuple(request.additionalSecretOutputs),
                    dependencies=tuple(request.dependencies),
                    property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
                    id=response.id or None,
                    outputs=dict(registration.state) if registration else {},
                )
            )
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
            if request.urn == self.stack_urn:
                outputs["wire"] = request.outputs
            return super().RegisterResourceOutputs(request)

    monitor = CapturingMonitor(mocks)
    monitor.stack, monitor.project = stack, project
    return monitor


# --- running a stack -------------------------------------------------------------------------------


def _namespaced(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def stack_config(
    stack_name: str, config_overrides: Mapping[str, Any] | None = None, stack_file: Path | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The stack file's config with overrides applied and secrets as placeholders; and the secret keys."""
    path = stack_file or STACKS_DIR / f"Pulumi.{stack_name}.yaml"
    raw = dict(read_stack_file(path))
    for key, value in (config_overrides or {}).items():
        full = _namespaced(key)
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            config[key] = f"placeholder-{key.split(':', 1)[1]}"
            secret_keys.append(key)
        else:
            config[key] = value
    return config, secret_keys


def _engine_value(value: Any) -> str:
    """Config values reach the program as strings; structured values as JSON (as the engine sends them)."""
    return value if isinstance(value, str) else json.dumps(value)


def _run_in_fresh_context(
    stack_name: str, config: dict[str, Any], secret_keys: list[str], preview: bool
) -> StackRun:
    import pulumi
    from pulumi.runtime.mocks import MockEngine, MockSettings
    from pulumi.runtime.settings import configure
    from pulumi.runtime.stack import run_in_stack

    from infra.program import platform

    captured: list[CapturedResource] = []
    outputs: dict[str, Any] = {}
    mocks = _make_mocks(stack_name, preview)
    monitor = _make_monitor(mocks, captured, outputs, stack_name, PROJECT)
    pulumi.runtime.set_all_config({k: _engine_value(v) for k, v in config.items()}, secret_keys)
    features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
    configure(
        MockSettings(
            monitor=monitor,
            monitor_features=features,
            engine=MockEngine(None),
            project=PROJECT,
            stack=stack_name,
            dry_run=preview,
            organization="organization",
            callbacks=None,
        )
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_in_stack(platform))
    finally:
        loop.close()
    wire = outputs.get("wire")
    decoded = _decode_outputs(_struct_to_python(wire)) if wire is not None else {}
    return StackRun(
        stack=stack_name,
        project=PROJECT,
        config=config,
        secret_keys=tuple(secret_keys),
        resources=tuple(captured),
        outputs=decoded,
        wire_outputs=wire,
    )


def run_stack(
    stack_name: str,
    config_overrides: Mapping[str, Any] | None = None,
    *,
    preview: bool = False,
    stack_file: Path | None = None,
) -> StackRun:
    """Run `infra.program.platform` for `stacks/Pulumi.<stack_name>.yaml` under mocks; see the module doc."""
    config, secret_keys = stack_config(stack_name, config_overrides, stack_file)
    result: list[StackRun] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(_run_in_fresh_context(stack_name, config, secret_keys, preview))
        except BaseException as exc:  # noqa: BLE001 re-raised in the caller's thread
            error.append(exc)

    # A new thread starts with an empty contextvars context: no Pulumi state from an earlier run.
    thread = threading.Thread(target=target, name=f"pulumi-mocks-{stack_name}")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]

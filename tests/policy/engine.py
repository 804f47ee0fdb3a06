"""The engine's side of the policy-pack protocol, as `pulumi preview --policy-pack infra/policy` runs it.

The engine starts a Python pack with the `pulumi-analyzer-policy-python` shim: in the pack's
directory, `<virtualenv>/bin/python -u -m pulumi.policy <engine address> .`, where the virtualenv
comes from PulumiPolicy.yaml's runtime options. The pack prints its gRPC port on stdout. The engine
then calls Handshake (optional), ConfigureStack, GetAnalyzerInfo, Configure (the policy config with
the schema defaults filled in), Analyze for each resource and AnalyzeStack once with all of them.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema_rs
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from tests.infra.harness import SECRET_SIG, SPECIAL_SIG_KEY, UNKNOWN, UNKNOWN_WIRE, Secret
from tests.policy.model import Resource, stack_of
from tests.support.services import stop_process

LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVEL_VALUES = {name: value for value, name in LEVELS.items()}
RPC_TIMEOUT = 20.0


@dataclass(frozen=True)
class Diagnostic:
    """One policy violation as the engine receives it."""

    policy: str
    level: str
    message: str
    description: str
    urn: str

    @property
    def detail(self) -> str:
        """The violation's own message, without the policy description the pack puts first."""
        prefix = self.description + "\n"
        return self.message[len(prefix) :] if self.message.startswith(prefix) else self.message


@dataclass
class EngineLog:
    """The engine service the pack is given the address of; it records what the pack logs."""

    messages: list[str] = field(default_factory=list)


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    def __init__(self, log: EngineLog) -> None:
        self.log = log

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802 (gRPC method name)
        self.log.messages.append(request.message)
        return empty_pb2.Empty()


@contextmanager
def fake_engine() -> Iterator[tuple[str, EngineLog]]:
    log = EngineLog()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(log), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", log
    finally:
        server.stop(0)


def pack_python(pack_dir: Path) -> Path:
    """The interpreter the shim would run: `<virtualenv>/bin/python` from PulumiPolicy.yaml."""
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text())
    runtime = project["runtime"]
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    virtualenv = options.get("virtualenv")
    if not virtualenv:
        raise RuntimeError(f"{pack_dir / 'PulumiPolicy.yaml'} names no runtime.options.virtualenv")
    python = (pack_dir / virtualenv).absolute() / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{python} does not exist: run `make venv` first")
    return python


@dataclass
class RunningPack:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _read_port(process: subprocess.Popen[bytes], timeout: float) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            break
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        if ready:
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    if not line.strip().isdigit():
        raise RuntimeError(f"the policy pack printed {line!r} instead of its port")
    return int(line)


@contextmanager
def start_pack(
    pack_dir: Path, engine_address: str, log_path: Path, timeout: float = 60.0
) -> Iterator[RunningPack]:
    python = pack_python(pack_dir)
    env = dict(os.environ)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONHOME", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(python), "-u", "-m", "pulumi.policy", engine_address, "."],
            cwd=pack_dir,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=env,
            start_new_session=True,
        )
    running = RunningPack(process=process, port=0, log_path=log_path)
    try:
        try:
            running.port = _read_port(process, timeout)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its stderr:\n{running.log()}") from None
        yield running
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()


def encode(value: Any) -> Any:
    """A property value in the engine's wire form (unknowns and secrets marked as the engine does)."""
    if value is UNKNOWN:
        return UNKNOWN_WIRE
    if isinstance(value, Secret):
        return {SPECIAL_SIG_KEY: SECRET_SIG, "value": encode(value.value)}
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(encode(props))
    return struct


def _provider_message(provider: Resource | None) -> analyzer_pb2.AnalyzerProviderResource | None:
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=to_struct(provider.inputs), urn=provider.urn, name=provider.name
    )


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent)


def analyze_request(resource: Resource) -> analyzer_pb2.AnalyzeRequest:
    request = analyzer_pb2.AnalyzeRequest(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        properties=to_struct(resource.inputs),
        options=_options(resource),
    )
    provider = _provider_message(resource.provider)
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def stack_resource(resource: Resource) -> analyzer_pb2.AnalyzerResource:
    message = analyzer_pb2.AnalyzerResource(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        properties=to_struct(resource.inputs),
        options=_options(resource),
        parent=resource.parent,
        dependencies=resource.dependencies,
    )
    for key, urns in resource.property_dependencies.items():
        if urns:
            message.propertyDependencies[key].urns.extend(urns)
    provider = _provider_message(resource.provider)
    if provider is not None:
        message.provider.CopyFrom(provider)
    return message


def _diagnostics(response: analyzer_pb2.AnalyzeResponse) -> list[Diagnostic]:
    return [
        Diagnostic(
            policy=d.policyName,
            level=LEVELS.get(d.enforcementLevel, str(d.enforcementLevel)),
            message=d.message,
            description=d.description,
            urn=d.urn,
        )
        for d in response.diagnostics
    ]


@dataclass(frozen=True)
class PolicyConfig:
    level: str
    properties: dict[str, Any]


def reconcile_config(
    info: analyzer_pb2.AnalyzerInfo, given: Mapping[str, Any] | None = None
) -> dict[str, PolicyConfig]:
    """The config the engine sends with Configure: schema defaults, then the pack's initial config,
    then the operator's (`--policy-pack-config`), validated against each policy's schema."""
    result: dict[str, PolicyConfig] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        properties = json_format.MessageToDict(policy.configSchema.properties)
        schemas[policy.name] = {"type": "object", "properties": properties}
        if policy.configSchema.required:
            schemas[policy.name]["required"] = list(policy.configSchema.required)
        defaults = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
        result[policy.name] = PolicyConfig(LEVELS[policy.enforcementLevel], defaults)
    layers: list[dict[str, Any]] = [
        {
            name: {
                **json_format.MessageToDict(config.properties),
                **({"enforcementLevel": LEVELS[config.enforcementLevel]} if config.enforcementLevel else {}),
            }
            for name, config in info.initialConfig.items()
        },
        dict(given or {}),
    ]
    for layer in layers:
        for name, value in layer.items():
            current = result.get(name, PolicyConfig("", {}))
            if isinstance(value, str):
                result[name] = PolicyConfig(value, current.properties)
                continue
            value = dict(value)
            level = value.pop("enforcementLevel", current.level)
            result[name] = PolicyConfig(level, {**current.properties, **value})
    errors = [
        f"{name}: {error}"
        for name, config in result.items()
        if name in schemas
        for error in jsonschema_rs.validator_for(schemas[name]).iter_errors(config.properties)
    ]
    if errors:
        raise ValueError("invalid policy pack config: " + "; ".join(errors))
    return result


class Analyzer:
    """A gRPC client of a running pack that calls it the way the engine does."""

    def __init__(self, channel: grpc.Channel, pack_dir: Path, engine_address: str) -> None:
        self.stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        self.pack_dir = pack_dir
        self.engine_address = engine_address
        self.info: analyzer_pb2.AnalyzerInfo | None = None
        self.config: dict[str, PolicyConfig] = {}

    def start(self, config: Mapping[str, Any] | None = None) -> analyzer_pb2.AnalyzerInfo:
        directory = str(self.pack_dir)
        try:
            self.stub.Handshake(
                analyzer_pb2.AnalyzerHandshakeRequest(
                    engine_address=self.engine_address, root_directory=directory, program_directory=directory
                ),
                timeout=RPC_TIMEOUT,
            )
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:  # the engine tolerates only this
                raise
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT)
        self.configure(config)
        return self.info

    def configure(self, config: Mapping[str, Any] | None = None) -> None:
        assert self.info is not None
        self.config = reconcile_config(self.info, config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, policy_config in self.config.items():
            entry = request.policyConfig[name]
            if policy_config.level:
                entry.enforcementLevel = LEVEL_VALUES[policy_config.level]
            entry.properties.update(policy_config.properties)
        self.stub.Configure(request, timeout=RPC_TIMEOUT)

    def configure_stack(self, stack: str, dry_run: bool = True) -> None:
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack, project="chocolate-factory", organization="organization", dry_run=dry_run
            ),
            timeout=RPC_TIMEOUT,
        )

    def analyze(self, resource: Resource) -> list[Diagnostic]:
        return _diagnostics(self.stub.Analyze(analyze_request(resource), timeout=RPC_TIMEOUT))

    def analyze_stack(self, resources: Iterable[Resource]) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(r) for r in resources])
        return _diagnostics(self.stub.AnalyzeStack(request, timeout=RPC_TIMEOUT))

    def preview(self, resources: list[Resource]) -> list[Diagnostic]:
        """What a preview does: ConfigureStack, Analyze for every resource, then AnalyzeStack."""
        stacks = {stack_of(resource.urn) for resource in resources}
        assert len(stacks) == 1, f"resources of several stacks: {sorted(stacks)}"
        self.configure_stack(stacks.pop())
        found: list[Diagnostic] = []
        for resource in resources:
            found += self.analyze(resource)
        return found + self.analyze_stack(resources)


__all__ = ["Analyzer", "Diagnostic", "fake_engine", "start_pack"]

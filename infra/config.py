"""The stack configuration: one typed schema for every stack file, validated in one place.

Loading is a pure function over a mapping of raw config values (as in a stack file's `config:`
section, or as `pulumi.Config` returns them), so the program, the tests and the deploy tool all read
the same schema without a running Pulumi engine:

    cfg = load_stack("dev")                                  # stacks/Pulumi.dev.yaml
    cfg = parse_config(raw_mapping, source="stacks/Pulumi.dev.yaml")

Every problem in a stack file is reported at once, in one `ConfigError` that names the stack file,
each key and what is expected. Secrets are never read here: the schema only checks that each secret
the stack needs is set (a `secure:` value); the program reads their values as Pulumi secrets.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from infra.images import PINNED

PROJECT = "chocolate-factory"
"""The Pulumi project name, and the namespace of every config key (`chocolate-factory:<key>`)."""

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = REPO_ROOT / "stacks"

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
BOOTSTRAP_PHASES: tuple[str, ...] = ("tailnet", "git", "runners", "environments")
"""The order in which an empty platform is brought up: tailnet policy and auth keys (and the nodes'
providers), then the git node (Forgejo, registry), then the runners, then the app environments."""

ENVIRONMENTS: tuple[str, ...] = ("dev", "prod")
"""The environments on the tailnet (each with its node tag); the local stack's needs no tailnet."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


# --- secrets -----------------------------------------------------------------------------------------
# Config keys (in the `chocolate-factory` namespace) of the secrets a stack may need. Each is set with
# `pulumi config set --secret <key> <value> -s <stack>`; `required_secrets` says which a stack needs.
TAILSCALE_OAUTH_SECRET = "tailscaleOauthClientSecret"  # noqa: S105 (a config key)
REGISTRY_PASSWORD = "registryPassword"  # noqa: S105
REGISTRY_HTPASSWD = "registryHtpasswd"
FORGEJO_SECRET_KEY = "forgejoSecretKey"  # noqa: S105
ANTHROPIC_API_KEY = "anthropicApiKey"
RUNNER_SECRET_PREFIX = "runnerSecret-"  # noqa: S105


def runner_secret_key(env: str) -> str:
    """Config key of the offline-registration secret of the runner of environment `env`."""
    return f"{RUNNER_SECRET_PREFIX}{env}"


class ConfigError(ValueError):
    """A stack file is missing keys or holds malformed values; `problems` lists every one."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {count} in the stack configuration:\n{lines}")


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, strict=False
    )


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError("expected a DNS label: lower-case letters, digits and '-'")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]


class NodeConfig(_Model):
    """A machine that runs containers: where its Docker engine answers."""

    tailnet_hostname: str | None = Field(
        default=None, description="MagicDNS name of the machine on the tailnet (none for the local engine)"
    )
    ssh_user: str | None = Field(default=None, description="user the Docker provider logs in as over SSH")
    docker_host: str | None = Field(
        default=None,
        description="Docker engine address; default ssh://<sshUser>@<tailnetHostname>; unix:// for local",
    )

    @field_validator("docker_host")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ssh://", "unix://")):
            raise ValueError("expected an ssh://user@host or unix:///path/to/docker.sock address")
        return value

    @property
    def docker_url(self) -> str:
        if self.docker_host:
            return self.docker_host
        return f"ssh://{self.ssh_user}@{self.tailnet_hostname}"


class TailnetConfig(_Model):
    """The Tailscale tailnet the nodes and sidecars join."""

    enabled: bool
    name: str = Field(default="", description="the tailnet's DNS name, e.g. tail1234.ts.net")
    owns_policy: bool = Field(default=False, description="this stack declares the tailnet policy file")
    admins: tuple[str, ...] = Field(default=(), description="logins that administer every node")
    dashboard_users: tuple[str, ...] = Field(default=(), description="logins that may open the dashboards")
    user_quota: int = Field(default=6, ge=1, description="human users the tailnet's plan allows")
    oauth_client_id: str = Field(default="", description="Tailscale OAuth client (its secret is a secret)")
    auth_key_expiry_seconds: int = Field(default=86400, ge=300, le=7776000)

    @field_validator("admins", "dashboard_users")
    @classmethod
    def _logins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"expected Tailscale logins (user@domain), got {bad}")
        return value


class ForgejoConfig(_Model):
    node: str
    hostname: DnsLabel = Field(default="git", description="tailnet hostname of Forgejo's sidecar")
    http_port: int = Field(default=3000, ge=1024, le=65535)
    ssh_port: int = Field(default=2222, ge=1024, le=65535)
    local_port: int | None = Field(default=None, ge=1024, le=65535, description="127.0.0.1 port, local")
    memory_mb: int = Field(default=1024, ge=128)


class RegistryConfig(_Model):
    node: str
    hostname: DnsLabel = Field(default="registry", description="tailnet hostname of the registry's sidecar")
    port: int = Field(default=5000, ge=1024, le=65535)
    local_port: int | None = Field(default=None, ge=1024, le=65535)
    memory_mb: int = Field(default=256, ge=64)


CI_LABEL = "ci"
"""The runs-on label of the untrusted runner: pull requests and every job that needs no deploy secret."""

_ROOTLESS_SOCKET = re.compile(r"^unix:///run/user/([1-9][0-9]*)/docker\.sock$")


def deploy_label(env: str) -> str:
    """The runs-on label of the deploy runner of `env`: only deploy jobs of `env` use it."""
    return f"deploy-{env}"


class RunnerConfig(_Model):
    env: DnsLabel = Field(
        description="kind deploy: the environment this runner deploys; kind ci: the runner's name (ci)"
    )
    node: str
    kind: Literal["deploy", "ci"] = Field(
        default="deploy",
        description="deploy: runs the deploy jobs of its environment only (label deploy-<env>); "
        "ci: runs untrusted jobs (label ci), each in a fresh container on a rootless job engine",
    )
    job_engine: str | None = Field(
        default=None,
        description="kind ci only: the node's rootless Docker engine for jobs, "
        "unix:///run/user/<uid>/docker.sock of its unprivileged user",
    )
    forgejo_url: str | None = Field(default=None, description="Forgejo URL when Forgejo is in another stack")
    memory_mb: int = Field(default=1024, ge=128)

    @field_validator("job_engine")
    @classmethod
    def _rootless(cls, value: str | None) -> str | None:
        if value is not None and not _ROOTLESS_SOCKET.match(value):
            raise ValueError(
                "expected the socket of a rootless Docker engine, unix:///run/user/<uid>/docker.sock "
                "with the uid of an unprivileged user (never the node's own engine)"
            )
        return value

    @property
    def label(self) -> str:
        """The one runs-on label this runner serves; workflows name no other."""
        return CI_LABEL if self.kind == "ci" else deploy_label(self.env)

    @property
    def job_engine_uid(self) -> int | None:
        """The uid of the job engine's user (its socket lives in that user's runtime directory)."""
        match = _ROOTLESS_SOCKET.match(self.job_engine or "")
        return int(match.group(1)) if match else None


DEFAULT_SUBNET = "10.213.0.0/24"
"""The private network of an environment: outside Docker's default address pools (172.17-31/16 and
192.168/16), so no network Docker allocates on its own can take it first."""


class EnvironmentConfig(_Model):
    name: DnsLabel
    node: str
    hostname: DnsLabel | None = Field(default=None, description="tailnet hostname of the dashboard")
    local_port: int | None = Field(default=None, ge=1024, le=65535, description="127.0.0.1 port, local")
    subnet: str = Field(
        default=DEFAULT_SUBNET,
        description="IPv4 CIDR (/16 to /28) of the private network cf-<name>; the web container gets "
        "its second address, the only one the app trusts",
    )

    @field_validator("subnet")
    @classmethod
    def _private_subnet(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"expected an IPv4 network such as {DEFAULT_SUBNET} ({exc})") from None
        if not (16 <= network.prefixlen <= 28) or not network.is_private:
            raise ValueError(f"expected a private IPv4 network from /16 to /28, such as {DEFAULT_SUBNET}")
        return value

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)


class AppConfig(_Model):
    image_repository: str = Field(description="registry/repository the app image is pushed to")
    image_digest: str | None = Field(
        default=None,
        pattern=DIGEST_PATTERN,
        description="deploy this digest instead of building app/ (how a rollback reverts)",
    )
    proxy_image_digest: str | None = Field(default=None, pattern=DIGEST_PATTERN)
    registry_username: str = Field(default="ci", description="the registry's htpasswd user (push and pull)")
    memory_mb: int = Field(default=512, ge=128)
    env: dict[str, str] = Field(default_factory=dict, description="CF_* settings of the app")

    @field_validator("env")
    @classmethod
    def _settings_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not re.match(r"^[A-Z][A-Z0-9_]*$", k)]
        if bad:
            raise ValueError(f"expected environment variable names (CF_...), got {bad}")
        return value


class LoggingConfig(_Model):
    max_size: str = Field(default="10m", pattern=r"^[0-9]+[kmg]$")
    max_file: int = Field(default=3, ge=1, le=20)


class PlatformConfig(_Model):
    """Everything one stack declares."""

    nodes: dict[str, NodeConfig] = Field(min_length=1)
    tailnet: TailnetConfig
    forgejo: ForgejoConfig | None = None
    registry: RegistryConfig | None = None
    runners: tuple[RunnerConfig, ...] = ()
    environments: tuple[EnvironmentConfig, ...] = ()
    app: AppConfig
    images: dict[str, str] = Field(default_factory=dict, description="overrides of infra/images.py")
    logging: LoggingConfig = LoggingConfig()
    bootstrap_phase: Literal["tailnet", "git", "runners"] | None = Field(
        default=None,
        description="first bring-up of an empty stack only: declare the components up to this phase",
    )

    def declares(self, phase: str) -> bool:
        """Whether the components of bootstrap `phase` are declared (every phase, once bootstrapped)."""
        reached = BOOTSTRAP_PHASES.index(self.bootstrap_phase or BOOTSTRAP_PHASES[-1])
        return BOOTSTRAP_PHASES.index(phase) <= reached

    def environment(self, name: str) -> EnvironmentConfig:
        return next(e for e in self.environments if e.name == name)


# Top-level keys of the schema, as they appear in a stack file (without the namespace).
SCHEMA_KEYS: tuple[str, ...] = tuple(
    (field.alias or name) for name, field in PlatformConfig.model_fields.items()
)


def required_secrets(cfg: PlatformConfig) -> list[str]:
    """Config keys of the secrets `cfg` needs, each set with `pulumi config set --secret`."""
    keys: list[str] = []
    if cfg.tailnet.enabled:
        keys.append(TAILSCALE_OAUTH_SECRET)
    if cfg.forgejo is not None:
        keys.append(FORGEJO_SECRET_KEY)
    if cfg.registry is not None:
        keys.append(REGISTRY_HTPASSWD)
    if cfg.registry is not None or cfg.environments:
        keys.append(REGISTRY_PASSWORD)
    keys.extend(runner_secret_key(r.env) for r in cfg.runners)
    return keys


OPTIONAL_SECRETS: tuple[str, ...] = (ANTHROPIC_API_KEY,)


def _key(loc: tuple[int | str, ...]) -> str:
    head, *rest = (str(part) for part in loc)
    return f"{PROJECT}:{head}" + "".join(f".{p}" for p in rest)


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    message = str(error["msg"])
    if error["type"] == "missing":
        message = "missing; expected " + _expected(loc)
    elif error["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    else:
        message = f"{message} (got {error.get('input')!r})"
    return f"{_key(loc)}: {message}"


def _expected(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] | None = PlatformConfig
    field_info = None
    for part in loc:
        if model is None or not isinstance(part, str):
            continue
        field_info = next(
            (f for n, f in model.model_fields.items() if part in (n, f.alias)),
            None,
        )
        annotation = field_info.annotation if field_info else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    if field_info is not None and field_info.description:
        return field_info.description
    if field_info is not None and field_info.annotation is not None:
        return getattr(field_info.annotation, "__name__", str(field_info.annotation))
    return "a value"


def _cross_checks(cfg: PlatformConfig) -> list[str]:
    """Problems that span several keys (each key on its own is well formed)."""
    checks = _reference_problems(cfg) + _image_problems(cfg) + _trust_problems(cfg)
    if cfg.tailnet.enabled:
        return checks + _tailnet_problems(cfg)
    return checks + _local_problems(cfg)


def _reference_problems(cfg: PlatformConfig) -> list[str]:
    problems: list[str] = []
    refs = [("forgejo.node", cfg.forgejo.node)] if cfg.forgejo else []
    refs += [("registry.node", cfg.registry.node)] if cfg.registry else []
    refs += [(f"runners.{i}.node", r.node) for i, r in enumerate(cfg.runners)]
    refs += [(f"environments.{i}.node", e.node) for i, e in enumerate(cfg.environments)]
    for key, node in refs:
        if node not in cfg.nodes:
            problems.append(
                f"{PROJECT}:{key}: node {node!r} is not declared; expected one of {sorted(cfg.nodes)}"
            )
    for i, runner in enumerate(cfg.runners):
        if runner.forgejo_url is None and cfg.forgejo is None:
            problems.append(
                f"{PROJECT}:runners.{i}.forgejoUrl: missing; expected Forgejo's URL, "
                "since this stack does not declare Forgejo"
            )
    problems += _runner_kind_problems(cfg)
    for what, names in (
        ("runners", [r.env for r in cfg.runners]),
        ("environments", [e.name for e in cfg.environments]),
    ):
        repeated = sorted({x for x in names if names.count(x) > 1})
        if repeated:
            problems.append(f"{PROJECT}:{what}: names must be unique, repeated: {repeated}")
    return problems


def _runner_kind_problems(cfg: PlatformConfig) -> list[str]:
    """A ci runner needs its own job engine and deploys nothing; a deploy runner runs no other jobs."""
    problems: list[str] = []
    for i, runner in enumerate(cfg.runners):
        key = f"{PROJECT}:runners.{i}"
        if runner.kind == "ci" and runner.job_engine is None:
            problems.append(
                f"{key}.jobEngine: missing; a ci runner starts each job in a fresh container on the "
                "node's rootless job engine, expected unix:///run/user/<uid>/docker.sock"
            )
        if runner.kind == "ci" and runner.env in ENVIRONMENTS:
            problems.append(
                f"{key}.env: a ci runner is named {CI_LABEL!r}, not after an environment it would deploy"
            )
        if runner.kind == "deploy" and runner.job_engine is not None:
            problems.append(f"{key}.jobEngine: only a ci runner has a job engine; deploy runners use none")
    ci_runners = [r for r in cfg.runners if r.kind == "ci"]
    if len(ci_runners) > 1:
        problems.append(f"{PROJECT}:runners: at most one runner of kind ci per stack")
    return problems


TRUSTED_PROXIES_SETTING = "CF_TRUSTED_PROXIES"


def _trust_problems(cfg: PlatformConfig) -> list[str]:
    """The app believes identity headers from exactly one address: never a network (which holds its
    gateway, the Docker host, and so every process on the node)."""
    problems: list[str] = []
    key = f"{PROJECT}:app.env.{TRUSTED_PROXIES_SETTING}"
    raw = cfg.app.env.get(TRUSTED_PROXIES_SETTING)
    if raw is not None:
        try:
            entries = json.loads(raw)
            if not isinstance(entries, list):
                raise ValueError
            networks = [ipaddress.ip_network(str(e).strip(), strict=False) for e in entries]
        except ValueError:
            return [f"{key}: expected a JSON list of IP addresses, got {raw!r}"]
        wide = [str(n) for n in networks if n.num_addresses != 1]
        if wide:
            problems.append(
                f"{key}: {wide} spans more than one address; remove the key: the program sets it to the "
                "web container's one fixed address"
            )
    nodes: dict[str, list[tuple[int, ipaddress.IPv4Network]]] = {}
    for i, env in enumerate(cfg.environments):
        for j, other in nodes.get(env.node, []):
            if env.network.overlaps(other):
                problems.append(
                    f"{PROJECT}:environments.{i}.subnet: {env.network} overlaps environments.{j}.subnet "
                    f"{other} on node {env.node!r}; expected distinct networks"
                )
        nodes.setdefault(env.node, []).append((i, env.network))
    return problems


def _image_problems(cfg: PlatformConfig) -> list[str]:
    problems: list[str] = []
    for name, reference in cfg.images.items():
        if name not in PINNED:
            problems.append(f"{PROJECT}:images.{name}: unknown image; expected one of {sorted(PINNED)}")
        elif not _pinned(reference):
            problems.append(
                f"{PROJECT}:images.{name}: expected an explicit version tag or a digest, not {reference!r}"
            )
    return problems


def _tailnet_problems(cfg: PlatformConfig) -> list[str]:
    problems: list[str] = []
    tailnet = cfg.tailnet
    for key, value in (("name", tailnet.name), ("oauthClientId", tailnet.oauth_client_id)):
        if not value:
            problems.append(f"{PROJECT}:tailnet.{key}: missing; expected it when tailnet.enabled is true")
    if tailnet.owns_policy and not tailnet.admins:
        problems.append(f"{PROJECT}:tailnet.admins: expected at least one admin login (the policy owner)")
    if tailnet.owns_policy and not tailnet.dashboard_users:
        problems.append(
            f"{PROJECT}:tailnet.dashboardUsers: expected at least one login (the policy tests one)"
        )
    for name, node in cfg.nodes.items():
        if not node.docker_url.startswith("ssh://") or not (node.ssh_user or node.docker_host):
            problems.append(
                f"{PROJECT}:nodes.{name}: expected sshUser and tailnetHostname (ssh:// over the tailnet)"
            )
    tagged = [(f"runners.{i}.env", r.env) for i, r in enumerate(cfg.runners) if r.kind == "deploy"]
    tagged += [(f"environments.{i}.name", e.name) for i, e in enumerate(cfg.environments)]
    for key, name in tagged:
        if name not in ENVIRONMENTS:
            problems.append(
                f"{PROJECT}:{key}: {name!r} has no tag on the tailnet; expected one of {list(ENVIRONMENTS)}"
            )
    for i, env in enumerate(cfg.environments):
        if not env.hostname:
            problems.append(f"{PROJECT}:environments.{i}.hostname: missing; expected the tailnet hostname")
        if env.local_port is not None:
            problems.append(f"{PROJECT}:environments.{i}.localPort: only for stacks without a tailnet")
    return problems


def _local_problems(cfg: PlatformConfig) -> list[str]:
    problems: list[str] = []
    if cfg.tailnet.owns_policy:
        problems.append(f"{PROJECT}:tailnet.ownsPolicy: a stack without a tailnet cannot own its policy")
    ports = [("forgejo.localPort", cfg.forgejo.local_port)] if cfg.forgejo else []
    ports += [("registry.localPort", cfg.registry.local_port)] if cfg.registry else []
    ports += [(f"environments.{i}.localPort", e.local_port) for i, e in enumerate(cfg.environments)]
    for key, port in ports:
        if port is None:
            problems.append(
                f"{PROJECT}:{key}: missing; expected the 127.0.0.1 port (the stack has no tailnet)"
            )
    return problems


def _pinned(reference: str) -> bool:
    if "@sha256:" in reference:
        return True
    name, _, tag = reference.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def _is_set(value: Any) -> bool:
    if isinstance(value, Mapping):
        return bool(value.get("secure"))
    return value is not None and value != ""


def parse_config(raw: Mapping[str, Any], *, source: str) -> PlatformConfig:
    """Validate a stack's raw config (`chocolate-factory:`-prefixed keys) and return the typed schema.

    Keys of other namespaces (`tailscale:`, `docker:`, ...) are ignored. Raises `ConfigError` listing
    every problem found: unknown or missing keys, malformed values, dangling node references, and
    secrets the stack needs but does not set.
    """
    prefix = f"{PROJECT}:"
    values: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    problems: list[str] = []
    secret_keys = {
        TAILSCALE_OAUTH_SECRET,
        REGISTRY_PASSWORD,
        REGISTRY_HTPASSWD,
        FORGEJO_SECRET_KEY,
        ANTHROPIC_API_KEY,
    }
    for full_key, value in raw.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in secret_keys or key.startswith(RUNNER_SECRET_PREFIX):
            secrets[key] = value
        elif key in SCHEMA_KEYS:
            values[key] = value
        else:
            problems.append(f"{full_key}: unknown key; expected one of {sorted(SCHEMA_KEYS)} or a secret")

    cfg: PlatformConfig | None = None
    try:
        cfg = PlatformConfig.model_validate(values)
    except ValidationError as exc:
        problems.extend(_describe(e) for e in exc.errors())

    if cfg is not None:
        problems.extend(_cross_checks(cfg))
        for key in required_secrets(cfg):
            if not _is_set(secrets.get(key)):
                problems.append(
                    f"{PROJECT}:{key}: missing secret; set it with `pulumi config set --secret {key} <value>`"
                )
    if problems:
        raise ConfigError(source, problems)
    assert cfg is not None
    return cfg


def stack_file(stack: str, stacks_dir: Path = STACKS_DIR) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """The raw `config:` mapping of a stack file (secure values stay `{'secure': ...}` mappings)."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(_display(path), [f"not valid YAML: {exc}"]) from exc
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(_display(path), ["expected a top-level `config:` mapping"])
    return config


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def load_stack(stack: str, stacks_dir: Path = STACKS_DIR) -> PlatformConfig:
    """Read and validate `stacks/Pulumi.<stack>.yaml`."""
    path = stack_file(stack, stacks_dir)
    return parse_config(read_stack_file(path), source=_display(path))

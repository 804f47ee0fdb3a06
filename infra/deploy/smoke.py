"""The smoke suite: a handful of requests that tell a good deploy from a broken one in seconds.

One list of checks serves two callers: the deploy tool (`run_smoke`) after every `pulumi up`, and
`pytest tests/smoke` (one test per check) against `SMOKE_BASE_URL` or an app the tests start.
Every check runs every time: a check that cannot judge (no expected version given) fails and says why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

# The header `tailscale serve` sets for a person's device; the app grants analytics to admins by it.
IDENTITY_HEADER = "Tailscale-User-Login"


class SmokeFailure(Exception):
    """A check saw something a healthy deploy would not show; the message says what."""


@dataclass(frozen=True)
class SmokeTarget:
    """Where the deployed app answers and what it is expected to report about itself."""

    base_url: str
    expected_version: str | None = None
    expected_digest: str | None = None
    admin_login: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmokeTarget:
        """Read SMOKE_BASE_URL, SMOKE_EXPECTED_VERSION, SMOKE_EXPECTED_DIGEST, SMOKE_ADMIN_LOGIN."""
        base_url = environ.get("SMOKE_BASE_URL", "").strip()
        if not base_url:
            raise ValueError("SMOKE_BASE_URL is not set: give the app's base URL, e.g. http://127.0.0.1:8000")
        return cls(
            base_url=base_url,
            expected_version=environ.get("SMOKE_EXPECTED_VERSION") or None,
            expected_digest=environ.get("SMOKE_EXPECTED_DIGEST") or None,
            admin_login=environ.get("SMOKE_ADMIN_LOGIN") or None,
            timeout=float(environ.get("SMOKE_TIMEOUT", "10")),
        )


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    seconds: float


@dataclass
class SmokeReport:
    base_url: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def summary(self) -> str:
        lines = [f"smoke against {self.base_url}: {'PASSED' if self.passed else 'FAILED'}"]
        for result in self.results:
            mark = "ok  " if result.passed else "FAIL"
            lines.append(f"  {mark} {result.name:<12} {result.detail} ({result.seconds:.2f} s)")
        return "\n".join(lines)


def normalize_digest(value: str) -> str:
    """`repo@sha256:abc`, `sha256:abc` and `abc` all name the digest `sha256:abc`."""
    value = value.strip()
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if not value.startswith("sha256:"):
        value = f"sha256:{value}"
    return value


def _get(client: httpx.Client, path: str, **kwargs: object) -> httpx.Response:
    try:
        return client.get(path, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise SmokeFailure(f"GET {path} did not answer: {type(exc).__name__}: {exc}") from None


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        raise SmokeFailure(
            f"GET {response.request.url.path} answered {response.status_code} without JSON: "
            f"{response.text[:120]!r}"
        ) from None
    if not isinstance(body, dict):
        raise SmokeFailure(f"GET {response.request.url.path} answered JSON that is not an object")
    return body


def _expect_status(response: httpx.Response, *allowed: int) -> None:
    if response.status_code not in allowed:
        raise SmokeFailure(
            f"GET {response.request.url.path} answered {response.status_code}, expected "
            f"{' or '.join(map(str, allowed))}: {response.text[:200]!r}"
        )


def check_health(client: httpx.Client, target: SmokeTarget) -> str:
    response = _get(client, "/health")
    _expect_status(response, 200)
    status = _json(response).get("status")
    if status != "ok":
        raise SmokeFailure(f"/health says status={status!r}, expected 'ok'")
    return "the process answers"


def check_readiness(client: httpx.Client, target: SmokeTarget) -> str:
    response = _get(client, "/ready")
    _expect_status(response, 200)
    body = _json(response)
    return f"ready ({', '.join(sorted(body))})"


LOCAL_ASSET = re.compile(r"""(?:src|href)=["'](/static/[^"'?#]+)""")


def _check_page(client: httpx.Client, path: str) -> str:
    """The page is HTML and every script, style sheet and image it loads from the app answers 200."""
    response = _get(client, path)
    _expect_status(response, 200)
    content_type = response.headers.get("content-type", "")
    if "text/html" not in content_type:
        raise SmokeFailure(f"GET {path} answered {content_type!r}, expected an HTML page")
    if "<html" not in response.text.lower():
        raise SmokeFailure(f"GET {path} answered no HTML document: {response.text[:120]!r}")
    assets = sorted(set(LOCAL_ASSET.findall(response.text)))
    for asset in assets:
        asset_response = _get(client, asset)
        if asset_response.status_code != 200:
            raise SmokeFailure(f"{path} loads {asset}, which answered {asset_response.status_code}")
    return f"HTML page, {len(response.content)} bytes, {len(assets)} assets load"


def check_dashboard(client: httpx.Client, target: SmokeTarget) -> str:
    return _check_page(client, "/dashboard")


def check_vpn_page(client: httpx.Client, target: SmokeTarget) -> str:
    return _check_page(client, "/vpn")


def check_chat_health(client: httpx.Client, target: SmokeTarget) -> str:
    response = _get(client, "/chat/health")
    _expect_status(response, 200)
    body = _json(response)
    return f"model {body.get('model', '?')}, key configured: {body.get('key_configured', '?')}"


def check_analytics(client: httpx.Client, target: SmokeTarget) -> str:
    """With an admin identity the endpoint must serve the quota; without one it must refuse politely.

    Through `tailscale serve` a tagged CI node has no user identity, so the app's 403 is the answer a
    healthy deploy gives it; a 5xx, a 404 or a non-JSON answer is a broken deploy either way.
    """
    headers = {IDENTITY_HEADER: target.admin_login} if target.admin_login else {}
    response = _get(client, "/analytics/quota-status", headers=headers)
    if target.admin_login:
        _expect_status(response, 200)
        body = _json(response)
        return f"quota-status for {target.admin_login}: {sorted(body)}"
    _expect_status(response, 200, 403)
    _json(response)
    if response.status_code == 403:
        return "answered 403 to an anonymous caller (set SMOKE_ADMIN_LOGIN to read the quota)"
    return "quota-status served"


def check_version(client: httpx.Client, target: SmokeTarget) -> str:
    if not (target.expected_version or target.expected_digest):
        raise SmokeFailure(
            "no expectation to compare /version with: set SMOKE_EXPECTED_DIGEST or SMOKE_EXPECTED_VERSION"
        )
    response = _get(client, "/version")
    _expect_status(response, 200)
    body = _json(response)
    seen: list[str] = []
    if target.expected_digest:
        deployed = str(body.get("image_digest") or "")
        expected = normalize_digest(target.expected_digest)
        if not deployed or normalize_digest(deployed) != expected:
            raise SmokeFailure(f"/version reports image_digest {deployed!r}, expected {expected}")
        seen.append(f"digest {normalize_digest(deployed)[:19]}")
    if target.expected_version:
        reported = {str(body.get("version") or ""), str(body.get("git_commit") or "")}
        if target.expected_version not in reported:
            raise SmokeFailure(
                f"/version reports version {body.get('version')!r} and git_commit "
                f"{body.get('git_commit')!r}, expected {target.expected_version!r}"
            )
        seen.append(f"version {target.expected_version}")
    return ", ".join(seen) + f" in {body.get('environment', '?')}"


Check = Callable[[httpx.Client, SmokeTarget], str]

CHECKS: dict[str, Check] = {
    "health": check_health,
    "readiness": check_readiness,
    "dashboard": check_dashboard,
    "vpn-page": check_vpn_page,
    "chat-health": check_chat_health,
    "analytics": check_analytics,
    "version": check_version,
}


def smoke_client(target: SmokeTarget) -> httpx.Client:
    return httpx.Client(base_url=target.base_url, timeout=target.timeout, follow_redirects=True)


def run_check(name: str, client: httpx.Client, target: SmokeTarget) -> CheckResult:
    started = time.monotonic()
    try:
        detail = CHECKS[name](client, target)
        passed = True
    except SmokeFailure as exc:
        detail, passed = str(exc), False
    return CheckResult(name=name, passed=passed, detail=detail, seconds=time.monotonic() - started)


def run_smoke(target: SmokeTarget) -> SmokeReport:
    """Run every check against `target`; never raises for a failing check."""
    report = SmokeReport(base_url=target.base_url)
    with smoke_client(target) as client:
        for name in CHECKS:
            report.results.append(run_check(name, client, target))
    return report


def wait_for_health(base_url: str, timeout: float, interval: float = 1.0) -> str | None:
    """Poll `/health` until it answers 200; return None when healthy, else the last thing seen."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(base_url=base_url, timeout=min(5.0, timeout)) as client:
        while True:
            try:
                response = client.get("/health")
                if response.status_code == 200:
                    return None
                last = f"/health answered {response.status_code}"
            except httpx.HTTPError as exc:
                last = f"/health did not answer: {type(exc).__name__}"
            if time.monotonic() >= deadline:
                return f"{last} (waited {timeout:.0f} s)"
            time.sleep(interval)

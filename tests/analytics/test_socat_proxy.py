"""The real socat from sidecar/ in front of the stand-in tailscaled, running as uid 10001."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from app.analytics.localapi import LOCALAPI_HOST, LocalAPIClient
from tests.analytics.support import SIDECAR, StandInTailscaled, as_proxy_uid, socat_proxy

pytestmark = [
    pytest.mark.socat,
    pytest.mark.skipif(os.getuid() != 0, reason="running socat as uid 10001 needs root to switch uid"),
]


async def test_status_and_whois_work_through_the_proxy(tailscaled: StandInTailscaled, tmp_path: Path) -> None:
    with socat_proxy(tailscaled.socket_path, tmp_path) as proxy:
        client = LocalAPIClient(proxy.url, 2.0)
        try:
            status = await client.status()
            ana = await client.whois("100.101.3.30")
        finally:
            await client.aclose()
    assert len(status.peer) == 7
    assert ana is not None and ana.user_profile.login_name == "ana@chocolate.example"
    assert any(line.startswith("localapi: 10001 GET /localapi/v0/status") for line in tailscaled.requests())


def test_a_write_through_the_proxy_is_refused_because_of_its_uid(
    tailscaled: StandInTailscaled, tmp_path: Path
) -> None:
    body = {"WantRunning": False}
    headers = {"Host": LOCALAPI_HOST}
    with socat_proxy(tailscaled.socket_path, tmp_path) as proxy:
        through_proxy = httpx.patch(f"{proxy.url}/localapi/v0/prefs", json=body, headers=headers)
    transport = httpx.HTTPTransport(uds=str(tailscaled.socket_path))
    with httpx.Client(transport=transport, base_url=f"http://{LOCALAPI_HOST}") as root_client:
        as_root = root_client.patch("/localapi/v0/prefs", json=body)
    assert through_proxy.status_code == 403
    assert "write access denied" in through_proxy.text
    assert as_root.status_code == 200, "the same write from uid 0 is allowed: the uid makes the difference"


def test_the_proxy_script_refuses_to_run_as_root(tmp_path: Path) -> None:
    result = subprocess.run(
        ["/bin/sh", str(SIDECAR / "localapi-proxy.sh")],
        env={"TS_SOCKET": str(tmp_path / "none.sock"), "LISTEN_PORT": "1", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 64
    assert "refusing to run as root" in result.stderr


def test_the_healthcheck_follows_the_whole_chain(tailscaled: StandInTailscaled, tmp_path: Path) -> None:
    health = as_proxy_uid(["/bin/sh", str(SIDECAR / "localapi-proxy-health.sh")])
    with socat_proxy(tailscaled.socket_path, tmp_path) as proxy:
        env = {**os.environ, "LISTEN_PORT": str(proxy.port)}
        healthy = subprocess.run(health, env=env, capture_output=True, timeout=15)
        tailscaled.set_mode("down")
        unhealthy = subprocess.run(health, env=env, capture_output=True, timeout=15)
    assert healthy.returncode == 0
    assert unhealthy.returncode != 0

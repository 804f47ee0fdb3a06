"""The LocalAPI client against the stand-in tailscaled on its unix socket."""

from __future__ import annotations

import time

import httpx
import pytest

from app.analytics.localapi import LOCALAPI_HOST, LocalAPIClient, LocalAPIError
from tests.analytics.support import StandInTailscaled


def unix_client(tailscaled: StandInTailscaled, timeout: float = 2.0) -> LocalAPIClient:
    return LocalAPIClient(f"unix://{tailscaled.socket_path}", timeout)


async def test_status_is_parsed_from_the_ipnstate_shape(tailscaled: StandInTailscaled) -> None:
    client = unix_client(tailscaled)
    try:
        status = await client.status()
    finally:
        await client.aclose()
    assert status.self_node is not None and status.self_node.tags == ["tag:prod"]
    assert status.current_tailnet is not None and status.current_tailnet.name == "chocolate.example"
    peers = {peer.host_name: peer for peer in status.peer.values()}
    laptop = peers["marta-laptop"]
    assert laptop.online and laptop.rx_bytes == 1048576 and laptop.tx_bytes == 524288
    assert laptop.key_expiry is not None and laptop.key_expiry.year == 2027
    assert peers["auditor-mbp"].sharee_node
    assert peers["dev"].tags == ["tag:dev", "tag:ci"]
    assert status.self_node.last_seen is None, "Go's zero time means never"
    user = status.user_by_id(laptop.user_id)
    assert user is not None and user.login_name == "marta@chocolate.example"


async def test_whois_finds_the_node_and_user_behind_an_address(tailscaled: StandInTailscaled) -> None:
    client = unix_client(tailscaled)
    try:
        ana = await client.whois("100.101.3.30")
        nobody = await client.whois("100.99.99.99")
    finally:
        await client.aclose()
    assert ana is not None
    assert ana.user_profile.login_name == "ana@chocolate.example"
    assert ana.node.host_name == "ana-thinkpad" and ana.node.stable_id == "nANALAPCNTRL"
    assert nobody is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "localhost"},
        {"Host": LOCALAPI_HOST, "Origin": "http://evil.example"},
        {"Referer": "http://x/"},
    ],
)
async def test_standin_refuses_browser_like_requests_as_tailscaled_does(
    tailscaled: StandInTailscaled, headers: dict[str, str]
) -> None:
    transport = httpx.AsyncHTTPTransport(uds=str(tailscaled.socket_path))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{LOCALAPI_HOST}") as client:
        response = await client.get("/localapi/v0/status", headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize("mode", ["down", "garbage", "slow"])
async def test_every_failure_mode_is_one_error_type_and_ends_within_the_timeout(
    tailscaled: StandInTailscaled, mode: str
) -> None:
    tailscaled.set_mode(mode)
    client = unix_client(tailscaled, timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(LocalAPIError):
            await client.status()
    finally:
        await client.aclose()
    assert time.monotonic() - started < 3.0

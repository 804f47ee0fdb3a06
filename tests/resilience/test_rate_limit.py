"""The chat rate limit under a burst: exact for the identity that bursts, invisible to everyone else.

Identities are client addresses for direct clients, so each client binds its own loopback source
address: 127.0.0.2 bursts 500 questions at once while 127.0.0.3 and 127.0.0.4 ask, at the
same moment, as many questions as the limit allows. Half of the burst carries a forged
`Tailscale-User-Login` and `X-Forwarded-For`: a client that talks to the app directly must not be able
to pose as someone else to escape its limit. Requests through the sidecar (a trusted proxy address,
127.0.0.8 here) are identified by their Tailscale user instead: two users behind the one proxy address
have a limit each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.bench.app_stack import AppStack, running_app

LIMIT = 20
WINDOW_S = 600
BURST = 500
BURSTER = "127.0.0.2"
OTHERS = ("127.0.0.3", "127.0.0.4")
SIDECAR = "127.0.0.8"


@pytest.fixture(scope="module")
def limited_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    workdir: Path = tmp_path_factory.mktemp("ratelimit")
    env = {
        "CF_CHAT_RATE_LIMIT_REQUESTS": str(LIMIT),
        "CF_CHAT_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW_S),
        "CF_TRUSTED_PROXIES": f'["{SIDECAR}/32"]',
    }
    with running_app(workdir, env=env) as stack:
        yield stack


def _client(source: str, base_url: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(
        local_address=source, limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)
    )
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=60.0)


async def _ask(client: httpx.AsyncClient, n: int, forge: bool) -> httpx.Response:
    headers = {"Tailscale-User-Login": f"someone-{n}@example.com", "X-Forwarded-For": f"10.1.2.{n % 250}"}
    return await client.post(
        "/chat/ask", json={"question": f"¿Cuál es el precio ahora? ({n})"}, headers=headers if forge else None
    )


async def test_a_burst_of_500_gets_exactly_the_limit_and_others_are_unaffected(limited_app: AppStack) -> None:
    async with (
        _client(BURSTER, limited_app.url) as burster,
        _client(OTHERS[0], limited_app.url) as other_a,
        _client(OTHERS[1], limited_app.url) as other_b,
    ):
        burst = [_ask(burster, n, forge=n % 2 == 1) for n in range(BURST)]
        polite = [_ask(client, n, forge=False) for client in (other_a, other_b) for n in range(LIMIT)]
        responses = await asyncio.gather(*burst, *polite)

    burst_responses, polite_responses = responses[:BURST], responses[BURST:]
    burst_statuses = [r.status_code for r in burst_responses]
    assert burst_statuses.count(200) == LIMIT, f"burst statuses: {sorted(set(burst_statuses))}"
    assert burst_statuses.count(429) == BURST - LIMIT
    for response in burst_responses:
        if response.status_code == 429:
            retry_after = int(response.headers["Retry-After"])
            assert 1 <= retry_after <= WINDOW_S

    polite_statuses = [r.status_code for r in polite_responses]
    assert polite_statuses == [200] * len(polite_responses), (
        f"other identities were limited or failed: {polite_statuses}"
    )


async def test_one_question_past_the_limit_is_refused_with_retry_after(limited_app: AppStack) -> None:
    async with _client("127.0.0.6", limited_app.url) as asker, _client("127.0.0.7", limited_app.url) as fresh:
        allowed = [(await _ask(asker, n, forge=False)).status_code for n in range(LIMIT)]
        refused = await _ask(asker, LIMIT, forge=False)
        newcomer = await _ask(fresh, 0, forge=False)
    assert allowed == [200] * LIMIT
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
    assert newcomer.status_code == 200


async def test_users_behind_the_sidecar_are_limited_each_by_their_own_login(limited_app: AppStack) -> None:
    async def as_user(client: httpx.AsyncClient, login: str, n: int) -> httpx.Response:
        return await client.post(
            "/chat/ask",
            json={"question": f"¿Qué tiempo hace? ({n})"},
            headers={"Tailscale-User-Login": login, "Tailnet-Client-Address": "100.64.0.9"},
        )

    async with _client(SIDECAR, limited_app.url) as sidecar:
        ana = [as_user(sidecar, "ana@example.com", n) for n in range(LIMIT + 30)]
        bob = [as_user(sidecar, "bob@example.com", n) for n in range(LIMIT)]
        responses = await asyncio.gather(*ana, *bob)
    ana_statuses = [r.status_code for r in responses[: LIMIT + 30]]
    bob_statuses = [r.status_code for r in responses[LIMIT + 30 :]]
    assert ana_statuses.count(200) == LIMIT and ana_statuses.count(429) == 30
    assert bob_statuses == [200] * LIMIT, "a user behind the same proxy was limited by another's burst"

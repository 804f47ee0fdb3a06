"""The smoke suite against the app, proxy and stand-in tailscaled as containers; and the stack revert.

The app runs from the image pulled from the registry by digest; the same smoke checks that every
deploy runs must pass on it, and must fail on a deliberately broken image.
"""

from __future__ import annotations

import httpx
import pytest

from infra.deploy.release import Outcome, ReleaseOptions, Releaser
from infra.deploy.smoke import SmokeTarget, run_smoke
from tests.containers.docker_stack import DockerStack
from tests.containers.topology import ADMIN_LOGIN, Topology

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]


def test_the_smoke_suite_passes_on_the_good_image(
    topology: Topology, pushed_app: tuple[str, str], app_version: str
) -> None:
    reference, digest = pushed_app
    topology.run_app(reference, digest)
    topology.wait_healthy()

    report = run_smoke(
        SmokeTarget(
            base_url=topology.app_url,
            expected_digest=digest,
            expected_version=app_version,
            admin_login=ADMIN_LOGIN,
        )
    )

    assert report.passed, report.summary() + "\n" + topology.app_log()
    quota = httpx.get(
        f"{topology.app_url}/analytics/quota-status", headers={"Tailscale-User-Login": ADMIN_LOGIN}
    ).json()
    assert quota["users"], "the quota comes from the stand-in tailscaled, through the proxy container"


def test_the_smoke_suite_fails_on_a_broken_image(
    topology: Topology, pushed_broken_app: tuple[str, str]
) -> None:
    reference, digest = pushed_broken_app
    topology.run_app(reference, digest)
    topology.wait_healthy()

    report = run_smoke(SmokeTarget(base_url=topology.app_url, expected_digest=digest))

    assert not report.passed
    assert {result.name for result in report.failures} == {"dashboard", "vpn-page"}


def test_a_broken_deploy_is_reverted_to_the_last_good_image(
    topology: Topology, pushed_app: tuple[str, str], pushed_broken_app: tuple[str, str]
) -> None:
    good_reference, good = pushed_app
    broken_reference, broken = pushed_broken_app
    stack = DockerStack("dev", topology, repository=good_reference.split("@")[0])
    releaser = Releaser(stack, ["app-dev"], ReleaseOptions(health_timeout=60), echo=print)

    first = releaser.deploy(good)
    assert first.outcome is Outcome.DEPLOYED, first.account()

    second = releaser.deploy(broken)

    assert second.outcome is Outcome.REVERTED and second.exit_code == 1, second.account()
    assert topology.app_image() == good_reference, "the environment runs the last good image again"
    assert [up.split("@")[1] for up in stack.ups] == [good, broken, good]
    assert run_smoke(SmokeTarget(base_url=topology.app_url, expected_digest=good)).passed

"""The deploy tool's decisions: release, smoke, revert, report; against a stand-in app on a real port."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra.deploy.keys import GOOD_DIGESTS_KEY, IMAGE_DIGEST_KEY
from infra.deploy.release import Outcome, ReleaseConfigError, ReleaseOptions, Releaser
from tests.delivery.environment import Behaviour, FakeAppServer, InMemoryStack

GOOD_A = "sha256:" + "a" * 64
GOOD_B = "sha256:" + "b" * 64
NEW = "sha256:" + "c" * 64
APP_TARGETS = ["urn:pulumi:dev::chocolate-factory::chocolate-factory:index:AppEnvironment::app-dev"]


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def server(behaviour: Behaviour) -> Iterator[FakeAppServer]:
    with FakeAppServer(behaviour) as running:
        yield running


def released(stack: InMemoryStack, history: list[str]) -> None:
    stack.config[GOOD_DIGESTS_KEY] = json.dumps(history)


def releaser(stack: InMemoryStack, lines: list[str] | None = None) -> Releaser:
    options = ReleaseOptions(health_timeout=1.5)
    return Releaser(stack, APP_TARGETS, options, echo=(lines.append if lines is not None else print))


def history(stack: InMemoryStack) -> list[str]:
    return list(json.loads(stack.config[GOOD_DIGESTS_KEY]))


def test_a_good_image_is_deployed_smoked_and_recorded_as_good(server: FakeAppServer) -> None:
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: GOOD_A})
    released(stack, [GOOD_A])

    release = releaser(stack).deploy(NEW)

    assert release.outcome is Outcome.DEPLOYED and release.exit_code == 0
    assert server.running == NEW
    assert history(stack) == [GOOD_A, NEW]
    assert "/version" in server.requests, "the smoke suite checked the deployed version"


def test_every_up_targets_only_the_app_component(server: FakeAppServer, behaviour: Behaviour) -> None:
    behaviour.smoke_broken.add(NEW)
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: GOOD_A})

    releaser(stack).deploy(NEW)

    assert [call.targets for call in stack.ups] == [APP_TARGETS, APP_TARGETS]


def test_an_image_that_fails_smoke_is_reverted_to_the_last_good_digest(
    server: FakeAppServer, behaviour: Behaviour
) -> None:
    behaviour.smoke_broken.add(NEW)
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: GOOD_B})
    released(stack, [GOOD_A, GOOD_B])

    release = releaser(stack).deploy(NEW)

    assert release.outcome is Outcome.REVERTED and release.exit_code == 1
    assert [call.digest for call in stack.ups] == [NEW, GOOD_B]
    assert server.running == GOOD_B and stack.config[IMAGE_DIGEST_KEY] == GOOD_B
    assert history(stack) == [GOOD_A, GOOD_B], "a failed digest is never recorded as good"
    account = release.account()
    assert "smoke failed: readiness" in account
    assert f"reverted to {GOOD_B}" in account
    assert "/ready answered 500" in account, "the account shows what the smoke suite saw"


def test_a_failed_pulumi_up_is_reverted_too(server: FakeAppServer) -> None:
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: GOOD_A}, failing_ups=[NEW])
    released(stack, [GOOD_A])

    release = releaser(stack).deploy(NEW)

    assert release.outcome is Outcome.REVERTED
    assert "pulumi up FAILED" in release.account() and "image " + NEW in release.account()
    assert server.running == GOOD_A


def test_an_image_that_never_gets_healthy_is_reverted(server: FakeAppServer, behaviour: Behaviour) -> None:
    behaviour.dead.add(NEW)
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: GOOD_A})
    released(stack, [GOOD_A])

    release = releaser(stack).deploy(NEW)

    assert release.outcome is Outcome.REVERTED
    assert "health check failed" in release.headline
    assert server.running == GOOD_A


def test_a_failed_revert_asks_for_an_operator_and_says_what_to_run(
    server: FakeAppServer, behaviour: Behaviour
) -> None:
    behaviour.smoke_broken.update({NEW, GOOD_A})
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: GOOD_A})
    released(stack, [GOOD_A])

    release = releaser(stack).deploy(NEW)

    assert release.outcome is Outcome.NEEDS_OPERATOR and release.exit_code == 2
    assert "python -m infra.deploy rollback --stack prod --to DIGEST" in release.headline


def test_a_first_deploy_that_fails_has_nothing_to_revert_to(
    server: FakeAppServer, behaviour: Behaviour
) -> None:
    behaviour.smoke_broken.add(NEW)
    stack = InMemoryStack("dev", server)

    release = releaser(stack).deploy(NEW)

    assert release.exit_code == 2
    assert "no earlier good digest" in release.headline
    assert len(stack.ups) == 1


def test_the_running_digest_counts_as_last_good_before_any_history_exists(
    server: FakeAppServer, behaviour: Behaviour
) -> None:
    behaviour.smoke_broken.add(NEW)
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: GOOD_A})

    release = releaser(stack).deploy(NEW)

    assert release.outcome is Outcome.REVERTED
    assert server.running == GOOD_A
    assert f"running now: {IMAGE_DIGEST_KEY} = {GOOD_A}" in release.account()


def test_rollback_goes_to_the_previous_good_digest_and_forgets_the_current_one(server: FakeAppServer) -> None:
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: NEW})
    released(stack, [GOOD_A, GOOD_B, NEW])

    first = releaser(stack).rollback()
    assert first.outcome is Outcome.ROLLED_BACK and first.exit_code == 0
    assert server.running == GOOD_B
    assert history(stack) == [GOOD_A, GOOD_B]

    second = releaser(stack).rollback()
    assert second.outcome is Outcome.ROLLED_BACK
    assert server.running == GOOD_A
    assert history(stack) == [GOOD_A]


def test_rollback_to_a_named_digest(server: FakeAppServer) -> None:
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: NEW})
    released(stack, [GOOD_A, GOOD_B, NEW])

    release = releaser(stack).rollback(to=f"registry.example:5000/chocolate-factory/app@{GOOD_A}")

    assert release.outcome is Outcome.ROLLED_BACK
    assert stack.config[IMAGE_DIGEST_KEY] == GOOD_A
    assert history(stack) == [GOOD_B, GOOD_A]


def test_a_rollback_target_that_fails_smoke_restores_what_ran_before(
    server: FakeAppServer, behaviour: Behaviour
) -> None:
    behaviour.smoke_broken.add(GOOD_A)
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: NEW})
    released(stack, [GOOD_A, NEW])

    release = releaser(stack).rollback()

    assert release.outcome is Outcome.ROLLBACK_FAILED and release.exit_code == 1
    assert server.running == NEW
    assert history(stack) == [GOOD_A, NEW]


def test_rollback_with_no_earlier_good_digest_names_the_option_to_use(server: FakeAppServer) -> None:
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: NEW})
    released(stack, [NEW])

    with pytest.raises(ReleaseConfigError, match="--to sha256:"):
        releaser(stack).rollback()
    assert stack.ups == []


def test_a_malformed_digest_is_refused_before_anything_changes(server: FakeAppServer) -> None:
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: GOOD_A})

    with pytest.raises(ReleaseConfigError, match="sha256:<64 hex digits>"):
        releaser(stack).deploy("latest")
    assert stack.ups == [] and stack.config[IMAGE_DIGEST_KEY] == GOOD_A


def test_a_corrupt_history_names_the_key_and_the_stack_file(server: FakeAppServer) -> None:
    stack = InMemoryStack("prod", server, {IMAGE_DIGEST_KEY: GOOD_A, GOOD_DIGESTS_KEY: "[not json"})

    with pytest.raises(ReleaseConfigError, match=rf"{GOOD_DIGESTS_KEY} in stacks/Pulumi.prod.yaml"):
        releaser(stack).deploy(NEW)


def test_the_history_keeps_only_the_newest_good_digests(server: FakeAppServer) -> None:
    older = [f"sha256:{i:064x}" for i in range(1, 11)]
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: older[-1]})
    released(stack, older)

    releaser(stack).deploy(NEW)

    assert history(stack) == [*older[1:], NEW]


def test_the_account_is_echoed_step_by_step(server: FakeAppServer, behaviour: Behaviour) -> None:
    behaviour.smoke_broken.add(NEW)
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: GOOD_A})
    lines: list[str] = []

    release = releaser(stack, lines).deploy(NEW)

    assert lines[:-1] == release.steps
    assert lines[-1].startswith("REVERTED:")


def test_a_redeploy_of_the_running_digest_that_fails_goes_back_to_the_one_before(
    server: FakeAppServer, behaviour: Behaviour
) -> None:
    stack = InMemoryStack("dev", server, {IMAGE_DIGEST_KEY: GOOD_B})
    released(stack, [GOOD_A, GOOD_B])
    behaviour.smoke_broken.add(GOOD_B)

    release = releaser(stack).deploy(GOOD_B)

    assert release.outcome is Outcome.REVERTED
    assert server.running == GOOD_A
    assert history(stack) == [GOOD_A], "the digest that failed is no longer counted as good"

"""Owner, device classes and seats, from status fixtures modelled on tailscale's `ipnstate.Status`
(tests/fixtures/tailscale): the factory's tailnet (status.json, a tagged Self on a domain tailnet), a
tiny personal tailnet on Tailscale 1.94 with a tagged Self, and a Headscale tailnet whose untagged
subnet router and exit node belong to an `infra` user."""

from __future__ import annotations

import json

import pytest

from app.analytics.classify import (
    DeviceKind,
    QuotaLevel,
    SeatRule,
    classify,
    quota,
    tailnet_owner,
)
from app.analytics.localapi import TailnetStatus
from app.analytics.service import TailnetView
from app.settings import Settings
from tests.analytics.support import FIXTURES

MARTA = "marta@chocolate.example"
ANA = "ana@chocolate.example"
LUIS = "luis@chocolate.example"
PLAN = SeatRule(limit=6, owner_takes_seat=True, warning_ratio=0.8, alert_ratio=1.0)
OLD_FREE_PLAN_WITHOUT_OWNER = SeatRule(limit=3, owner_takes_seat=False, warning_ratio=0.8, alert_ratio=1.0)


def load(name: str) -> TailnetStatus:
    return TailnetStatus.model_validate(json.loads((FIXTURES / name).read_text()))


@pytest.fixture
def status() -> TailnetStatus:
    return load("status.json")


def kinds(status: TailnetStatus, owner: str) -> dict[str, DeviceKind]:
    return {device.host_name: device.kind for device in classify(status, owner)}


def test_every_device_gets_one_of_the_kinds(status: TailnetStatus) -> None:
    assert kinds(status, MARTA) == {
        "prod": DeviceKind.TAGGED,
        "git": DeviceKind.TAGGED,
        "dev": DeviceKind.TAGGED,
        "marta-laptop": DeviceKind.OWN,
        "marta-phone": DeviceKind.OWN,
        "ana-thinkpad": DeviceKind.OTHER_USER,
        "<img src=x onerror=alert(1)>": DeviceKind.OTHER_USER,
        "auditor-mbp": DeviceKind.SHARED_IN,
    }


def test_tagged_self_with_an_admin_the_admin_who_owns_devices_is_the_owner(status: TailnetStatus) -> None:
    owner = tailnet_owner(status, "", [MARTA])
    assert owner == MARTA
    seats = quota(classify(status, owner), owner, PLAN)
    assert seats.users == (ANA, LUIS, MARTA), "the owner is a user too; tagged and shared-in devices are not"
    assert (seats.used, seats.remaining, seats.level) == (3, 3, QuotaLevel.OK)


def test_tagged_self_without_admins_has_no_owner_and_no_false_alert(status: TailnetStatus) -> None:
    owner = tailnet_owner(status, "", [])
    assert owner == "", "a domain tailnet, a tagged node and no admins: the status cannot tell"
    assert kinds(status, owner)["marta-laptop"] is DeviceKind.OTHER_USER
    seats = quota(classify(status, owner), owner, PLAN)
    assert (seats.used, seats.level) == (3, QuotaLevel.OK), "every human is a seat whoever owns the tailnet"
    without_owner = quota(classify(status, owner), owner, OLD_FREE_PLAN_WITHOUT_OWNER)
    assert (without_owner.used, without_owner.level) == (2, QuotaLevel.OK), (
        "one of the three users is the owner, who takes no seat under this rule: 2 of 3, not a 3/3 alert"
    )


@pytest.mark.parametrize("admins", [[MARTA, ANA], [ANA, MARTA]], ids=["marta-first", "ana-first"])
def test_admins_in_either_order_give_the_same_owner_classes_and_seats(
    status: TailnetStatus, admins: list[str]
) -> None:
    owner = tailnet_owner(status, "", admins)
    assert owner == MARTA, "of two admins with devices, the owner is the one whose first device is oldest"
    assert kinds(status, owner)["marta-phone"] is DeviceKind.OWN
    assert kinds(status, owner)["ana-thinkpad"] is DeviceKind.OTHER_USER
    seats = quota(classify(status, owner), owner, OLD_FREE_PLAN_WITHOUT_OWNER)
    assert (seats.users, seats.used, seats.level) == ((ANA, LUIS), 2, QuotaLevel.OK)


@pytest.mark.parametrize(
    "admins",
    [["alice@example.org", "nono@example.com"], ["nono@example.com", "alice@example.org"], []],
    ids=["alice-first", "nono-first", "no-admins"],
)
def test_a_personal_tailnet_is_owned_by_the_user_it_is_named_after(admins: list[str]) -> None:
    tiny = load("status-tiny-tagged-self.json")
    owner = tailnet_owner(tiny, "", admins)
    assert owner == "nono@example.com", "the tailnet's name, though alice's laptop is older"
    assert kinds(tiny, owner) == {
        "prod": DeviceKind.TAGGED,
        "alice-mbp": DeviceKind.OTHER_USER,
        "nono-phone": DeviceKind.OWN,
    }
    seats = quota(classify(tiny, owner), owner, OLD_FREE_PLAN_WITHOUT_OWNER)
    assert (seats.users, seats.used) == (("alice@example.org",), 1)
    assert quota(classify(tiny, owner), owner, PLAN).used == 2


def test_an_untagged_headscale_subnet_router_and_exit_node_take_no_seat() -> None:
    headscale = load("status-headscale-router.json")
    owner = tailnet_owner(headscale, "", [])
    assert owner == "ops", "this node is untagged: its user"
    devices = {d.host_name: d for d in classify(headscale, owner)}
    assert {name: d.kind for name, d in devices.items()} == {
        "prod": DeviceKind.OWN,
        "office-router": DeviceKind.INFRASTRUCTURE,
        "exit-mad": DeviceKind.INFRASTRUCTURE,
        "bea-laptop": DeviceKind.OTHER_USER,
    }
    router, exit_node = devices["office-router"], devices["exit-mad"]
    assert (router.subnet_routes, router.exit_node) == (("192.168.10.0/24",), False)
    assert (exit_node.subnet_routes, exit_node.exit_node) == ((), True)
    assert devices["prod"].version == "1.80.3-t1a2b3c4d5-g0a1b2c3d4e5f"
    assert devices["bea-laptop"].version == "", "ipnstate.Status has the version of this node only"
    seats = quota(list(devices.values()), owner, PLAN)
    assert (seats.users, seats.used) == (("bea", "ops"), 2), "the infra user owns only routers: no seat"


def test_with_no_tailnet_data_the_seats_are_unknown_never_ok() -> None:
    nothing = TailnetView("none", True, None, None, "", "", [], "connection refused")
    seats = nothing.quota(Settings(_env_file=None))  # type: ignore[call-arg]
    assert (seats.used, seats.level) == (None, QuotaLevel.UNKNOWN)
    assert (seats.remaining, seats.over_limit) == (None, False)


def test_the_plan_limit_is_a_setting_and_sets_the_level(status: TailnetStatus) -> None:
    devices = classify(status, MARTA)
    rule = SeatRule(limit=4, owner_takes_seat=True, warning_ratio=0.6, alert_ratio=1.0)
    assert quota(devices, MARTA, rule).level is QuotaLevel.WARNING
    assert quota(devices, MARTA, SeatRule(3, True, 0.8, 1.0)).level is QuotaLevel.ALERT
    over = quota(devices, MARTA, SeatRule(2, True, 0.8, 1.0))
    assert over.over_limit and over.remaining == 0


def test_a_configured_owner_wins_and_an_untagged_self_names_its_user(status: TailnetStatus) -> None:
    assert tailnet_owner(status, "boss@chocolate.example", [MARTA]) == "boss@chocolate.example"
    untagged = status.model_copy(
        update={"self_node": status.self_node.model_copy(update={"tags": [], "user_id": 1002})}  # type: ignore[union-attr]
    )
    assert tailnet_owner(untagged, "", []) == ANA

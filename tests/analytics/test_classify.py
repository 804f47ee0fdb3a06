"""Device classes and the user quota, from the fixture tailnet (tests/fixtures/tailscale/status.json)."""

from __future__ import annotations

import json

import pytest

from app.analytics.classify import DeviceKind, QuotaLevel, classify, quota, tailnet_owner
from app.analytics.localapi import TailnetStatus
from tests.analytics.support import FIXTURES

OWNER = "marta@chocolate.example"


@pytest.fixture
def status() -> TailnetStatus:
    return TailnetStatus.model_validate(json.loads((FIXTURES / "status.json").read_text()))


def test_every_device_gets_one_of_the_four_kinds(status: TailnetStatus) -> None:
    kinds = {device.host_name: device.kind for device in classify(status, OWNER)}
    assert kinds == {
        "prod": DeviceKind.TAGGED,
        "git": DeviceKind.TAGGED,
        "dev": DeviceKind.TAGGED,
        "marta-laptop": DeviceKind.OWN,
        "marta-phone": DeviceKind.OWN,
        "ana-thinkpad": DeviceKind.OTHER_USER,
        "<img src=x onerror=alert(1)>": DeviceKind.OTHER_USER,
        "auditor-mbp": DeviceKind.SHARED_IN,
    }


def test_tagged_and_shared_in_devices_do_not_count_against_the_user_quota(status: TailnetStatus) -> None:
    seats = quota(classify(status, OWNER), limit=6, warning_ratio=0.8, alert_ratio=1.0)
    assert seats.users == ("ana@chocolate.example", "luis@chocolate.example")
    assert seats.used == 2 and seats.remaining == 4 and seats.level is QuotaLevel.OK


def test_the_plan_limit_is_a_setting_and_sets_the_level(status: TailnetStatus) -> None:
    devices = classify(status, OWNER)
    assert quota(devices, limit=3, warning_ratio=0.6, alert_ratio=1.0).level is QuotaLevel.WARNING
    assert quota(devices, limit=2, warning_ratio=0.8, alert_ratio=1.0).level is QuotaLevel.ALERT
    over = quota(devices, limit=1, warning_ratio=0.8, alert_ratio=1.0)
    assert over.over_limit and over.remaining == 0


def test_without_a_known_owner_the_owners_user_takes_a_seat_too(status: TailnetStatus) -> None:
    seats = quota(classify(status, owner=""), limit=6, warning_ratio=0.8, alert_ratio=1.0)
    assert "marta@chocolate.example" in seats.users and seats.used == 3


def test_the_owner_is_configured_else_this_nodes_user_else_the_first_admin(status: TailnetStatus) -> None:
    assert tailnet_owner(status, "boss@chocolate.example", [OWNER]) == "boss@chocolate.example"
    assert tailnet_owner(status, "", [OWNER]) == OWNER, "this node is tagged: it has no human user"
    untagged = status.model_copy(
        update={"self_node": status.self_node.model_copy(update={"tags": [], "user_id": 1002})}  # type: ignore[union-attr]
    )
    assert tailnet_owner(untagged, "", [OWNER]) == "ana@chocolate.example"

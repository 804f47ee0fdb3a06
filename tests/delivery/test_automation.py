"""What the Automation API side reads back from a stack's update history (CI runs in a fresh checkout)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pulumi.automation import UpdateSummary

from infra.deploy.automation import config_of_last_update
from infra.deploy.keys import GOOD_DIGESTS_KEY, IMAGE_DIGEST_KEY

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64


def summary(kind: str, result: str, config: dict[str, Any]) -> UpdateSummary:
    """An entry as `pulumi stack history --json` reports it (config values are JSON strings)."""
    return UpdateSummary(
        kind=kind,
        start_time=datetime(2026, 11, 25),
        message="",
        environment={},
        config={key: {"value": value, "secret": False} for key, value in config.items()},
        result=result,
    )


def app_config(digest: str) -> dict[str, Any]:
    return {
        "chocolate-factory:app": json.dumps({"imageRepository": "registry/app", "imageDigest": digest}),
        GOOD_DIGESTS_KEY: json.dumps([OLD]),
    }


def test_the_digest_comes_from_the_newest_successful_update() -> None:
    history = [
        summary("preview", "succeeded", app_config("sha256:" + "9" * 64)),
        summary("update", "failed", app_config("sha256:" + "8" * 64)),
        summary("update", "succeeded", app_config(NEW)),
        summary("update", "succeeded", app_config(OLD)),
    ]
    assert config_of_last_update(history, IMAGE_DIGEST_KEY) == NEW
    assert json.loads(config_of_last_update(history, GOOD_DIGESTS_KEY) or "") == [OLD]


def test_a_key_the_last_update_did_not_have_is_unset() -> None:
    history = [summary("update", "succeeded", {"chocolate-factory:app": json.dumps({"memoryMb": 512})})]
    assert config_of_last_update(history, IMAGE_DIGEST_KEY) is None
    assert config_of_last_update(history, GOOD_DIGESTS_KEY) is None
    assert config_of_last_update([], IMAGE_DIGEST_KEY) is None

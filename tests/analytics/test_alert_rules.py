"""The tailnet alerts, end to end: the app's real /metrics output, read with the stand-in tailscaled
behind it, becomes the input series of `promtool test rules` against ops/prometheus/alerts.yml. So a
rule and the metric it reads cannot drift apart: rename either and these tests fail.

The /vpn list (`GET /analytics/alerts`) is checked against the same scrape: the app and Prometheus
name the same events.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.analytics.jobs import ingest_access_log_job, snapshot_tailnet_job
from tests.analytics.support import REPO_ROOT, StandInTailscaled
from tests.analytics.test_endpoints import (
    client,
    ctx,
    edit_status,
    log_line,
    peer_named,
    running,
    settings_for,
)

pytestmark = pytest.mark.promtool

RULES = REPO_ROOT / "ops" / "prometheus" / "alerts.yml"
# What Prometheus adds to every series it scrapes from the app.
TARGET = {"job": "cf-app", "instance": "app-prod:8000"}
ALERT_NAMES = {
    "TailnetLocalAPIUnreachable": "localapi_unreachable",
    "TailnetSeatsAtLimit": "seats_limit",
    "TailnetSeatsWarning": "seats_warning",
    "TailnetTaggedNodeOffline": "tagged_offline",
    "TailnetNodeKeyExpiring": "key_expiring",
    "TailnetDeviceJoined": "device_joined",
    "TailnetUserJoined": "user_joined",
    "AccessLogStale": "access_log_stale",
}
JOIN_COUNTERS = ("cf_tailnet_device_joins_total", "cf_tailnet_user_joins_total")
NEWCOMER = {
    "ID": "nPEDROxCNTRL",
    "PublicKey": "nodekey:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
    "HostName": "pedro-pixel",
    "DNSName": "pedro-pixel.tail4c0c0a.ts.net.",
    "OS": "android",
    "UserID": 1004,
    "TailscaleIPs": ["100.101.3.40"],
    "AllowedIPs": ["100.101.3.40/32"],
    "Created": "2026-12-01T10:00:00Z",
    "Online": True,
}


def go_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def keys_far_from_expiry(status: dict[str, Any]) -> None:
    """Fixture expiry dates are fixed; the tests set them from today so that they never age."""
    far = go_time(datetime.now(UTC) + timedelta(days=200))
    for peer in status["Peer"].values():
        if peer.get("KeyExpiry"):
            peer["KeyExpiry"] = far


def tailnet_series(metrics_text: str) -> list[dict[str, str]]:
    """promtool input series from a /metrics scrape: the tailnet and access-log samples, each held for
    20 minutes, with the labels Prometheus would add. NaN (unknown) stays NaN."""
    series = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if not sample.name.startswith(("cf_tailnet_", "cf_access_log_")):
                continue
            labels = {**sample.labels, **TARGET}
            selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            value = "NaN" if sample.value != sample.value else repr(float(sample.value))
            series.append({"series": f"{sample.name}{{{selector}}}", "values": f"{value}+0x20"})
    return series


def promtool_test(
    tmp_path: Path, series: list[dict[str, str]], expected: dict[str, list[dict[str, str]]]
) -> None:
    """Run `promtool test rules` on the repository's rules (annotations left out: their text shows
    `$value`, which promtool would compare too) and fail with its report."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules_path = tmp_path / "alerts.yml"
    rules_path.write_text(yaml.safe_dump(rules))
    cases = [
        {
            "eval_time": "10m",
            "alertname": name,
            "exp_alerts": [{"exp_labels": labels} for labels in expected.get(name, [])],
        }
        for name in ALERT_NAMES
    ]
    test = {
        "rule_files": [str(rules_path)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": cases}],
    }
    test_path = tmp_path / "alerts.test.yml"
    test_path.write_text(json.dumps(test))
    result = subprocess.run(["promtool", "test", "rules", str(test_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def sample(metrics_text: str, name: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for found in family.samples:
            if found.name == name:
                return float(found.value)
    raise AssertionError(f"{name} is not on /metrics")


def target(**labels: str) -> dict[str, str]:
    return {**TARGET, **labels}


def test_the_rules_file_passes_promtool_check_rules() -> None:
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    names = {
        rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    }
    assert names == set(ALERT_NAMES), "every alert of the rules file is tested below"


async def test_a_quiet_tailnet_fires_no_alert(tmp_path: Path, tailscaled: StandInTailscaled) -> None:
    edit_status(tailscaled, keys_far_from_expiry)
    async with running(settings_for(tmp_path, tailscaled)) as app, client(app) as http:
        await snapshot_tailnet_job(ctx(app))
        scrape = (await http.get("/metrics")).text
        listed = (await http.get("/analytics/alerts")).json()["alerts"]
    assert listed == []
    promtool_test(tmp_path, tailnet_series(scrape), {})


async def test_every_alert_fires_from_the_apps_own_metrics(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    now = datetime.now(UTC)
    settings = settings_for(tmp_path, tailscaled, analytics_plan_user_limit=4)
    edit_status(tailscaled, keys_far_from_expiry)
    async with running(settings) as app, client(app) as http:
        await snapshot_tailnet_job(ctx(app))  # the tailnet as it was: nothing new in it

        def trouble(status: dict[str, Any]) -> None:
            git = peer_named(status, "git")
            git["Online"], git["LastSeen"] = False, go_time(now - timedelta(hours=2))
            peer_named(status, "marta-laptop")["KeyExpiry"] = go_time(now + timedelta(days=3, hours=1))
            status["Peer"][NEWCOMER["PublicKey"]] = NEWCOMER
            status["User"]["1004"] = {
                "ID": 1004,
                "LoginName": "pedro@chocolate.example",
                "DisplayName": "Pedro",
            }

        edit_status(tailscaled, trouble)
        # Read from the registry, not by a scrape: a scrape would keep this live status for 5 s.
        before = {name: REGISTRY.get_sample_value(name) or 0.0 for name in JOIN_COUNTERS}
        await snapshot_tailnet_job(ctx(app))  # pedro and his phone join: 4 seats of 4
        settings.analytics_access_log_path.write_text(  # type: ignore[union-attr]
            log_line("/vpn", login="marta@chocolate.example", ago=timedelta(hours=3))
        )
        await ingest_access_log_job(ctx(app))
        tailscaled.set_mode("down")
        scrape = (await http.get("/metrics")).text
        listed = (await http.get("/analytics/alerts")).json()["alerts"]

    assert "cf_tailnet_localapi_up 0.0" in scrape
    for counter in JOIN_COUNTERS:
        assert sample(scrape, counter) - before[counter] == 1, counter
    assert "pedro" not in scrape and "marta" not in scrape, "/metrics is not for admins only: no names"
    promtool_test(
        tmp_path,
        tailnet_series(scrape),
        {
            "TailnetLocalAPIUnreachable": [target(severity="critical")],
            "TailnetSeatsAtLimit": [target(severity="critical")],
            "TailnetTaggedNodeOffline": [target(severity="warning", node_id="nGITxxxCNTRL")],
            "TailnetNodeKeyExpiring": [target(severity="warning", node_id="nOWNLAPCNTRL")],
            "TailnetDeviceJoined": [target(severity="info")],
            "TailnetUserJoined": [target(severity="info")],
            "AccessLogStale": [target(severity="warning")],
        },
    )
    by_kind = {(a["kind"], a["subject"]): a for a in listed}
    assert set(by_kind) == {
        ("localapi_unreachable", settings.analytics_localapi_url),
        ("seats_limit", ""),
        ("tagged_offline", "git"),
        ("key_expiring", "marta-laptop"),
        ("device_joined", "pedro-pixel"),
        ("user_joined", "pedro@chocolate.example"),
        ("access_log_stale", str(settings.analytics_access_log_path)),
    }, "the /vpn list names the events the rules fire on"
    assert by_kind[("seats_limit", "")]["value"] == 4
    assert by_kind[("tagged_offline", "git")]["value"] == 120
    assert by_kind[("key_expiring", "marta-laptop")]["value"] == 3
    assert [a["severity"] for a in listed][:2] == ["critical", "critical"], "most severe first"


async def test_seats_at_the_warning_level_fire_the_warning_alone(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    edit_status(tailscaled, keys_far_from_expiry)
    settings = settings_for(
        tmp_path, tailscaled, analytics_plan_user_limit=4, analytics_quota_warning_ratio=0.7
    )
    async with running(settings) as app, client(app) as http:
        scrape = (await http.get("/metrics")).text
        listed = (await http.get("/analytics/alerts")).json()["alerts"]
    assert [(a["kind"], a["value"]) for a in listed] == [("seats_warning", 3)]
    promtool_test(tmp_path, tailnet_series(scrape), {"TailnetSeatsWarning": [target(severity="warning")]})


async def test_with_no_data_only_the_localapi_alert_fires_never_a_seat_alert(
    tmp_path: Path, tailscaled: StandInTailscaled
) -> None:
    tailscaled.set_mode("down")
    settings = settings_for(tmp_path, tailscaled, analytics_plan_user_limit=1)
    async with running(settings) as app, client(app) as http:
        scrape = (await http.get("/metrics")).text
        listed = (await http.get("/analytics/alerts")).json()["alerts"]
    assert "cf_tailnet_seats_used NaN" in scrape, "unknown, not 0 (which a limit of 1 would call ok)"
    assert [a["kind"] for a in listed] == ["localapi_unreachable"]
    promtool_test(
        tmp_path, tailnet_series(scrape), {"TailnetLocalAPIUnreachable": [target(severity="critical")]}
    )

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from techscaniq.domain.common import REVEAL_SECRETS
from techscaniq.domain.config import MonitoringConfig
from techscaniq.pipeline.schedule import next_run_after

SPEC_CONFIG: dict[str, Any] = {
    "organization_id": "org-123",
    "name": "Example Website Monitoring",
    "url": "https://example.com",
    "schedule": {"type": "cron", "expression": "0 */6 * * *", "timezone": "UTC"},
    "scan_config": {
        "technologies": True,
        "performance": True,
        "security": True,
        "performance_thresholds": {"load_time": 20, "ttfb": 25},
    },
    "alert_rules": [
        {
            "id": "tech-change-alert",
            "name": "Technology Change Alert",
            "conditions": {"type": "technology", "change_types": ["added", "removed"], "min_impact": "medium"},
            "severity": "medium",
            "notification_channels": [
                {"type": "email", "recipients": ["admin@company.com"]},
                {"type": "slack", "webhook_url": "https://hooks.slack.com/...", "channel": "#tech-alerts"},
            ],
            "throttle_minutes": 60,
        }
    ],
}


def test_the_guides_config_is_accepted_as_written() -> None:
    config = MonitoringConfig.model_validate(SPEC_CONFIG)
    assert config.scan_config.performance_thresholds == {"load_time": 20, "ttfb": 25}
    assert config.alert_rules[0].throttle_minutes == 60
    assert config.alert_rules[0].notification_channels[1].type == "slack"


def test_secrets_are_masked_unless_storage_asks() -> None:
    config = MonitoringConfig.model_validate(SPEC_CONFIG)
    public = config.model_dump(mode="json")
    assert public["alert_rules"][0]["notification_channels"][1]["webhook_url"] == "**********"
    stored = config.model_dump(mode="json", context=REVEAL_SECRETS)
    assert stored["alert_rules"][0]["notification_channels"][1]["webhook_url"] == "https://hooks.slack.com/..."
    assert MonitoringConfig.model_validate(stored) == config


def _error_locations(patch: dict[str, Any]) -> list[str]:
    data = {**SPEC_CONFIG, **patch}
    with pytest.raises(ValidationError) as info:
        MonitoringConfig.model_validate(data)
    return [".".join(str(part) for part in error["loc"]) for error in info.value.errors()]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"url": "ftp://example.com"}, "url"),
        ({"schedule": {"type": "cron", "expression": "61 * * * *"}}, "schedule"),
        ({"schedule": {"type": "cron", "expression": "0 * * * *", "timezone": "Mars/Olympus"}}, "schedule.timezone"),
        ({"schedule": {"type": "interval", "expression": "soon"}}, "schedule"),
        ({"schedule": {"type": "weekly", "expression": "1"}}, "schedule.type"),
        ({"scan_config": {"performance_thresholds": {"ttfb": -5}}}, "scan_config.performance_thresholds.ttfb"),
        (
            {"alert_rules": [{"name": "x", "notification_channels": [{"type": "pager"}]}]},
            "alert_rules.0.notification_channels.0",
        ),
        ({"organization_id": ""}, "organization_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_configs_are_refused_naming_the_field(patch: dict[str, Any], field: str) -> None:
    assert any(location.startswith(field) for location in _error_locations(patch))


def test_duplicate_rule_ids_are_found_in_linear_time() -> None:
    # 50,000 rules with one repeat: the old list.count check needs about a minute of CPU here, a linear one ~2 s.
    rule = {"name": "r", "conditions": {"type": "technology"}, "notification_channels": []}
    rules = [{**rule, "id": f"rule-{n}"} for n in range(50_000)] + [{**rule, "id": "rule-7"}]
    started = time.process_time()
    with pytest.raises(ValidationError) as refused:
        MonitoringConfig.model_validate({**SPEC_CONFIG, "alert_rules": rules})
    assert time.process_time() - started < 20.0
    assert "repeated: ['rule-7']" in str(refused.value)


def _schedule_error(schedule: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        MonitoringConfig.model_validate({**SPEC_CONFIG, "schedule": schedule})
    (error,) = info.value.errors()
    assert ".".join(str(part) for part in error["loc"]).startswith("schedule")
    return str(error["msg"])


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 31 2 *", "never fires"),  # parses, but February has no 31st
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("* * * * * *", "must have five fields"),  # croniter reads a sixth field as seconds
        ("@sometimes", "known nicknames are @yearly"),
    ],
)
def test_crons_that_never_fire_or_run_every_second_are_refused(expression: str, message: str) -> None:
    assert message in _schedule_error({"type": "cron", "expression": expression})


def test_a_huge_time_zone_is_an_unknown_time_zone_not_a_file_system_error() -> None:
    assert "names are at most 64 characters" in _schedule_error(
        {"type": "cron", "expression": "0 * * * *", "timezone": "A" * 10_000})
    assert "unknown time zone" in _schedule_error({"type": "cron", "expression": "0 * * * *", "timezone": "UTC\x00"})


@pytest.mark.parametrize(("nickname", "hours"), [("@hourly", 1), ("@daily", 24), ("@midnight", 24), ("@weekly", 168)])
def test_cron_nicknames_run_on_their_period(nickname: str, hours: int) -> None:
    config = MonitoringConfig.model_validate(
        {**SPEC_CONFIG, "schedule": {"type": "cron", "expression": nickname, "jitter_seconds": 0}})
    first = next_run_after(config.schedule, config.id, datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
    second = next_run_after(config.schedule, config.id, first)
    assert second - first == timedelta(hours=hours)
    assert config.schedule.expression == nickname  # shown as the user wrote it


def test_a_config_stored_before_the_five_field_rule_still_loads() -> None:
    stored = {**SPEC_CONFIG, "schedule": {"type": "cron", "expression": "*/30 * * * * *"}}
    with pytest.raises(ValidationError):
        MonitoringConfig.model_validate(stored)
    assert MonitoringConfig.model_validate(stored, context={"stored": True}).schedule.expression == "*/30 * * * * *"


def test_validation_speaks_plain_words() -> None:
    from techscaniq.domain.config import MonitoringConfig
    from techscaniq.wording.validation import describe_errors

    def problem(**doc: object) -> str:
        base = {"organization_id": "o", "name": "x", "url": "https://x.example",
                "schedule": {"type": "interval", "expression": "5m"}}
        with pytest.raises(ValidationError) as refused:
            MonitoringConfig.model_validate({**base, **doc})
        return describe_errors(refused.value.errors())

    assert problem(url="example.com") == "url: must be an http or https URL — did you mean 'https://example.com'?"
    assert problem(schedule={"type": "cron", "expression": "0 * * * *", "timezone": "europe/paris"}) == (
        "schedule.timezone: unknown time zone 'europe/paris' — did you mean 'Europe/Paris'?")
    assert "has no unit: write '5s' for seconds" in problem(schedule={"type": "interval", "expression": "5"})
    assert "seconds are not supported" in problem(schedule={"type": "cron", "expression": "0 0 * * * *"})
    assert problem(bogus=1) == "bogus: is not a known field (check its spelling)"

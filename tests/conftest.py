"""Shared fixtures. Embedded-mode tests build their Settings explicitly, so service URLs exported by
scripts/services.sh (for the PostgreSQL/Kafka/Redis tests) never leak into them."""

from __future__ import annotations

from pathlib import Path

import pytest

from techscaniq.settings import Settings

pytest_plugins = ["tests.support.fixtures"]

# Tests scan every second or so; the product's default minimum (60 s) is tested on its own.
TEST_MIN_SCAN_INTERVAL_SECONDS = "0"


@pytest.fixture(autouse=True)
def _short_scan_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Settings a test builds (and every process it starts) allows 1-second schedules."""
    monkeypatch.setenv("MIN_SCAN_INTERVAL_SECONDS", TEST_MIN_SCAN_INTERVAL_SECONDS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=None,
        metrics_database_url=None,
        redis_url=None,
        kafka_servers=None,
        elasticsearch_url=None,
        data_dir=tmp_path / "data",
        log_dir=tmp_path / "logs",
        log_file=tmp_path / "monitoring_system.log",
        allow_private_targets=True,
        # Test receivers (webhooks, SMTP) listen on loopback; tests/security shows what the guard refuses.
        notification_allowed_networks="127.0.0.0/8,::1",
        http_port=0,
        websocket_port=0,
        connect_timeout_seconds=2.0,
        read_timeout_seconds=2.0,
        total_timeout_seconds=5.0,
        min_scan_interval_seconds=0,
    )

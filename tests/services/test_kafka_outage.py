"""Kafka away under a running scale-out system: the broker process is paused (SIGSTOP), so connections stay open
and nothing answers — the outage a consumer never notices by itself (its polls just come back empty). /health
shows the event bus failed with the outage and /ready fails; after SIGCONT both recover and scheduled scans run
again without a restart. Real PostgreSQL, Kafka and Redis; the paused broker is the one KAFKA_SERVERS names."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
from tests.support.fixtures import LocalSite
from tests.support.waiting import eventually
from tests.system.test_embedded_system import site_config

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


def _broker_pid(servers: str) -> int:
    port = servers.split(",")[0].rsplit(":", 1)[-1]
    listing = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    found = re.search(r"pid=(\d+)", listing)
    if found is None:
        why = f"no local process listens on Kafka's port {port}: cannot pause the broker"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    return int(found.group(1))


async def test_a_paused_broker_shows_in_health_and_scans_resume_after(
    scale_out_settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body="<html><body>shop</body></html>")
    broker = _broker_pid(scale_out_settings.kafka_servers or "")
    async with MonitoringSystem(scale_out_settings, serve_http=False) as system:
        config_id = await system.add_monitoring_config(site_config(local_site.url("/"), every="1s"))

        async def scanned(at_least: int) -> bool:
            return await system.storage.scans.count(config_id) >= at_least

        await eventually(lambda: scanned(2), within=30, every=0.2)
        assert (await system.health())["components"]["event_bus"]["status"] == "running"

        os.kill(broker, signal.SIGSTOP)
        try:
            async def bus_failed() -> bool:
                return (await system.health())["components"]["event_bus"]["status"] == "failed"

            await eventually(bus_failed, within=30, every=0.5)
            health = await system.health()
            assert health["status"] == "unhealthy"
            assert "kafka:brokers" in [o["loop"] for o in health["components"]["event_bus"]["outages"]]
            assert not await system.ready()
        finally:
            os.kill(broker, signal.SIGCONT)

        await eventually(system.ready, within=60, every=0.5)
        assert (await system.health())["components"]["event_bus"]["status"] == "running"
        resumed_from = await system.storage.scans.count(config_id)
        await eventually(lambda: scanned(resumed_from + 3), within=60, every=0.5)

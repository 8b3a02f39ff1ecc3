"""One organization cannot starve another: with organization A's 200 configs due on a slow site and only two
scan workers, organization B's configs still run within seconds (round-robin claims, no more claimed than the
workers can start), and /health says degraded while runs wait for workers. Real embedded system, real sites."""

from __future__ import annotations

import time

import pytest
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

import techscaniq.health as health_module
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

FLOOD = 200


async def test_organization_b_runs_on_time_while_organization_a_floods(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_module, "SATURATED_AFTER_SECONDS", 1.0)
    few_workers = settings.model_copy(update={"scan_concurrency": 2, "per_host_concurrency": 2})
    async with LocalSite() as slow, LocalSite() as fast:
        slow.route("/", body="<html>slow</html>", delay=0.25)
        fast.route("/", body="<html>fast</html>")
        async with MonitoringSystem(few_workers, serve_http=False) as system:
            for index in range(FLOOD):
                await system.add_monitoring_config({
                    "organization_id": "org-a", "name": f"a{index}", "url": slow.url(f"/?n={index}"),
                    "schedule": {"type": "interval", "expression": "1h"},
                })
            started = time.monotonic()
            b_configs = [await system.add_monitoring_config({
                "organization_id": "org-b", "name": f"b{index}", "url": fast.url(f"/?n={index}"),
                "schedule": {"type": "interval", "expression": "1h"},
            }) for index in range(3)]

            async def b_scanned() -> bool:
                return all([await system.storage.scans.find(config_id=c) for c in b_configs])

            await eventually(b_scanned, within=15)
            b_done = time.monotonic() - started
            a_scanned = len(await system.storage.scans.find(organization_id="org-a", limit=1000))

            async def degraded() -> bool:
                return (await system.health())["status"] == "degraded"

            await eventually(degraded, within=10)  # A's runs still wait for the two workers
            scheduler = (await system.health())["components"]["scheduler"]
    # A's flood needs about 25 s on two workers; B went through within a few of A's scans.
    assert a_scanned < FLOOD / 2, (a_scanned, b_done)
    assert "free scan worker" in scheduler["detail"]

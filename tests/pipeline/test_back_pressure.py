"""Back-pressure: when change detection lags, the scheduler claims no more runs than the pipeline finishes, so
scans do not pile up unchecked ahead of the ones that matter. Real embedded system, real site; the change stage
is held by a gate around the real detector (the only way to make it slow on demand)."""

from __future__ import annotations

import asyncio

import pytest
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.domain.change import Change
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.pipeline.scheduler import QUEUED_PER_WORKER
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CONFIGS = 40
WORKERS = 2
CHANGE_HANDLERS = 4  # the change stage's concurrency (system.py): each holds one scan out of its queue


async def test_a_lagging_change_stage_holds_the_scheduler_back(settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    few_workers = settings.model_copy(update={"scan_concurrency": WORKERS, "per_host_concurrency": WORKERS})
    gate = asyncio.Event()
    async with LocalSite() as site:
        site.route("/", body="<html><title>steady</title></html>")
        async with MonitoringSystem(few_workers, serve_http=False) as system:
            detect = system.change_detector.handle_scan

            async def held(scan: ScanResult, config: MonitoringConfig) -> list[Change]:
                await gate.wait()
                return await detect(scan, config)

            monkeypatch.setattr(system.change_detector, "handle_scan", held)
            for index in range(CONFIGS):
                await system.add_monitoring_config({
                    "organization_id": "org", "name": f"c{index}", "url": site.url(f"/?n={index}"),
                    "schedule": {"type": "interval", "expression": "1h"}, "scan_config": {"security": False},
                })

            async def stored() -> int:
                return await system.storage.scans.count()

            async def queues_full() -> bool:
                return await stored() >= QUEUED_PER_WORKER * WORKERS

            await eventually(queues_full, within=20)
            await asyncio.sleep(1.5)  # room for a pile-up: the site answers in milliseconds
            while_held = await stored()
            gate.set()

            async def all_compared() -> bool:
                return not await system.storage.scans.pending("changes") and await stored() == CONFIGS

            await eventually(all_compared, within=30)
    # At most what the queues may hold, plus the scans the workers and the held change handlers had in hand (40
    # without back-pressure: the whole fleet).
    assert while_held <= QUEUED_PER_WORKER * WORKERS + CHANGE_HANDLERS + WORKERS, while_held

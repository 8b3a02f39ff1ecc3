"""Scan-now requests live in storage until their scan is stored, so a redelivered or retried request
finishes its scan's work instead of scanning again or leaving the scan without its changes and alerts."""

from __future__ import annotations

from sqlalchemy import update
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.domain.scan import ScanTrigger
from techscaniq.pipeline.scheduler import scan_requested
from techscaniq.settings import Settings
from techscaniq.storage.sql.tables import scans as scans_table
from techscaniq.system import MonitoringSystem


async def test_a_redelivered_scan_now_finishes_the_stored_scan_instead_of_scanning_again(
    settings: Settings, local_site: LocalSite
) -> None:
    local_site.route("/", body="<html><body>shop</body></html>")
    async with MonitoringSystem(settings, serve_http=False) as system:
        config_id = await system.add_monitoring_config({
            "organization_id": "org-1", "name": "shop", "url": local_site.url("/"),
            "schedule": {"type": "interval", "expression": "1d"},
        })
        await eventually(lambda: _scans(system, config_id, 1), within=20)  # the first scheduled run
        scan = await system.scan_now(config_id, wait=True, wait_seconds=20)
        assert not isinstance(scan, str)
        await eventually(lambda: _no_pending(system), within=20)
        fetched = len(local_site.requests)
        assert await system.storage.scan_requests.pending() == 0  # done once stored

        # As if the process died after storing the scan, before its stages ran, and the bus redelivered.
        async with system.storage.engine.begin() as conn:  # type: ignore[attr-defined]
            await conn.execute(update(scans_table).where(scans_table.c.id == scan.id).values(changes_done=False))
        await system.bus.publish(scan_requested(config_id, "org-1", None, ScanTrigger.MANUAL, scan_id=scan.id))

        await eventually(lambda: _no_pending(system), within=20)
        assert len(local_site.requests) == fetched  # not scanned again
        assert await _scans(system, config_id, 2)


async def _scans(system: MonitoringSystem, config_id: str, count: int) -> bool:
    return len(await system.storage.scans.find(config_id=config_id)) == count


async def _no_pending(system: MonitoringSystem) -> bool:
    return not await system.storage.scans.pending("changes") and not await system.storage.scans.pending("alerts")

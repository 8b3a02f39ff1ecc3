"""A config whose interval equals MIN_SCAN_INTERVAL_SECONDS runs on every slot of its interval, not on
every second one (its first run is due a moment after its phase starts)."""

from __future__ import annotations

from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


async def test_an_interval_at_the_minimum_keeps_its_cadence(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body="<html>shop</html>")
    at_minimum = settings.model_copy(update={"min_scan_interval_seconds": 60})
    async with MonitoringSystem(at_minimum, serve_http=False, configure_logs=False) as system:
        config_id = await system.add_monitoring_config({
            "organization_id": "org-1", "name": "shop", "url": local_site.url("/"),
            "schedule": {"type": "interval", "expression": "1m"}})

        async def scanned() -> bool:
            return bool(await system.storage.scans.find(config_id=config_id))

        await eventually(scanned, within=20)
        [first] = await system.storage.scans.find(config_id=config_id)

        async def advanced() -> bool:
            return (await system.next_run_at(config_id)) != first.scheduled_for

        await eventually(advanced, within=20)
        next_at = await system.next_run_at(config_id)
    assert first.scheduled_for is not None and next_at is not None
    assert 59 <= (next_at - first.scheduled_for).total_seconds() <= 61  # was 120: every second slot

"""A replica that stops gives back the runs it claimed but did not do: another replica runs them at once,
not after the 2-minute lease (the deployment guide's short-lived Python snippet used to hold a new config's
first run that long). Two systems on one real PostgreSQL database."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


async def _not_now(event: Any) -> None:
    return None  # this replica is about to stop: it takes the run and never does it


async def test_a_stopping_replica_releases_its_claims(
    settings: Settings, fresh_database_url: str, local_site: LocalSite
) -> None:
    local_site.route("/", body="<html>shop</html>")
    shared = settings.model_copy(update={"database_url": fresh_database_url, "scheduler_lease_seconds": 120.0})
    first = MonitoringSystem(shared.model_copy(update={"instance_id": "replica-a"}), serve_http=False)
    first.worker.handle = _not_now  # type: ignore[method-assign]  # before start: the bus subscribes it there
    await first.start()
    config_id = await first.add_monitoring_config({
        "organization_id": "org-1", "name": "shop", "url": local_site.url("/"),
        "schedule": {"type": "interval", "expression": "1h"}})

    async def claimed() -> bool:
        async with first.storage.engine.connect() as conn:  # type: ignore[attr-defined]
            owner = (await conn.execute(text("SELECT lease_owner FROM monitoring_configs"))).scalar()
        return bool(owner == "replica-a")

    await eventually(claimed, within=10)
    await first.stop()

    started = time.monotonic()
    async with MonitoringSystem(shared.model_copy(update={"instance_id": "replica-b"}), serve_http=False) as second:
        async def scanned() -> bool:
            return bool(await second.storage.scans.find(config_id=config_id))

        await eventually(scanned, within=20)
    assert time.monotonic() - started < 20  # not the 120 s lease

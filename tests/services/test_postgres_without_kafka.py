"""The documented "PostgreSQL without Kafka" deployment: the bus is in-process, so a crash loses the
events in flight and the next start must finish the stages from the database's record."""

from __future__ import annotations

import asyncpg
from tests.support.fixtures import SiteFactory
from tests.support.waiting import eventually
from tests.system.test_pipeline_end_to_end import config, shop_and_receiver

from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import plain_postgres_url
from techscaniq.system import MonitoringSystem


async def test_a_restart_finishes_the_stages_a_crash_interrupted(
    settings: Settings, fresh_database_url: str, site_factory: SiteFactory
) -> None:
    postgres = settings.model_copy(update={"database_url": fresh_database_url, "kafka_servers": None})
    shop, receiver = await shop_and_receiver(site_factory)
    async with MonitoringSystem(postgres, serve_http=False) as system:
        config_id = await system.add_monitoring_config(config(shop.url("/"), receiver.url("/hook")))

        async def baseline_compared() -> bool:
            return bool(await system.storage.scans.find(config_id=config_id)) and not (
                await system.storage.scans.pending("changes"))

        await eventually(baseline_compared, within=30)
        await system.pause_monitoring_config(config_id)

    # What a kill -9 between "scan stored" and "changes compared" leaves behind.
    conn = await asyncpg.connect(plain_postgres_url(fresh_database_url))
    try:
        await conn.execute("UPDATE scans SET changes_done = false, alerts_done = false WHERE config_id = $1",
                           config_id)
    finally:
        await conn.close()

    async with MonitoringSystem(postgres, serve_http=False) as system:
        assert await system.storage.scans.pending("changes") == []
        assert await system.storage.scans.pending("alerts") == []

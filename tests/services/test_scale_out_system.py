"""The same pipeline in scale-out mode: PostgreSQL (core + metrics database), Kafka, Redis."""

from __future__ import annotations

import asyncpg
from tests.support.fixtures import SiteFactory
from tests.support.waiting import eventually
from tests.system.test_pipeline_end_to_end import JQUERY, PAGE, config, shop_and_receiver

from techscaniq.domain.alert import DeliveryStatus
from techscaniq.domain.scan import ScanResult
from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import plain_postgres_url
from techscaniq.system import MonitoringSystem


async def test_scale_out_pipeline_from_scan_to_webhook(scale_out_settings: Settings, site_factory: SiteFactory) -> None:
    shop, receiver = await shop_and_receiver(site_factory)

    async with MonitoringSystem(scale_out_settings, serve_http=False) as system:
        health = await system.health()
        assert health["mode"] == "scale-out"
        assert health["components"]["database"]["detail"] == "PostgreSQL"
        assert health["components"]["event_bus"]["detail"] == "KafkaEventBus"

        config_id = await system.add_monitoring_config(config(shop.url("/"), receiver.url("/hook")))

        async def baseline_compared() -> bool:
            return bool(await system.storage.scans.find(config_id=config_id)) and not (
                await system.storage.scans.pending("changes"))

        await eventually(baseline_compared, within=30)
        shop.route("/", body=PAGE.format(scripts=JQUERY))
        scan = await system.scan_now(config_id, wait=True, wait_seconds=30)
        assert isinstance(scan, ScanResult)

        async def delivered() -> bool:
            alerts = await system.storage.alerts.find(config_id=config_id)
            if not alerts:
                return False
            deliveries = await system.storage.deliveries.list_for_alert(alerts[0].id)
            return [d.status for d in deliveries] == [DeliveryStatus.DELIVERED]

        await eventually(delivered, within=30)
        series = await system.storage.metrics.series(config_id, "ttfb_ms")
        assert len(series) == 2

    # The time series really live in the metrics database.
    metrics = await asyncpg.connect(plain_postgres_url(scale_out_settings.metrics_database_url or ""))
    try:
        stored = await metrics.fetchval("SELECT count(*) FROM performance_metrics WHERE config_id = $1", config_id)
    finally:
        await metrics.close()
    assert stored > 10
    assert len([r for r in receiver.requests if r.path == "/hook"]) == 1

"""Redis down in a scale-out deployment: the pipeline and the API keep working, on their fallbacks."""

from __future__ import annotations

import logging

import httpx
import pytest
from tests.scaleout.conftest import closed_port
from tests.support.fixtures import SiteFactory
from tests.support.waiting import eventually
from tests.system.test_pipeline_end_to_end import JQUERY, PAGE, config, shop_and_receiver

from techscaniq.api.auth import create_token
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


async def test_without_redis_a_change_still_reaches_the_webhook_and_the_api_still_limits(
    scale_out_settings: Settings, site_factory: SiteFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = scale_out_settings.model_copy(update={
        "redis_url": f"redis://127.0.0.1:{closed_port()}/0", "rate_limit_per_minute": 5,
        "host": "127.0.0.1", "http_port": 0, "websocket_port": 0,
    })
    shop, receiver = await shop_and_receiver(site_factory)
    with caplog.at_level(logging.WARNING, "techscaniq.coordination"):
        async with MonitoringSystem(settings, configure_logs=False) as system:
            config_id = await system.add_monitoring_config(config(shop.url("/"), receiver.url("/hook")))

            async def compared() -> bool:
                return bool(await system.storage.scans.find(config_id=config_id)) and not (
                    await system.storage.scans.pending("changes"))

            await eventually(compared, within=30)
            shop.route("/", body=PAGE.format(scripts=JQUERY))
            await system.scan_now(config_id, wait=True, wait_seconds=30)

            async def notified() -> bool:
                return any(r.path == "/hook" for r in receiver.requests)

            await eventually(notified, within=30)
            health = await system.health()  # a Redis outage is not a failed component, but it is told
            assert health["status"] == "degraded"
            assert health["components"]["redis"]["status"] == "degraded"

            token = create_token(settings, "org-e2e")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{system.ports['api']}",
                                         headers={"Authorization": f"Bearer {token}"}) as client:
                statuses = [(await client.get("/api/v1/configs")).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2  # limits hold per replica, in memory
    assert len([r for r in receiver.requests if r.path == "/hook"]) == 1
    assert len([r for r in caplog.records if "Redis unavailable" in r.message]) == 1

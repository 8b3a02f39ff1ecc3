"""A database blip, for real: every connection between the system and PostgreSQL is reset through a
loopback proxy and new ones are refused for a few seconds, then the path comes back. The system must
keep scheduling without a restart, /health must say so meanwhile, and the log must not flood."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from tests.support.databases import fresh_database
from tests.support.services import service_url
from tests.support.tcp_proxy import TcpProxy
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually
from tests.system.test_embedded_system import site_config

from techscaniq.api.auth import create_token
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

CUT_SECONDS = 4.0


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{port}"))


@pytest.fixture
async def proxied_database(settings: Settings) -> AsyncIterator[tuple[Settings, TcpProxy]]:
    """Settings whose database (a fresh one on the shared server) is reached through a TcpProxy."""
    async with fresh_database(service_url("DATABASE_URL"), "outage_test") as url:
        target = urlsplit(url)
        async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
            yield settings.model_copy(update={"database_url": through(url, proxy.port),
                                              "kafka_servers": None, "redis_url": None}), proxy


def outage_lines(caplog: pytest.LogCaptureFixture, loop: str) -> tuple[int, int]:
    """(outage lines, recovery lines) the tracker of `loop` logged."""
    lines = [r.getMessage() for r in caplog.records if r.name == "techscaniq.outage"
             and r.getMessage().startswith(f"{loop}: ")]
    return (sum("backend unavailable" in line for line in lines),
            sum("available again" in line for line in lines))


async def test_scheduling_survives_a_database_cut_and_health_tells_the_truth(
    proxied_database: tuple[Settings, TcpProxy], local_site: LocalSite, caplog: pytest.LogCaptureFixture
) -> None:
    settings, proxy = proxied_database
    local_site.route("/", body="<html><body>ok</body></html>")
    caplog.set_level(logging.INFO)
    async with MonitoringSystem(settings, configure_logs=False) as system:
        config_id = await system.add_monitoring_config(site_config(local_site.url("/"), every="1s"))
        operator = {"Authorization": f"Bearer {create_token(system.settings, 'org-ops')}"}  # /health details
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{system.ports['api']}", timeout=30,
                                     headers=operator) as client:

            async def scans() -> int:
                return len(await system.storage.scans.find(config_id=config_id, limit=1000))

            await eventually(lambda: _at_least(scans, 2), within=30)
            assert (await client.get("/health")).status_code == 200

            before = await scans()
            proxy.cut()
            await asyncio.sleep(CUT_SECONDS / 2)  # the scheduler ticks every second: it has met the cut

            during = await client.get("/health")
            assert during.status_code == 503, during.text
            scheduler = during.json()["components"]["scheduler"]
            assert scheduler["status"] == "degraded", scheduler
            assert scheduler["outages"][0]["loop"] == "scheduler"
            assert scheduler["outages"][0]["since"]
            assert "outage_test" not in during.text and "@" not in during.text  # no URL, no credentials
            metrics = (await client.get("/metrics")).text
            assert 'techscaniq_loop_outage{loop="scheduler"} 1.0' in metrics

            await asyncio.sleep(CUT_SECONDS / 2)
            proxy.restore()

            # Scheduling resumes by itself: new scans for the config, no restart.
            await eventually(lambda: _at_least(scans, before + 2), within=30)

            async def healthy() -> bool:
                # "healthy", not only 200: a loop still backing off leaves its component degraded (also 200).
                answer = await client.get("/health")
                return answer.status_code == 200 and answer.json()["status"] == "healthy"

            await eventually(healthy, within=30, every=0.2)
            report = (await client.get("/health")).json()
            assert report["components"]["scheduler"]["status"] == "running"
            assert "outages" not in report["components"]["scheduler"]
            metrics = (await client.get("/metrics")).text
            assert 'techscaniq_loop_outage{loop="scheduler"} 0.0' in metrics

    # One outage line and one recovery line per loop that met the cut, not one per retry.
    # The scheduler and the notifier poll every second: both met it. The 30 s and hourly loops may not have.
    assert outage_lines(caplog, "scheduler") == (1, 1)
    assert outage_lines(caplog, "notifier") == (1, 1)
    for loop in ("revocations", "fingerprints", "maintenance"):
        assert outage_lines(caplog, loop) in ((0, 0), (1, 1)), loop


async def _at_least(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected

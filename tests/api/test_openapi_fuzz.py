"""schemathesis against the app's own OpenAPI document: no generated input (valid or not) gets a 5xx, on
SQLite and on PostgreSQL (which refuses what SQLite takes: NUL characters, out-of-range integers, ...).

The system runs in a thread with its own event loop and real HTTP on 127.0.0.1 (hypothesis drives
synchronous calls). Scanning is switched off — the one stand-in here — because generated configs name
arbitrary hosts (and the examples example.com) and this test must send nothing beyond loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from tests.support.databases import fresh_database
from tests.support.services import service_url

from techscaniq.api.auth import create_token
from techscaniq.domain.events import Event
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

EXAMPLES_PER_OPERATION = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def running_api(settings: Settings, request: pytest.FixtureRequest) -> Iterator[tuple[str, Settings]]:
    settings = settings.model_copy(update={"rate_limit_per_minute": 1_000_000,
                                           "organization_rate_limit_per_minute": 1_000_000})
    server = service_url("DATABASE_URL") if request.param == "postgresql" else None
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    base: list[str] = []

    async def main() -> None:
        if server is None:
            await serve(settings)
        else:
            async with fresh_database(server, "fuzz") as url:
                await serve(settings.model_copy(update={"database_url": url}))

    async def serve(settings: Settings) -> None:
        system = MonitoringSystem(settings, configure_logs=False)

        async def no_scan(event: Event) -> None:  # see the module docstring
            return None

        system.worker.handle = no_scan  # type: ignore[method-assign]
        await system.start()
        base.append(f"http://127.0.0.1:{system.ports['api']}")
        stop.append(asyncio.Event())
        ready.set()
        await stop[0].wait()
        await system.stop()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    yield base[0], settings
    loop.call_soon_threadsafe(stop[0].set)
    thread.join(30)


@pytest.mark.timeout(240)
def test_no_generated_request_gets_a_server_error(running_api: tuple[str, Settings]) -> None:
    base, settings = running_api
    headers = {"Authorization": f"Bearer {create_token(settings, 'org-fuzz')}"}
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        # Valid and invalid inputs alike (wrong types, missing fields, out-of-range values).
        strategy = operation.as_strategy(schemathesis.GenerationMode.POSITIVE) | operation.as_strategy(
            schemathesis.GenerationMode.NEGATIVE)

        @given(case=strategy)
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            response = case.call(base_url=base, headers=headers, timeout=10)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        call()
    assert operations >= 35
    assert len(statuses) >= operations * 5  # hypothesis really generated inputs for every operation
    assert any(code < 300 for code in statuses) and any(code == 422 for code in statuses)
    assert failures == [], "\n".join(failures)

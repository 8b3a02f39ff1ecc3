"""Fixtures for the scale-out tests: the real Redis (and PostgreSQL/Kafka) of scripts/services.sh."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from tests.alerts.conftest import clock  # noqa: F401 (fixture; `storage` is the shared one)
from tests.services.conftest import fresh_database_url, metrics_url, scale_out_settings  # noqa: F401
from tests.support.services import service_url

from techscaniq.coordination import RedisGuard, create_redis
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


@pytest.fixture
def namespace() -> str:
    """A key prefix of this test's own: tests share one Redis."""
    return f"test-{uuid.uuid4().hex[:10]}:"


@contextlib.asynccontextmanager
async def _guard(settings: Settings) -> AsyncIterator[RedisGuard]:
    guard = RedisGuard(create_redis(settings.model_copy(update={"redis_url": service_url("REDIS_URL")})))
    try:
        yield guard
    finally:
        await guard.aclose()


@pytest.fixture
async def redis_guard(settings: Settings) -> AsyncIterator[RedisGuard]:
    async with _guard(settings) as guard:
        yield guard


@pytest.fixture
async def other_redis_guard(settings: Settings) -> AsyncIterator[RedisGuard]:
    """A second connection pool: what another replica holds."""
    async with _guard(settings) as guard:
        yield guard


@pytest.fixture
async def pg_storage(settings: Settings, fresh_database_url: str) -> AsyncIterator[SqlStorage]:  # noqa: F811
    """The core database replicas share: real PostgreSQL, fresh."""
    store = SqlStorage(settings.model_copy(update={"database_url": fresh_database_url}))
    await store.start()
    try:
        yield store
    finally:
        await store.close()


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once (Redis is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def dead_redis_guard(settings: Settings) -> AsyncIterator[RedisGuard]:
    guard = RedisGuard(create_redis(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})))
    try:
        yield guard
    finally:
        await guard.aclose()

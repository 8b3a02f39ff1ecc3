"""Fixtures for the tests that need the real services scripts/services.sh starts (PostgreSQL, Redis, Kafka)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tests.support.databases import fresh_database
from tests.support.services import service_url

from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema


@pytest.fixture
async def metrics_url() -> AsyncIterator[str]:
    """A fresh, empty database on the server of METRICS_DATABASE_URL, dropped afterwards."""
    async with fresh_database(service_url("METRICS_DATABASE_URL"), "metrics_test") as url:
        yield url


@pytest.fixture
async def metrics_store_url(metrics_url: str) -> str:
    """A fresh database with the metrics schema applied."""
    await apply_metrics_schema(metrics_url)
    return metrics_url


@pytest.fixture
async def fresh_database_url() -> AsyncIterator[str]:
    """A fresh, empty core database on the server of DATABASE_URL, dropped afterwards."""
    async with fresh_database(service_url("DATABASE_URL"), "core_test") as url:
        yield url


@pytest.fixture
def scale_out_settings(settings: Settings, fresh_database_url: str, metrics_url: str) -> Settings:
    """The conftest `settings` switched to scale-out: fresh PostgreSQL databases, Kafka topics of
    their own (a unique prefix) and Redis."""
    return settings.model_copy(update={
        "database_url": fresh_database_url,
        "metrics_database_url": metrics_url,
        "kafka_servers": service_url("KAFKA_SERVERS"),
        "redis_url": service_url("REDIS_URL"),
        "kafka_topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
    })

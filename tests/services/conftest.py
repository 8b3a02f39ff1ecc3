"""Fixtures for the tests that need the real services scripts/services.sh starts (PostgreSQL, Redis, Kafka)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from tests.support.databases import fresh_database

from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is not set in CI: run the tests through `make test`")
        pytest.skip(f"{name} is not set: start the services with `make services`")
    return value


@pytest.fixture
async def metrics_url() -> AsyncIterator[str]:
    """A fresh, empty database on the server of METRICS_DATABASE_URL, dropped afterwards."""
    async with fresh_database(_required("METRICS_DATABASE_URL"), "metrics_test") as url:
        yield url


@pytest.fixture
async def metrics_store_url(metrics_url: str) -> str:
    """A fresh database with the metrics schema applied."""
    await apply_metrics_schema(metrics_url)
    return metrics_url


@pytest.fixture
async def fresh_database_url() -> AsyncIterator[str]:
    """A fresh, empty core database on the server of DATABASE_URL, dropped afterwards."""
    async with fresh_database(_required("DATABASE_URL"), "core_test") as url:
        yield url


@pytest.fixture
def scale_out_settings(settings: Settings, fresh_database_url: str, metrics_url: str) -> Settings:
    """The conftest `settings` switched to scale-out: fresh PostgreSQL databases, Kafka topics of
    their own (a unique prefix) and Redis."""
    return settings.model_copy(update={
        "database_url": fresh_database_url,
        "metrics_database_url": metrics_url,
        "kafka_servers": _required("KAFKA_SERVERS"),
        "redis_url": _required("REDIS_URL"),
        "kafka_topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
    })

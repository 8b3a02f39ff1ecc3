"""Replicas started at once on an empty PostgreSQL both come up: schema changes take turns (advisory
locks) instead of racing to create the same tables (UniqueViolation on pg_type before the lock)."""

from __future__ import annotations

import asyncio

from tests.support.databases import fresh_database
from tests.support.services import service_url

from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema
from techscaniq.storage.sql import SqlStorage

TRIES = 4


async def test_two_replicas_migrating_one_empty_database_at_once(settings: Settings) -> None:
    server = service_url("DATABASE_URL")
    for attempt in range(TRIES):
        async with fresh_database(server, f"migrate_race_{attempt}") as url:
            both = [SqlStorage(settings.model_copy(update={"database_url": url})) for _ in range(2)]
            try:
                await asyncio.gather(*(storage.start() for storage in both))
                assert all([await storage.ping() for storage in both])
            finally:
                await asyncio.gather(*(storage.close() for storage in both))


async def test_two_replicas_applying_the_metrics_schema_at_once() -> None:
    server = service_url("DATABASE_URL")
    for attempt in range(TRIES):
        async with fresh_database(server, f"metrics_race_{attempt}") as url:
            summaries = await asyncio.gather(apply_metrics_schema(url), apply_metrics_schema(url))
            assert all("metrics schema" in summary for summary in summaries)

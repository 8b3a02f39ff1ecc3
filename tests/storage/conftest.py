"""Storage backends under test: SQLite always, PostgreSQL when DATABASE_URL is set (make test sets it).
In CI a missing PostgreSQL is an error, not a skip."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.support.services import service_url

from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.tables import metadata

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[SqlStorage]:
    if request.param == "sqlite":
        store = SqlStorage(settings)
    else:
        url = service_url("DATABASE_URL")
        store = SqlStorage(settings, url=settings.model_copy(update={"database_url": url}).storage_url)
        async with store.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
    await store.start()
    try:
        yield store
    finally:
        await store.close()

"""Scenario tests run the detector against real storage: SQLite always, PostgreSQL too when
DATABASE_URL is set (`make test` / scripts/services.sh set it; in CI a missing PostgreSQL is an error).
History is read back from the database exactly as in production. Each test monitors its own config id,
so tests sharing the PostgreSQL database never see each other's scans."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.changes.builders import Timeline, make_config
from tests.support.services import service_url

from techscaniq.changes import ChangeDetector
from techscaniq.domain.common import new_id
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


async def _started(settings: Settings, url: str | None = None) -> SqlStorage:
    store = SqlStorage(settings, url=url)
    await store.start()
    return store


@pytest.fixture
async def sqlite_storage(settings: Settings) -> AsyncIterator[SqlStorage]:
    store = await _started(settings)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def storage(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[SqlStorage]:
    url = None
    if request.param == "postgresql":
        url = settings.model_copy(update={"database_url": service_url("DATABASE_URL")}).storage_url
    store = await _started(settings, url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def timeline(storage: SqlStorage) -> Timeline:
    return Timeline(storage, ChangeDetector(storage), make_config(id=f"cfg-{new_id()}"))

"""Scenario tests run the detector against the real SQLite storage: history is read back from the
database exactly as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.changes.builders import Timeline, make_config

from techscaniq.changes import ChangeDetector
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


@pytest.fixture
async def storage(settings: Settings) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(settings)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def timeline(storage: SqlStorage) -> Timeline:
    return Timeline(storage, ChangeDetector(storage), make_config())

"""Both search backends behind one fixture: SQLite FTS5 always, OpenSearch when ELASTICSEARCH_URL is set
(scripts/services.sh starts a local node; skipped without it on a developer's machine, failing in CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tests.support.services import service_url

from techscaniq.domain.common import new_id
from techscaniq.search.backend import SearchBackend
from techscaniq.search.opensearch_backend import OpenSearchBackend
from techscaniq.search.sqlite_backend import SqliteSearchBackend


async def open_backend(name: str, tmp_path: Path) -> SearchBackend:
    if name == "sqlite":
        backend: SearchBackend = SqliteSearchBackend(tmp_path / "search")
    else:
        # A prefix of its own: tests share the node, never each other's indices.
        backend = OpenSearchBackend(service_url("ELASTICSEARCH_URL"), prefix=f"test-{new_id()[:10].lower()}-")
    await backend.start()
    return backend


async def drop(backend: SearchBackend) -> None:
    await (backend.drop_all() if isinstance(backend, OpenSearchBackend) else backend.close())


BACKENDS = ["sqlite", "opensearch"]


@pytest_asyncio.fixture(params=BACKENDS, loop_scope="module")
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchBackend]:
    """An empty index of its own, for tests that write."""
    opened = await open_backend(request.param, tmp_path)
    try:
        yield opened
    finally:
        await drop(opened)


@pytest_asyncio.fixture(params=BACKENDS, scope="module", loop_scope="module")
async def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[SearchBackend]:
    """The portfolio loaded once per backend, for the tests that only read (setting up an index costs seconds)."""
    from tests.search.portfolio import load

    opened = await open_backend(request.param, tmp_path_factory.mktemp("search"))
    try:
        await load(opened)
        await opened.refresh()
        yield opened
    finally:
        await drop(opened)

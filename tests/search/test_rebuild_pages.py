"""A rebuild reads the core database page by page by key (id), not by OFFSET: over more rows than a page, with
rows added while it walks, every document is written to the new index exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from techscaniq.domain.alert import Alert
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import MonitoringConfig
from techscaniq.search.indexer import SearchIndexer
from techscaniq.search.rows import Row
from techscaniq.search.sqlite_backend import SqliteSearchBackend, _SqliteRebuild
from techscaniq.storage.sql import SqlStorage

NOW = datetime.now(UTC)
PAGE = 3  # sites per page; changes and alerts are read 4 pages' worth (12) at a time


def config(n: int) -> MonitoringConfig:
    return MonitoringConfig.model_validate({
        "organization_id": "org-pages", "name": f"site {n:02d}", "url": f"https://site-{n}.example.com/",
        "schedule": {"type": "interval", "expression": "1h"}})


def change(config_id: str, n: int, detected_at: datetime) -> Change:
    return Change(organization_id="org-pages", config_id=config_id, scan_id=f"scan-{n}", type=ChangeKind.TECHNOLOGY,
                  change_type="added", subject=f"Library {n}", impact=Impact.LOW, detected_at=detected_at)


class RecordingBackend(SqliteSearchBackend):
    """Keeps the id of every row written to the new index (the index upserts by id, so a document written twice
    would not show in its counts). On the rebuild's first write, newer changes arrive in the database, as scans
    go on during a rebuild: over newest-first OFFSET pages each pushed a row already written into the next page."""

    def __init__(self, directory: Path, storage: SqlStorage, arrivals: list[Change]) -> None:
        super().__init__(directory)
        self.written: list[str] = []
        self._storage, self._arrivals = storage, arrivals

    async def begin_rebuild(self) -> _SqliteRebuild:
        rebuild = await super().begin_rebuild()
        write = rebuild.write

        async def recording(rows: list[Row]) -> None:
            self.written.extend(row.id for row in rows)
            await write(rows)
            if self._arrivals:
                await self._storage.changes.add_many(self._arrivals)
                self._arrivals = []

        rebuild.write = recording  # type: ignore[method-assign]
        return rebuild


async def test_a_rebuild_over_many_pages_writes_every_document_once(storage: SqlStorage, tmp_path: Path) -> None:
    configs = [config(n) for n in range(10)]
    for item in configs:
        await storage.configs.add(item, next_run_at=None)
    old = NOW - timedelta(days=30)
    changes = [change(configs[n % 10].id, n, old + timedelta(minutes=n)) for n in range(40)]
    await storage.changes.add_many(changes)
    alerts = [Alert(organization_id="org-pages", config_id=configs[n % 10].id, rule_id="r", rule_name="Watch",
                    severity=Impact.LOW, dedupe_key=f"r:{n}", title=f"Alert {n}", triggered_at=old)
              for n in range(15)]
    for item in alerts:
        await storage.alerts.add(item)
    # Detected now, not at import time (the catch-up reads by detection time, 2 minutes before the rebuild).
    arrivals = [change(configs[0].id, 100 + n, datetime.now(UTC)) for n in range(5)]
    backend = RecordingBackend(tmp_path / "search", storage, arrivals)
    await backend.start()
    try:
        counts = await SearchIndexer(storage, backend, page=PAGE).rebuild()

        twice = sorted({i for i in backend.written if backend.written.count(i) > 1})
        assert twice == [], "written twice"
        expected = {c.id for c in changes} | {a.id for a in alerts} | {c.id for c in configs}
        assert expected - set(backend.written) == set(), "missing from the rebuild"
        assert counts.sites == 10 and counts.alerts == 15 and counts.changes >= 40
        # The arrivals are in the index too: read by the walk, or indexed by the catch-up after the swap.
        assert await backend.count("changes") == 45
        assert await backend.count("sites") == 10 and await backend.count("alerts") == 15
        assert await storage.changes.page(limit=1000) == sorted(await storage.changes.find(limit=1000),
                                                                 key=lambda c: c.id)
    finally:
        await backend.close()

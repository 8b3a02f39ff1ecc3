"""Keeps the search index current from the events the pipeline already publishes, and rebuilds it from the
database. Never in a scan's path: it is one more consumer group on the bus, and a slow or failing index
only delays search (the bus retries), never scanning, change detection or alerting."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from techscaniq.bus.protocol import EventBus
from techscaniq.domain.alert import Alert
from techscaniq.domain.change import Change
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.events import Event, Topic
from techscaniq.domain.scan import ScanResult, ScanStatus
from techscaniq.observability.metrics import SEARCH_DOCUMENTS_INDEXED, SEARCH_INDEX_LAG
from techscaniq.search.backend import IndexWriter, SearchBackend
from techscaniq.search.documents import SiteDocument, alert_document, change_document, site_document
from techscaniq.storage.protocols import Storage

log = logging.getLogger("techscaniq.search")

TOPICS = (Topic.SCAN_COMPLETED, Topic.CHANGE_DETECTED, Topic.ALERT_TRIGGERED, Topic.ALERT_RESOLVED)
BATCH = 500
# Events handled while a rebuild read the database may be missing from its snapshot: after the swap, whatever
# happened since the rebuild began (and a margin for clocks and transactions) is indexed again.
CATCH_UP_MARGIN = timedelta(minutes=2)
PAGE_LOOKBACK = 10  # successful scans read for the stack of a site whose latest scan did not show its page

Progress = Callable[[str, int], None]


@dataclass
class RebuildCounts:
    sites: int = 0
    changes: int = 0
    alerts: int = 0


class SearchIndexer:
    def __init__(self, storage: Storage, backend: SearchBackend, clock: Callable[[], datetime] = utcnow,
                 page: int = BATCH) -> None:
        self._storage = storage
        self._page = page  # rows read per page of a rebuild
        self._backend = backend
        self._clock = clock
        self.last_indexed_at: datetime | None = None
        self._started = False

    async def ensure_started(self) -> None:
        """Templates, aliases or tables before the first write (an index created by a write would lack them)."""
        if not self._started:
            await self._backend.start()
            self._started = True

    async def close(self) -> None:
        await self._backend.close()
        self._started = False

    def lag_detail(self) -> str:
        if self.last_indexed_at is None:
            return ""
        return f"; last event indexed {self.last_indexed_at:%Y-%m-%d %H:%M:%S}Z"

    def subscribe(self, bus: EventBus, group: str) -> None:
        for topic in TOPICS:
            bus.subscribe(topic, group, self.handle, concurrency=2)

    async def handle(self, event: Event) -> None:
        await self.ensure_started()
        if event.topic in (Topic.ALERT_TRIGGERED, Topic.ALERT_RESOLVED):
            alert = Alert.model_validate(event.payload["alert"])
            config = await self._storage.configs.get(alert.config_id)
            await self._backend.put_alerts([alert_document(alert, config)])
            SEARCH_DOCUMENTS_INDEXED.labels("alerts").inc()
        else:
            config_id = event.payload["config_id"]
            if event.topic is Topic.CHANGE_DETECTED:
                config = await self._storage.configs.get(config_id)
                changes = [Change.model_validate(item) for item in event.payload.get("changes", [])]
                await self._backend.put_changes([change_document(change, config) for change in changes])
                SEARCH_DOCUMENTS_INDEXED.labels("changes").inc(len(changes))
            await self.index_site(config_id, event.organization_id)
        self.last_indexed_at = self._clock()
        SEARCH_INDEX_LAG.set(max(0.0, (self.last_indexed_at - event.occurred_at).total_seconds()))

    async def index_site(self, config_id: str, organization_id: str) -> None:
        """The site's current state from the database (idempotent: any event of the site may trigger it)."""
        config = await self._storage.configs.get(config_id)
        if config is None:
            await self._backend.delete_site(organization_id, config_id)
            return
        await self._backend.put_sites([await self._site(config)])
        SEARCH_DOCUMENTS_INDEXED.labels("sites").inc()

    async def config_deleted(self, organization_id: str, config_id: str) -> None:
        await self._backend.delete_site(organization_id, config_id)

    async def _site(self, config: MonitoringConfig) -> SiteDocument:
        latest = (await self._storage.scans.latest([config.id])).get(config.id)
        newest = await self._storage.changes.find(config_id=config.id, limit=1)
        return site_document(config, latest, newest[0].detected_at if newest else None,
                             await self._page_scan(config, latest))

    async def _page_scan(self, config: MonitoringConfig, latest: ScanResult | None) -> ScanResult | None:
        """The newest scan that showed the site's page, read only when the latest did not (a down site: bounded,
        PAGE_LOOKBACK successful scans)."""
        if latest is None or latest.shows_the_page:
            return latest
        recent = await self._storage.scans.find(config_id=config.id, organization_id=config.organization_id,
                                                status=ScanStatus.SUCCESS, limit=PAGE_LOOKBACK)
        return next((scan for scan in recent if scan.shows_the_page), None)

    # ---- rebuilding from the database --------------------------------------------------------------------

    async def rebuild(self, progress: Progress | None = None) -> RebuildCounts:
        """A complete new index from the database while the old one keeps answering, then swapped in."""
        report = progress or (lambda kind, count: None)
        await self.ensure_started()
        started = self._clock()
        target = await self._backend.begin_rebuild()
        try:
            counts = await self._fill(target, report)
            await target.commit()
        except BaseException:
            await target.abort()
            raise
        await self._catch_up(started - CATCH_UP_MARGIN)
        return counts

    async def _fill(self, target: IndexWriter, report: Progress) -> RebuildCounts:
        # Every walk pages by id (keyset): OFFSET would reread all the rows before each page (quadratic over a
        # million changes) and give a row twice when one is added ahead of it during the walk.
        counts = RebuildCounts()
        configs: dict[str, MonitoringConfig] = {}
        async for batch in _pages(lambda after: self._storage.configs.page(after, self._page)):
            configs.update((config.id, config) for config in batch)
        last_change: dict[str, datetime] = {}
        async for changes in _pages(lambda after: self._storage.changes.page(after, self._page * 4)):
            for change in changes:
                newest = last_change.get(change.config_id)
                if newest is None or change.detected_at > newest:
                    last_change[change.config_id] = change.detected_at
            await target.put_changes([change_document(c, configs.get(c.config_id)) for c in changes])
            counts.changes += len(changes)
            report("changes", counts.changes)
        async for alerts in _pages(lambda after: self._storage.alerts.page(after, self._page * 4)):
            await target.put_alerts([alert_document(a, configs.get(a.config_id)) for a in alerts])
            counts.alerts += len(alerts)
            report("alerts", counts.alerts)
        ordered = list(configs.values())
        for start in range(0, len(ordered), self._page):
            batch = ordered[start:start + self._page]
            latest = await self._storage.scans.latest([config.id for config in batch])
            await target.put_sites([site_document(config, latest.get(config.id), last_change.get(config.id),
                                                  await self._page_scan(config, latest.get(config.id)))
                                    for config in batch])
            counts.sites += len(batch)
            report("sites", counts.sites)
        return counts

    async def _catch_up(self, since: datetime) -> None:
        sites: set[tuple[str, str]] = set()
        async for changes in _pages(lambda after: self._storage.changes.page(after, self._page, since)):
            configs = {c.config_id: await self._storage.configs.get(c.config_id) for c in changes}
            await self._backend.put_changes([change_document(c, configs[c.config_id]) for c in changes])
            sites.update((c.organization_id, c.config_id) for c in changes)
        async for alerts in _pages(lambda after: self._storage.alerts.page(after, self._page, since)):
            configs = {a.config_id: await self._storage.configs.get(a.config_id) for a in alerts}
            await self._backend.put_alerts([alert_document(a, configs[a.config_id]) for a in alerts])
        async for scans in _pages(lambda after: self._storage.scans.page(after, self._page, since)):
            sites.update((s.organization_id, s.config_id) for s in scans)
        for organization_id, config_id in sites:
            await self.index_site(config_id, organization_id)


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Identified)


async def _pages(read: Callable[[str | None], Awaitable[list[R]]]) -> AsyncIterator[list[R]]:
    """Each page of a keyset walk: `read(after)` answers the rows after the id `after`, in id order."""
    after: str | None = None
    while page := await read(after):
        yield page
        after = page[-1].id

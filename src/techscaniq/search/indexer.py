"""Keeps the search index current from the events the pipeline already publishes, and rebuilds it from the
database. Never in a scan's path: it is one more consumer group on the bus, and a slow or failing index
only delays search (the bus retries), never scanning, change detection or alerting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from techscaniq.bus.protocol import EventBus
from techscaniq.domain.alert import Alert
from techscaniq.domain.change import Change
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.events import Event, Topic
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

Progress = Callable[[str, int], None]


@dataclass
class RebuildCounts:
    sites: int = 0
    changes: int = 0
    alerts: int = 0


class SearchIndexer:
    def __init__(self, storage: Storage, backend: SearchBackend, clock: Callable[[], datetime] = utcnow) -> None:
        self._storage = storage
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
        latest = await self._storage.scans.latest([config.id])
        newest = await self._storage.changes.find(config_id=config.id, limit=1)
        return site_document(config, latest.get(config.id), newest[0].detected_at if newest else None)

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
        counts = RebuildCounts()
        configs: dict[str, MonitoringConfig] = {}
        after: tuple[datetime, str] | None = None
        while batch := await self._storage.configs.find(None, limit=BATCH, after=after):
            configs.update((config.id, config) for config in batch)
            after = (batch[-1].created_at, batch[-1].id)
        last_change: dict[str, datetime] = {}
        offset = 0
        while changes := await self._storage.changes.find(limit=BATCH * 4, offset=offset):
            offset += len(changes)
            for change in changes:  # newest first: the first one of a site is its last change
                last_change.setdefault(change.config_id, change.detected_at)
            await target.put_changes([change_document(c, configs.get(c.config_id)) for c in changes])
            counts.changes += len(changes)
            report("changes", counts.changes)
        offset = 0
        while alerts := await self._storage.alerts.find(limit=BATCH * 4, offset=offset):
            offset += len(alerts)
            await target.put_alerts([alert_document(a, configs.get(a.config_id)) for a in alerts])
            counts.alerts += len(alerts)
            report("alerts", counts.alerts)
        ordered = list(configs.values())
        for start in range(0, len(ordered), BATCH):
            batch = ordered[start:start + BATCH]
            latest = await self._storage.scans.latest([config.id for config in batch])
            await target.put_sites([site_document(config, latest.get(config.id), last_change.get(config.id))
                                    for config in batch])
            counts.sites += len(batch)
            report("sites", counts.sites)
        return counts

    async def _catch_up(self, since: datetime) -> None:
        sites: set[tuple[str, str]] = set()
        offset = 0
        while changes := await self._storage.changes.find(since=since, limit=BATCH, offset=offset):
            offset += len(changes)
            configs = {c.config_id: await self._storage.configs.get(c.config_id) for c in changes}
            await self._backend.put_changes([change_document(c, configs[c.config_id]) for c in changes])
            sites.update((c.organization_id, c.config_id) for c in changes)
        offset = 0
        while alerts := await self._storage.alerts.find(since=since, limit=BATCH, offset=offset):
            offset += len(alerts)
            configs = {a.config_id: await self._storage.configs.get(a.config_id) for a in alerts}
            await self._backend.put_alerts([alert_document(a, configs[a.config_id]) for a in alerts])
        offset = 0
        while scans := await self._storage.scans.find(since=since, limit=BATCH, offset=offset):
            offset += len(scans)
            sites.update((s.organization_id, s.config_id) for s in scans)
        for organization_id, config_id in sites:
            await self.index_site(config_id, organization_id)

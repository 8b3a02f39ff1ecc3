"""The config service: what creating, changing, removing and scanning-now a monitoring config means
(validation with the deployment's limits, quotas, the scheduler woken, the site re-indexed for search).
The API and MonitoringSystem's facade both call it; it knows nothing of HTTP or of the system's lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from techscaniq import quotas
from techscaniq.domain.common import KNOWN_IDS, REVEAL_SECRETS, new_id
from techscaniq.domain.config import MIN_INTERVAL, MonitoringConfig
from techscaniq.domain.errors import ConfigNotFoundError
from techscaniq.domain.scan import ScanResult
from techscaniq.pipeline.clock import Clock
from techscaniq.search.indexer import SearchIndexer
from techscaniq.settings import Settings
from techscaniq.storage.protocols import ScanRequest, Storage

log = logging.getLogger("techscaniq.system")


class ConfigService:
    def __init__(self, storage: Storage, settings: Settings, clock: Clock, *, wake_scheduler: Callable[[], None],
                 search_indexer: SearchIndexer) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self._wake_scheduler = wake_scheduler
        self.search_indexer = search_indexer

    async def add_monitoring_config(self, config: dict[str, Any] | MonitoringConfig) -> str:
        """Validate and store a config; its first scan runs right away. Returns the config id."""
        if isinstance(config, MonitoringConfig):
            # Built elsewhere (without the write context): the deployment's limits are checked here.
            data = config.model_dump(mode="python", context=REVEAL_SECRETS)
        else:
            now = self.clock()
            data = {"created_at": now, "updated_at": now, **config}
        model = self.validate_config(data)
        quotas.check_config_count(await self.storage.configs.count(model.organization_id), self.settings)
        await self.storage.configs.add(model, next_run_at=None if model.paused else self.clock())
        self._wake_scheduler()
        await self._search_site(model.organization_id, model.id)  # searchable before its first scan
        return model.id

    def validate_config(self, data: dict[str, Any], current: MonitoringConfig | None = None) -> MonitoringConfig:
        """A config being created, or changed from `current`, with the deployment's limits. A stored
        schedule below today's minimum may stay (pausing or renaming such a config must work)."""
        # Ids stored before the safe-id rule (e.g. with '/') may stay; new ones must be safe.
        known = {current.id, *(rule.id for rule in current.alert_rules)} if current else set()
        minimum = {MIN_INTERVAL: self.settings.min_scan_interval_seconds}
        if current is None:  # a new config: every rule at once, one validation
            config = MonitoringConfig.model_validate(data, context={KNOWN_IDS: known, **minimum})
        else:
            config = MonitoringConfig.model_validate(data, context={KNOWN_IDS: known})
            if config.schedule != current.schedule:
                config = MonitoringConfig.model_validate(data, context={KNOWN_IDS: known, **minimum})
        quotas.check_config_shape(config, self.settings)
        return config

    async def get_monitoring_config(self, config_id: str, organization_id: str | None = None) -> MonitoringConfig:
        config = await self.storage.configs.get(config_id, organization_id)
        if config is None:
            raise ConfigNotFoundError(config_id)
        return config

    async def list_monitoring_configs(self, organization_id: str | None = None, limit: int = 1000,
                                      offset: int = 0, after: tuple[datetime, str] | None = None,
                                      ) -> list[MonitoringConfig]:
        return await self.storage.configs.find(organization_id, limit=limit, offset=offset, after=after)

    async def update_monitoring_config(self, config_id: str, changes: dict[str, Any],
                                       organization_id: str | None = None) -> MonitoringConfig:
        """Apply a partial update (any top-level field of the config), validated as a whole."""
        current = await self.get_monitoring_config(config_id, organization_id)
        data = current.model_dump(mode="python", context=REVEAL_SECRETS)  # masked secrets would be stored
        for field in ("id", "organization_id", "created_at", "schema_version"):
            changes.pop(field, None)
        data.update(changes)
        data["updated_at"] = self.clock()
        updated = self.validate_config(data, current)
        schedule_changed = updated.schedule != current.schedule or updated.paused != current.paused
        next_run = await self.storage.configs.next_run_at(config_id)
        if schedule_changed:
            next_run = None if updated.paused else self.clock()
        await self.storage.configs.update(updated, next_run_at=next_run)
        self._wake_scheduler()
        await self._search_site(updated.organization_id, config_id)  # a new name, tags or pause
        return updated

    async def remove_monitoring_config(self, config_id: str, organization_id: str | None = None) -> None:
        config = await self.get_monitoring_config(config_id, organization_id)
        if not await self.storage.configs.delete(config_id, organization_id):
            raise ConfigNotFoundError(config_id)
        await self._search_site(config.organization_id, config_id)

    async def pause_monitoring_config(self, config_id: str, organization_id: str | None = None) -> MonitoringConfig:
        return await self.update_monitoring_config(config_id, {"paused": True}, organization_id)

    async def resume_monitoring_config(self, config_id: str, organization_id: str | None = None) -> MonitoringConfig:
        return await self.update_monitoring_config(config_id, {"paused": False}, organization_id)

    async def scan_now(self, config_id: str, organization_id: str | None = None, *, wait: bool = False,
                       wait_seconds: float = 120.0) -> str | ScanResult:
        """Queue an immediate scan (outside the schedule). Returns its scan id, or with `wait=True`
        the stored ScanResult once it is done. The request is stored before this returns, so a crash
        or restart afterwards delays the scan but never loses it."""
        config = await self.get_monitoring_config(config_id, organization_id)
        request = ScanRequest(new_id(), config.id, config.organization_id)
        await self.storage.scan_requests.add(request, self.clock())
        self._wake_scheduler()
        if not wait:
            return request.id
        async with asyncio.timeout(wait_seconds):
            # Polling storage (not an in-process event) works whichever replica runs the scan.
            while (scan := await self.storage.scans.get(request.id)) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        return scan

    async def _search_site(self, organization_id: str, config_id: str) -> None:
        """Re-index one site after a config write. Search is derived data: its failure never fails the write
        (the site is indexed again at its next scan, or by `techscaniq search reindex`)."""
        try:
            await self.search_indexer.index_site(config_id, organization_id)
        except Exception as exc:
            log.warning("search index not updated for config %s (%s)", config_id, type(exc).__name__)

    async def next_run_at(self, config_id: str) -> datetime | None:
        return await self.storage.configs.next_run_at(config_id)

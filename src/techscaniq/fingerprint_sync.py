"""Tenants' own fingerprints across replicas: a write stores the set and compiles it here; every replica's
sync loop (every 30 s) loads what the others stored, and the patterns any replica disabled over budget."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from techscaniq import quotas
from techscaniq.observability.outage import Outage, periodically
from techscaniq.pipeline.clock import Clock
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.scanning.fingerprints.shared_disables import SharedDisables
from techscaniq.settings import Settings
from techscaniq.storage.sql.custom_fingerprints import SqlCustomFingerprintRepository

log = logging.getLogger("techscaniq.system")

SYNC_EVERY_SECONDS = 30.0


class FingerprintSync:
    def __init__(self, repository: SqlCustomFingerprintRepository, settings: Settings, clock: Clock,
                 fingerprints: FingerprintRegistry, disabled_patterns: SharedDisables) -> None:
        self.repository = repository
        self.settings = settings
        self.clock = clock
        self.fingerprints = fingerprints
        self.disabled_patterns = disabled_patterns
        self._custom_fingerprints_seen: datetime | None = None
        self.outage = Outage("fingerprints", "fingerprints")

    async def run(self) -> None:
        """The sync loop: failing (the database away) must not stop monitoring; it retries sooner meanwhile."""
        await periodically(self.outage, SYNC_EVERY_SECONDS, self.sync_custom_fingerprints)

    async def set_custom_fingerprints(self, organization_id: str, technologies: dict[str, Any] | None) -> list[str]:
        """Replace an organization's own fingerprints (None removes them); every replica picks them up.
        Returns warnings about skipped entries; a document that is not a JSON object raises ValueError."""
        if isinstance(technologies, dict):
            quotas.check_custom_fingerprints(len(technologies), self.settings)
        # Parsing and compiling a tenant's regexes is CPU work: off the event loop.
        at = self.clock()
        warnings = await asyncio.to_thread(self.fingerprints.set_custom, organization_id, technologies, at)
        await self.repository.put(organization_id, technologies or {}, at)
        return warnings

    async def sync_custom_fingerprints(self) -> int:
        """Load the custom fingerprints other replicas (or a previous run) stored; returns how many changed."""
        changed = await self.repository.changed_since(self._custom_fingerprints_seen)
        for organization_id, technologies, updated_at in changed:
            warnings = await asyncio.to_thread(self.fingerprints.set_custom, organization_id, technologies or None,
                                               updated_at)
            for warning in warnings:
                log.warning("custom fingerprints of %s: %s", organization_id, warning)
            self._custom_fingerprints_seen = max(self._custom_fingerprints_seen or updated_at, updated_at)
        await self.disabled_patterns.load()  # patterns any replica found over their budget stop running here too
        return len(changed)

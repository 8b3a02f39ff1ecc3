"""Tenant patterns disabled for going over their budget, kept in the database: the replica whose scan found one
records it, and every replica (and the next start) stops running it for that organization. Replacing the set
enables them all again (the rows name the set they were found in)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from techscaniq.scanning.fingerprints.patterns import Pattern, pattern_identity
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.storage.sql.custom_fingerprints import DisabledPattern, SqlCustomFingerprintRepository

log = logging.getLogger(__name__)


class SharedDisables:
    def __init__(self, registry: FingerprintRegistry, repository: SqlCustomFingerprintRepository) -> None:
        self._registry = registry
        self._repository = repository

    async def share(self, organization_id: str, patterns: list[Pattern]) -> None:
        """Record the patterns a scan of this replica found over budget (the scan's analyzer calls this)."""
        version, current = self._registry.current(organization_id, patterns)
        if version is None or not current:
            return  # the set was replaced (or removed) meanwhile: these patterns no longer run anyway
        rows = [DisabledPattern(organization_id=organization_id, pattern_id=p.identity, set_version=version,
                                technology=p.technology, source=p.source, key=p.key, pattern=p.regex_text,
                                reason=p.disabled or "", disabled_at=p.disabled_at or version) for p in current]
        try:
            await self._repository.disable(rows)
        except Exception:  # this replica has disabled them already; the others run them until it is recorded
            log.warning("could not record %d disabled custom fingerprint patterns of %s", len(rows),
                        organization_id, exc_info=True)

    async def load(self) -> int:
        """Disable here what any replica recorded (at start and with each fingerprint sync); returns how many
        patterns stopped running now."""
        by_set: dict[tuple[str, datetime], dict[str, tuple[str, datetime]]] = defaultdict(dict)
        for row in await self._repository.disabled():
            by_set[row.organization_id, row.set_version][row.pattern_id] = (row.reason, row.disabled_at)
        return sum(self._registry.apply_disabled(organization_id, version, disabled)
                   for (organization_id, version), disabled in by_set.items())

    async def status(self, organization_id: str) -> dict[str, Any]:
        """The organization's custom technologies and disabled patterns, those recorded by any replica included."""
        status = self._registry.custom_status(organization_id)
        listed = {pattern_identity(d["technology"], d["source"], d["key"], d["pattern"]) for d in status["disabled"]}
        for row in await self._repository.disabled(organization_id):
            if row.pattern_id not in listed:
                status["disabled"].append({"technology": row.technology, "source": row.source, "key": row.key,
                                           "pattern": row.pattern, "reason": row.reason,
                                           "disabled_at": row.disabled_at})
        return status

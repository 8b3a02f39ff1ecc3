"""Change detection: a pure core (`detect_changes`, and `judge` against a config's baseline) and the stage
around it (`ChangeDetector`) that reads and updates the baseline, stores the changes idempotently and keeps
the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

from techscaniq.changes.availability import detect_availability
from techscaniq.changes.baseline import BaselineRepository, advance, policy_key, rebuild
from techscaniq.changes.context import DetectionContext
from techscaniq.changes.feedback import refresh_false_positive_rate
from techscaniq.changes.performance import detect_performance
from techscaniq.changes.policy import DetectionPolicy
from techscaniq.changes.reanalysis import Reanalyze, reanalyse_history
from techscaniq.changes.security import detect_security
from techscaniq.changes.technology import detect_technologies, technology_usable
from techscaniq.domain.baseline import Baseline
from techscaniq.domain.change import Change
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.observability.metrics import CHANGE_PROCESSING_LATENCY, CHANGES_DETECTED
from techscaniq.storage.protocols import ChangeRepository, ScanRepository

log = logging.getLogger(__name__)


class ChangeStorage(Protocol):
    """The part of Storage this stage uses (read-only members, so any Storage implementation fits)."""

    @property
    def scans(self) -> ScanRepository: ...

    @property
    def changes(self) -> ChangeRepository: ...

    @property
    def baselines(self) -> BaselineRepository: ...


RATIO_REFRESH_SECONDS = 60.0

DETECTORS = (detect_availability, detect_technologies, detect_performance, detect_security)


def detect_changes(
    current: ScanResult,
    history: Sequence[ScanResult],
    config: MonitoringConfig,
    policy: DetectionPolicy | None = None,
) -> list[Change]:
    """Every meaningful difference between `current` and the site's history (newest first, earlier scans of
    the same config, failed ones included). Pure: the same inputs always give the same changes (up to
    their ids and detected_at), which is what makes re-processing a scan harmless."""
    ordered = sorted(
        (scan for scan in history
         if scan.id != current.id and scan.config_id == current.config_id and scan.started_at <= current.started_at),
        key=lambda scan: scan.started_at, reverse=True,
    )
    ctx = DetectionContext(current, ordered, config, policy or DetectionPolicy())
    changes: list[Change] = []
    for detector in DETECTORS:
        changes += detector(ctx)
    return changes


def judge(
    scan: ScanResult, baseline: Baseline, config: MonitoringConfig, policy: DetectionPolicy
) -> tuple[list[Change], Baseline]:
    """The changes `scan` shows against the config's baseline, and the baseline that includes it. Pure."""
    return detect_changes(scan, baseline.scans, config, policy), advance(baseline, scan, policy)


class ChangeDetector:
    """The `scan.completed` stage. Stateless apart from the storage: any replica may handle any scan, and
    handling one twice stores nothing new (changes are keyed by scan, type, change type and subject)."""

    def __init__(
        self, storage: ChangeStorage, policy: DetectionPolicy | None = None, reanalyze: Reanalyze | None = None
    ) -> None:
        self._storage = storage
        self.policy = policy or DetectionPolicy()
        self._reanalyze = reanalyze
        self._ratio_refreshed_at: float | None = None
        self._policy_key = policy_key(self.policy)

    async def history(self, scan: ScanResult) -> list[ScanResult]:
        history = await self._storage.scans.previous(
            scan.config_id, before=scan.started_at, limit=self.policy.history_window
        )
        if self._reanalyze is not None:
            history = await reanalyse_history(scan, history, self._reanalyze, self.policy.stability_window)
        return history

    async def baseline(self, scan: ScanResult) -> Baseline:
        """The baseline to judge `scan` against: the stored one when it ends with the scan stored just before
        `scan` and was built with this policy and fingerprint database (one row, whatever the history);
        otherwise rebuilt from the stored history (the first scan after a policy change, a fingerprint
        update, a re-delivered scan or scans judged out of order)."""
        stored = await self._storage.baselines.get(scan.config_id, before=scan.started_at)
        found = stored.baseline
        if (found is not None and found.newest is not None and found.newest.id == stored.newest_scan_id
                and found.policy_key == self._policy_key and not self._needs_reanalysis(scan, found)):
            return found
        return rebuild(scan.config_id, await self.history(scan), self.policy)

    async def rebuild_baseline(self, config_id: str, organization_id: str) -> bool:
        """Rebuild a config's baseline from its newest stored scans (after a policy change, a fingerprint
        update or a restore; the stage also does it by itself when it finds the row stale). False when
        the config has no scans."""
        history = await self._storage.scans.find(config_id=config_id, limit=self.policy.history_window)
        if not history:
            return False
        return await self._storage.baselines.put(organization_id, rebuild(config_id, history, self.policy))

    def _needs_reanalysis(self, scan: ScanResult, baseline: Baseline) -> bool:
        """Whether a scan that decides technology transitions was read with another fingerprint database."""
        if self._reanalyze is None:
            return False
        usable = [s for s in baseline.scans if technology_usable(s)][: self.policy.stability_window]
        return any(s.fingerprint_version != scan.fingerprint_version for s in usable)

    async def handle_scan(self, scan: ScanResult, config: MonitoringConfig) -> list[Change]:
        """Detects, stores and returns the changes this call newly stored (empty on re-delivery)."""
        changes, after = judge(scan, await self.baseline(scan), config, self.policy)
        # Before the changes: a crash in between re-judges the scan against a rebuilt baseline (it is then
        # not the newest stored scan's successor), and storing changes is idempotent.
        await self._storage.baselines.put(scan.organization_id, after)
        stored = await self._storage.changes.add_many(changes) if changes else []
        for change in stored:
            if not change.data_change:  # a fingerprint database update is not a site change
                CHANGES_DETECTED.labels(type=change.type.value, impact=change.impact.value).inc()
        if scan.finished_at is not None:
            CHANGE_PROCESSING_LATENCY.observe(max((utcnow() - scan.finished_at).total_seconds(), 0.0))
        if stored:
            await self._refresh_ratio()
            log.info(
                "scan %s of config %s: %d change(s): %s", scan.id, scan.config_id, len(stored),
                ", ".join(f"{c.type}/{c.change_type}/{c.subject}" for c in stored),
            )
        return stored

    async def _refresh_ratio(self) -> None:
        """New changes lower the false-positive ratio; recounting every table row on every scan would not
        scale, so it is recounted at most once a minute here (marking a change recounts at once)."""
        now = time.monotonic()
        if self._ratio_refreshed_at is None or now - self._ratio_refreshed_at >= RATIO_REFRESH_SECONDS:
            self._ratio_refreshed_at = now
            await refresh_false_positive_rate(self._storage.changes)

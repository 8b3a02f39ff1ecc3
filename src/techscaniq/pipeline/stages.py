"""The event adapters between stages: scan.completed -> change detection -> change.detected ->
alert engine -> alert.triggered / alert.resolved.

Each step records its completion on the scan row after its own state is stored, so a restart of the
embedded system (whose in-process bus loses queued events) can finish exactly what was interrupted.
Both stages are idempotent, so finishing twice is harmless."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from techscaniq.bus.protocol import EventBus
from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.domain.change import Change
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.events import Event, Topic
from techscaniq.domain.scan import ScanResult
from techscaniq.storage.protocols import Storage

log = logging.getLogger("techscaniq.pipeline.stages")


class ChangeDetecting(Protocol):
    async def handle_scan(self, scan: ScanResult, config: MonitoringConfig) -> list[Change]: ...


class AlertEvaluating(Protocol):
    async def handle_changes(self, config: MonitoringConfig, changes: list[Change]) -> list[Alert]: ...


class ChangeStage:
    def __init__(self, storage: Storage, bus: EventBus, detector: ChangeDetecting,
                 on_finished: Callable[[], None] | None = None) -> None:
        """`on_finished`: called after each scan compared (the scheduler, held back by this stage, claims again)."""
        self._storage = storage
        self._bus = bus
        self._detector = detector
        self._on_finished = on_finished

    async def handle(self, event: Event) -> None:
        # The event carries the scan as stored (the worker sent what it had just written): not read back.
        document = event.payload.get("scan")
        scan = (ScanResult.model_validate(document) if document
                else await self._storage.scans.get(event.payload["scan_id"]))
        if scan is not None:
            try:
                await self.process(scan)
            finally:
                if self._on_finished is not None:
                    self._on_finished()

    async def process(self, scan: ScanResult) -> None:
        config = await self._storage.configs.get(scan.config_id)
        if config is None:  # deleted meanwhile: nothing to compare or alert on
            await self._storage.scans.mark_done(scan.id, "changes", "alerts")
            return
        await self._detector.handle_scan(scan, config)
        # All of this scan's changes, not only the new ones: a redelivery after a crash must still
        # reach the alert stage (which is idempotent per scan and rule).
        changes = await self._storage.changes.find(scan_id=scan.id, limit=10_000)
        if not changes:
            await self._storage.scans.mark_done(scan.id, "changes", "alerts")
            return
        await self._storage.scans.mark_done(scan.id, "changes")
        await self._bus.publish(change_detected(scan, list(reversed(changes))))


def change_detected(scan: ScanResult, changes: list[Change]) -> Event:
    return Event(
        topic=Topic.CHANGE_DETECTED,
        key=scan.config_id,
        organization_id=scan.organization_id,
        payload={"scan_id": scan.id, "config_id": scan.config_id,
                 "changes": [change.model_dump(mode="json") for change in changes]},
    )


class AlertStage:
    def __init__(self, storage: Storage, bus: EventBus, engine: AlertEvaluating) -> None:
        self._storage = storage
        self._bus = bus
        self._engine = engine

    async def handle(self, event: Event) -> None:
        changes = [Change.model_validate(item) for item in event.payload["changes"]]
        await self.process(event.payload["scan_id"], event.payload["config_id"], changes)

    async def process(self, scan_id: str, config_id: str, changes: list[Change]) -> None:
        config = await self._storage.configs.get(config_id)
        alerts = await self._engine.handle_changes(config, changes) if config is not None else []
        await self._storage.scans.mark_done(scan_id, "alerts")
        for alert in alerts:
            topic = Topic.ALERT_RESOLVED if alert.status is AlertStatus.RESOLVED else Topic.ALERT_TRIGGERED
            await self._bus.publish(Event(topic=topic, key=alert.config_id, organization_id=alert.organization_id,
                                          payload={"alert": alert.model_dump(mode="json")}))


async def finish_interrupted_work(storage: Storage, changes: ChangeStage, alerts: AlertStage) -> int:
    """Runs the stages a crash interrupted (scans stored but not compared, or compared but not alerted)."""
    finished = 0
    for scan in await storage.scans.pending("changes"):
        await changes.process(scan)
        finished += 1
    for scan in await storage.scans.pending("alerts"):
        found = await storage.changes.find(scan_id=scan.id, limit=10_000)
        await alerts.process(scan.id, scan.config_id, list(reversed(found)))
        finished += 1
    if finished:
        log.info("finished the change/alert stages of %d scan(s) interrupted by a previous stop", finished)
    return finished

"""The scan worker: turns `scan.requested` into a stored scan and a `scan.completed` event.

Idempotent: a scheduled run's scan id is derived from (config, due time), so a run delivered
twice is stored once; a run whose schedule already moved on is skipped."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from techscaniq.bus.protocol import EventBus
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.events import Event, Topic
from techscaniq.domain.scan import ScanResult, ScanTrigger
from techscaniq.observability.metrics import SCHEDULE_LAG
from techscaniq.pipeline.clock import Clock, system_clock
from techscaniq.pipeline.schedule import next_run_after
from techscaniq.storage.protocols import Storage

log = logging.getLogger("techscaniq.pipeline.worker")

MIN_INTERVAL_SLACK = timedelta(seconds=1)


class ScanRunner(Protocol):
    async def scan(
        self,
        config: MonitoringConfig,
        *,
        trigger: ScanTrigger = ScanTrigger.SCHEDULE,
        scheduled_for: datetime | None = None,
        scan_id: str | None = None,
    ) -> tuple[ScanResult, bytes]: ...


def scheduled_scan_id(config_id: str, due_at: datetime) -> str:
    return hashlib.sha256(f"{config_id}@{due_at.isoformat()}".encode()).hexdigest()[:32]


def scan_completed(scan: ScanResult) -> Event:
    return Event(
        topic=Topic.SCAN_COMPLETED,
        key=scan.config_id,
        organization_id=scan.organization_id,
        payload={"scan_id": scan.id, "config_id": scan.config_id, "scan": scan.model_dump(mode="json")},
    )


class ScanWorker:
    def __init__(self, storage: Storage, bus: EventBus, scanner: ScanRunner, clock: Clock = system_clock,
                 on_finished: Callable[[], None] | None = None, *, min_interval_seconds: float = 0.0) -> None:
        """`on_finished`: called after each scan (the scheduler claims the next run when it waits for room)."""
        self._storage = storage
        self._min_interval = timedelta(seconds=min_interval_seconds)
        self._bus = bus
        self._scanner = scanner
        self._clock = clock
        self._on_finished = on_finished
        self.stopping = False

    async def handle(self, event: Event) -> None:
        if self.stopping:
            return  # the run stays leased in storage and is picked up again after restart
        config_id = event.payload["config_id"]
        trigger = ScanTrigger(event.payload.get("trigger", ScanTrigger.SCHEDULE))
        due_at = datetime.fromisoformat(event.payload["due_at"]) if event.payload.get("due_at") else None
        manual_id = event.payload.get("scan_id") if trigger is ScanTrigger.MANUAL else None
        config = await self._storage.configs.get(config_id)
        if config is None:
            if manual_id is not None:
                await self._storage.scan_requests.done(manual_id)  # the config is gone: nothing to scan
            return
        if trigger is ScanTrigger.SCHEDULE and due_at is not None:
            if await self._storage.configs.next_run_at(config_id) != due_at:
                return  # already done (redelivered) or rescheduled meanwhile
            if config.paused:
                await self._advance(config, due_at)
                return
            scan_id = scheduled_scan_id(config_id, due_at)
            if (stored_before := await self._storage.scans.get(scan_id)) is not None:
                # A replica died (kill -9) after storing this run's scan: finish its work, do not scan again.
                await self._bus.publish(scan_completed(stored_before))
                await self._advance(config, due_at)
                return
        else:
            scan_id = manual_id or event.id  # events of older versions carry no scan_id
            if manual_id is not None and (stored_before := await self._storage.scans.get(scan_id)) is not None:
                # Redelivered after its scan was stored: finish the stages, do not scan again.
                await self._bus.publish(scan_completed(stored_before))
                await self._storage.scan_requests.done(manual_id)
                return

        started = self._clock()
        if due_at is not None:
            SCHEDULE_LAG.observe(max(0.0, (started - due_at).total_seconds()))
        try:
            result, body = await self._scanner.scan(config, trigger=trigger, scheduled_for=due_at, scan_id=scan_id)
        finally:
            if self._on_finished is not None:
                self._on_finished()
        stored = await self._storage.scans.add(result, body)
        if stored:
            await self._storage.metrics.record(result)
            # Before the run is advanced: a crash in between publishes again (the stages are idempotent).
            await self._bus.publish(scan_completed(result))
        if trigger is ScanTrigger.SCHEDULE and due_at is not None:
            await self._advance(config, due_at)
        elif manual_id is not None:
            await self._storage.scan_requests.done(manual_id)

    async def _advance(self, config: MonitoringConfig, due_at: datetime) -> None:
        # From "now", not from due_at: runs missed while down fire once, not once per missed slot.
        # Not before due_at + the minimum: a config stored before MIN_SCAN_INTERVAL_SECONDS was raised
        # keeps loading, but runs no more often than the deployment allows (interval phase is kept).
        next_at = next_run_after(config.schedule, config.id, max(self._clock(), due_at), anchor=config.created_at)
        # The slack: a first run is due a moment after created_at (the phase), so its next slot is a hair
        # under one interval later; that is on the schedule, not faster than it.
        if next_at is not None and next_at - due_at < self._min_interval - MIN_INTERVAL_SLACK:
            later = due_at + self._min_interval - MIN_INTERVAL_SLACK
            next_at = next_run_after(config.schedule, config.id, later, anchor=config.created_at)
        await self._storage.configs.complete_run(config.id, due_at, next_at)


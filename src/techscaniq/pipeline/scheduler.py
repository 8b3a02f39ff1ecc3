"""The scheduler: claims due runs and stored scan-now requests, and publishes `scan.requested` for each.

It keeps no schedule in memory: each config's next run lives in the database, leased when
claimed and advanced by the worker when the scan is stored. So a restart loses nothing (the
run is still due), a crash mid-scan retries after the lease expires, and replicas share the
work (claims are exclusive)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from techscaniq.bus.protocol import EventBus
from techscaniq.domain.events import Event, Topic
from techscaniq.domain.scan import ScanTrigger
from techscaniq.observability.outage import Outage
from techscaniq.pipeline.clock import Clock, system_clock
from techscaniq.settings import Settings
from techscaniq.storage.protocols import Storage

log = logging.getLogger("techscaniq.pipeline.scheduler")


QUEUED_PER_WORKER = 8  # runs claimed ahead per scan worker
# The stages after a scan: a check is done when its changes and alerts are. Scans waiting in these queues count
# against the room to claim, so under load the scheduler claims only as fast as the whole pipeline finishes.
DOWNSTREAM = (f"{Topic.SCAN_COMPLETED.value}/change-detector", f"{Topic.CHANGE_DETECTED.value}/alert-engine")


def scan_requested(config_id: str, organization_id: str, due_at: datetime | None, trigger: ScanTrigger,
                   scan_id: str | None = None) -> Event:
    payload = {"config_id": config_id, "due_at": due_at.isoformat() if due_at else None, "trigger": trigger.value}
    if scan_id is not None:
        payload["scan_id"] = scan_id
    return Event(topic=Topic.SCAN_REQUESTED, key=config_id, organization_id=organization_id, payload=payload)


class Scheduler:
    def __init__(
        self, storage: Storage, bus: EventBus, settings: Settings, owner: str, clock: Clock = system_clock
    ) -> None:
        self._storage = storage
        self._bus = bus
        self._settings = settings
        self._owner = owner
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self.last_tick: datetime | None = None
        # Since when due runs wait because the scan workers are full (None: everything due was claimed).
        self.saturated_since: datetime | None = None
        self.outage = Outage("scheduler", "scheduler")

    def wake(self) -> None:
        """Look for due runs now (a config was added, resumed or rescheduled)."""
        self._wake.set()

    def scan_finished(self) -> None:
        """A scan worker is free again: when runs wait for one, claim the next now."""
        if self.saturated_since is not None:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.tick()
                # A full batch with room left: more are due, no sleep.
                full = claimed >= self._settings.scheduler_batch_size and self.saturated_since is None
                timeout = 0.0 if full else await self._timeout_until_next()
                self.outage.recovered()
            except Exception as exc:  # the database (or bus) away: back off, then claim again; nothing is lost
                timeout = self.outage.failed(exc)
            if timeout > 0:
                await self._sleep(timeout)

    async def tick(self) -> int:
        """Claim every due run and scan-now request once and publish it; returns how many were claimed."""
        now = self._clock()
        self.last_tick = now
        lease = self._settings.scheduler_lease_seconds
        room = self._room()
        if room == 0:  # the queue is full: saturated, and no database round trip until it drains
            self.saturated_since = self.saturated_since or now
            return 0
        requests = await self._storage.scan_requests.claim(now, room, lease, self._owner) if room else []
        for request in requests:
            await self._bus.publish(scan_requested(request.config_id, request.organization_id, None,
                                                   ScanTrigger.MANUAL, scan_id=request.id))
        left = room - len(requests)
        runs = await self._storage.configs.claim_due(now, left, lease, self._owner) if left > 0 else []
        claimed = len(requests) + len(runs)
        # The workers' room, not the batch, bounded this tick and runs are still due: saturated. The next
        # claim comes when a scan finishes (`scan_finished`) or at the next tick, never in a tight loop.
        capacity_bound = claimed >= room and room < self._settings.scheduler_batch_size
        if capacity_bound and (earliest := await self._storage.configs.earliest_next_run(now)) and earliest <= now:
            self.saturated_since = self.saturated_since or now
        else:
            self.saturated_since = None
        for run in runs:
            config = await self._storage.configs.get(run.config_id)
            if config is None:
                continue
            await self._bus.publish(scan_requested(run.config_id, config.organization_id, run.due_at,
                                                   ScanTrigger.SCHEDULE))
        if claimed:
            log.debug("claimed %d due runs and %d scan-now requests", len(runs), len(requests))
        return claimed

    def _room(self) -> int:
        """How many runs to claim now: a batch, but no more than the scan workers can start soon (QUEUED_PER_WORKER
        times their concurrency, minus what already waits in this replica's queues, the change and alert stages
        included). Claiming more would only
        queue runs behind each other — and one organization's behind another's. (Not fewer: the in-process
        bus gives each worker its own shard of the queue, so a short queue leaves workers idle.)"""
        concurrency = self._settings.scan_concurrency
        depths = self._bus.queue_depths()
        waiting = depths.get(f"{Topic.SCAN_REQUESTED.value}/scan-workers", 0)
        waiting += sum(depths.get(name, 0) for name in DOWNSTREAM)  # back-pressure: finished scans not yet compared
        free = QUEUED_PER_WORKER * concurrency - waiting
        if waiting and free < concurrency:
            return 0  # claim in chunks, not one run per finished scan (each claim is a transaction)
        return max(0, min(self._settings.scheduler_batch_size, free))

    async def _timeout_until_next(self) -> float:
        timeout = self._settings.scheduler_tick_seconds
        # Saturated: runs are due already; a finishing scan (scan_finished) or the tick wakes us.
        earliest = None if self.saturated_since else await self._storage.configs.earliest_next_run(self._clock())
        if earliest is not None:
            timeout = max(0.0, min(timeout, (earliest - self._clock()).total_seconds()))
        return timeout

    async def _sleep(self, seconds: float) -> None:
        """Until `seconds` have passed or wake()/stop(), whichever comes first."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

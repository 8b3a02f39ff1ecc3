"""The scheduler: claims due runs from storage and publishes `scan.requested` for each.

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


def scan_requested(config_id: str, organization_id: str, due_at: datetime | None, trigger: ScanTrigger) -> Event:
    return Event(
        topic=Topic.SCAN_REQUESTED,
        key=config_id,
        organization_id=organization_id,
        payload={"config_id": config_id, "due_at": due_at.isoformat() if due_at else None, "trigger": trigger.value},
    )


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
        self.outage = Outage("scheduler", "scheduler")

    def wake(self) -> None:
        """Look for due runs now (a config was added, resumed or rescheduled)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.tick()
                # A full batch: more are due, no sleep.
                timeout = 0.0 if claimed >= self._settings.scheduler_batch_size else await self._timeout_until_next()
                self.outage.recovered()
            except Exception as exc:  # the database (or bus) away: back off, then claim again; nothing is lost
                timeout = self.outage.failed(exc)
            if timeout > 0:
                await self._sleep(timeout)

    async def tick(self) -> int:
        """Claim every due run once and publish it; returns how many were claimed."""
        now = self._clock()
        self.last_tick = now
        runs = await self._storage.configs.claim_due(
            now, self._settings.scheduler_batch_size, self._settings.scheduler_lease_seconds, self._owner
        )
        for run in runs:
            config = await self._storage.configs.get(run.config_id)
            if config is None:
                continue
            await self._bus.publish(scan_requested(run.config_id, config.organization_id, run.due_at,
                                                   ScanTrigger.SCHEDULE))
        if runs:
            log.debug("claimed %d due runs", len(runs))
        return len(runs)

    async def _timeout_until_next(self) -> float:
        timeout = self._settings.scheduler_tick_seconds
        earliest = await self._storage.configs.earliest_next_run(self._clock())
        if earliest is not None:
            timeout = max(0.0, min(timeout, (earliest - self._clock()).total_seconds()))
        return timeout

    async def _sleep(self, seconds: float) -> None:
        """Until `seconds` have passed or wake()/stop(), whichever comes first."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

"""Health of one process: each component's state (what /health, /ready, the banner and the
`techscaniq_component_up` gauge show), the background loops' outages, and the gauges /metrics refreshes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from techscaniq.alerts import Notifier
from techscaniq.bus.protocol import EventBus
from techscaniq.coordination import RedisGuard
from techscaniq.observability.metrics import (
    ACTIVE_CONFIGS,
    COMPONENT_UP,
    CONFIGS,
    DATABASE_UP,
    PROCESS_MEMORY_RATIO,
    QUEUE_DEPTH,
)
from techscaniq.observability.outage import Outage
from techscaniq.observability.process import memory_ratio
from techscaniq.pipeline.clock import Clock
from techscaniq.pipeline.scheduler import Scheduler
from techscaniq.search.backend import SearchBackend
from techscaniq.search.indexer import SearchIndexer
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

log = logging.getLogger("techscaniq.system")

# A scheduler waiting this long for free scan workers shows as degraded in /health.
SATURATED_AFTER_SECONDS = 30.0

COMPONENTS = ("database", "event_bus", "scheduler", "scan_worker", "change_detector", "alert_engine",
              "notifier", "revocations", "fingerprints", "realtime", "api", "websocket")


@dataclass
class ComponentState:
    name: str
    state: str = "stopped"  # stopped | running | degraded | failed
    detail: str = ""

    @property
    def healthy(self) -> bool:
        """Running, or degraded (working, but short of something): /health answers 200 either way."""
        return self.state in ("running", "degraded")


class HealthService:
    """`tasks` is the system's list of background tasks (shared, not copied): a loop that ended shows as failed.
    `outages` are the loops' outage trackers; the Kafka bus adds one per consumer loop."""

    def __init__(self, settings: Settings, storage: SqlStorage, bus: EventBus, clock: Clock, *, instance_id: str,
                 scheduler: Scheduler, notifier: Notifier, search: SearchBackend, search_indexer: SearchIndexer,
                 redis: RedisGuard | None, tasks: list[asyncio.Task[None]], outages: list[Outage],
                 serve_http: bool) -> None:
        self.settings = settings
        self.storage = storage
        self.bus = bus
        self.clock = clock
        self.instance_id = instance_id
        self.scheduler = scheduler
        self.notifier = notifier
        self.search = search
        self.search_indexer = search_indexer
        self.redis = redis
        self._tasks = tasks
        self._outages = outages
        self._serve_http = serve_http
        self.started = False
        self.components: dict[str, ComponentState] = {name: ComponentState(name) for name in COMPONENTS}
        self.components["search"] = ComponentState("search")

    async def check_search(self) -> bool:
        """Start the search backend if it has not started (templates, aliases, tables) and report it in
        /health: unreachable is `degraded`, not failed: monitoring goes on without search."""
        try:
            async with asyncio.timeout(5):
                await self.search_indexer.ensure_started()
                ok = await self.search.ping()
        except Exception as exc:
            log.warning("search backend unavailable: %s", exc)
            ok = False
        lag = self.search_indexer.lag_detail()
        self.set("search", "running" if ok else "degraded",
                  f"{self.search.description}{lag}" if ok else f"{self.search.description}: not answering")
        return ok

    async def health(self) -> dict[str, Any]:
        if self.started:
            await self.check_search()
        self.set("event_bus", "running" if self.bus.healthy else "failed", type(self.bus).__name__)
        for task in self._tasks:
            if task.done() and task.get_name() in self.components:
                self.set(task.get_name(), "failed", "stopped unexpectedly")
        outages: dict[str, list[Outage]] = {}
        for outage in self.outages():
            if outage.active:
                outages.setdefault(outage.component, []).append(outage)
        for name, state in list(self.components.items()):
            if name in outages and state.state == "running":
                self.set(name, "degraded", "retrying: its backend is unavailable")
            elif name not in outages and state.state == "degraded":
                self.set(name, "running")
        await self._check_database()
        notifier = self.components.get("notifier")
        if notifier is not None and notifier.state == "running":
            notifier.detail = self.notifier.health_detail()  # a failing receiver is news, not a down replica
        if "scheduler" not in outages:
            self._note_saturation()
        components: dict[str, dict[str, Any]] = {
            name: {"status": c.state, "detail": c.detail} for name, c in self.components.items()}
        for name, active in outages.items():
            # Since when, and which loop: an operator sees how long the blip lasts without reading logs.
            components[name]["outages"] = [outage.report() for outage in active]
        counted = [c for c in self.components.values() if c.name not in ("api", "websocket") or self._serve_http]
        status = ("unhealthy" if not all(c.healthy for c in counted)
                  else "degraded" if any(c.state == "degraded" for c in counted) else "healthy")
        return {"status": status, "instance": self.instance_id,
                "mode": "embedded" if self.settings.embedded else "scale-out", "components": components}

    async def _check_database(self) -> None:
        """Failed when it does not answer; degraded when it answers but refuses writes (full disk, read-only)."""
        database_ok = await self.storage.ping()
        DATABASE_UP.set(1 if database_ok else 0)
        write_failure = await self.storage.write_failure() if database_ok else None
        if not database_ok:
            self.set("database", "failed", "not answering")
        elif write_failure is not None:
            self.set("database", "degraded", write_failure)
        else:
            self.set("database", "running", self.describe_database())
        # Scale-out backends beside the core database, shown only when configured.
        metrics_ok = await self.storage.ping_metrics_database()
        if metrics_ok is not None:
            self.set("metrics_database", "running" if metrics_ok else "degraded",
                      "PostgreSQL (METRICS_DATABASE_URL)" if metrics_ok else "not answering")
        if self.redis is not None:
            redis_ok = await self.redis.ping()
            self.set("redis", "running" if redis_ok else "degraded",
                      "alert windows and rate limits shared between replicas" if redis_ok
                      else "not answering: each replica coordinates locally or through the database meanwhile")

    def _note_saturation(self) -> None:
        """The scheduler is degraded while due runs have waited for a free scan worker for a while."""
        scheduler = self.components.get("scheduler")
        if scheduler is None or scheduler.state not in ("running", "degraded"):
            return
        since = self.scheduler.saturated_since
        if since is not None and (self.clock() - since).total_seconds() >= SATURATED_AFTER_SECONDS:
            self.set("scheduler", "degraded",
                      f"due runs have waited for a free scan worker since {since:%Y-%m-%d %H:%M:%S}Z "
                      f"(SCAN_CONCURRENCY={self.settings.scan_concurrency}: raise it or add replicas)")
        elif scheduler.state == "degraded":
            self.set("scheduler", "running")

    async def ready(self) -> bool:
        return (self.started and await self.storage.ping() and await self.storage.write_failure() is None
                and self.bus.healthy)

    async def observe(self) -> None:
        """Bring every gauge up to date (what /metrics calls before Prometheus reads them)."""
        await self.health()
        for queue, depth in self.bus.queue_depths().items():
            QUEUE_DEPTH.labels(queue).set(depth)
        ratio = memory_ratio()
        if ratio is not None:
            PROCESS_MEMORY_RATIO.set(ratio)
        try:
            await self.refresh_gauges()
        except Exception:  # the database away: the config gauges keep their last value, /metrics still answers
            log.debug("config gauges not refreshed: the database is unavailable")

    async def refresh_gauges(self) -> None:
        # Two count(*) scans of the configs table: only at start and when /metrics is scraped, never per
        # config write (a bulk import of N configs would cost N table scans).
        CONFIGS.set(await self.storage.configs.count())
        ACTIVE_CONFIGS.set(await self.storage.configs.count(active_only=True))

    def outages(self) -> list[Outage]:
        """Every background loop's outage tracker (the Kafka bus has one per consumer loop)."""
        bus_outages: list[Outage] = list(getattr(self.bus, "outages", ()))
        return [*self._outages, *bus_outages]

    def describe_database(self) -> str:
        return "PostgreSQL" if self.storage.dialect == "postgresql" else f"SQLite {self.settings.sqlite_path}"

    def set(self, name: str, state: str, detail: str = "") -> None:
        component = self.components.setdefault(name, ComponentState(name))
        component.state, component.detail = state, detail
        COMPONENT_UP.labels(name).set(1 if state in ("running", "degraded") else 0)

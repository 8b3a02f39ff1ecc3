"""MonitoringSystem: the one place that wires every stage from settings.

    system = MonitoringSystem()
    await system.start()
    config_id = await system.add_monitoring_config({...})   # the guide's config format
    ...
    await system.stop()

Which backends run is chosen by settings alone: no DATABASE_URL / KAFKA_SERVERS means one process
with SQLite and the in-process bus (embedded); with them, PostgreSQL and Kafka (scale-out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import uvicorn

from techscaniq import quotas
from techscaniq.alerts import AlertEngine, Notifier
from techscaniq.api.revocation import RevocationList
from techscaniq.bus.memory import InMemoryEventBus
from techscaniq.bus.protocol import EventBus
from techscaniq.changes import ChangeDetector, DetectionPolicy, refresh_false_positive_rate
from techscaniq.coordination import RedisAlertGate, RedisGuard, RedisRateLimiter, create_redis
from techscaniq.domain.common import KNOWN_IDS, REVEAL_SECRETS, new_id
from techscaniq.domain.config import MIN_INTERVAL, MonitoringConfig
from techscaniq.domain.errors import ConfigNotFoundError
from techscaniq.domain.events import Topic
from techscaniq.domain.scan import ScanResult
from techscaniq.observability.logging import configure_logging
from techscaniq.observability.metrics import (
    ACTIVE_CONFIGS,
    COMPONENT_UP,
    CONFIGS,
    DATABASE_UP,
    PROCESS_MEMORY_RATIO,
    QUEUE_DEPTH,
)
from techscaniq.observability.outage import Outage, periodically
from techscaniq.observability.process import memory_ratio
from techscaniq.pipeline.clock import Clock, system_clock
from techscaniq.pipeline.scheduler import Scheduler
from techscaniq.pipeline.stages import AlertStage, ChangeStage, finish_interrupted_work
from techscaniq.pipeline.worker import ScanWorker
from techscaniq.realtime.hub import Credential, RealtimeHub
from techscaniq.scanning.analyzers import build_analyzers
from techscaniq.scanning.browser import browser_status
from techscaniq.scanning.fetch import Fetcher
from techscaniq.scanning.fingerprints.registry import FingerprintRegistry
from techscaniq.scanning.fingerprints.shared_disables import SharedDisables
from techscaniq.scanning.reanalysis import TechnologyReanalyzer
from techscaniq.scanning.scanner import Scanner
from techscaniq.search.factory import create_search_backend, shared_index
from techscaniq.search.indexer import SearchIndexer
from techscaniq.settings import Settings
from techscaniq.storage.factory import create_storage
from techscaniq.storage.protocols import ScanRequest

log = logging.getLogger("techscaniq.system")


class _EmbeddedServer(uvicorn.Server):
    """The system owns SIGINT/SIGTERM: uvicorn must not capture (and later re-raise) them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


# A scheduler waiting this long for free scan workers shows as degraded in /health.
SATURATED_AFTER_SECONDS = 30.0


@dataclass
class ComponentState:
    name: str
    state: str = "stopped"  # stopped | running | degraded | failed
    detail: str = ""

    @property
    def healthy(self) -> bool:
        """Running, or degraded (working, but short of something): /health answers 200 either way."""
        return self.state in ("running", "degraded")


class MonitoringSystem:
    def __init__(self, settings: Settings | None = None, *, clock: Clock = system_clock,
                 serve_http: bool = True, configure_logs: bool = True) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self.instance_id = self.settings.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self._serve_http = serve_http
        self._configure_logs = configure_logs
        self.storage = create_storage(self.settings)
        self.bus: EventBus = self._create_bus()
        self.fetcher = Fetcher(self.settings)
        self.fingerprints = FingerprintRegistry(self.settings)
        self.disabled_patterns = SharedDisables(self.fingerprints, self.storage.custom_fingerprints)
        self.analyzers = build_analyzers(self.settings, self.fingerprints, self.disabled_patterns.share)
        self.scanner = Scanner(self.settings, self.analyzers, self.fetcher)
        self.scheduler = Scheduler(self.storage, self.bus, self.settings, self.instance_id, clock)
        self.worker = ScanWorker(self.storage, self.bus, self.scanner, clock, on_finished=self.scheduler.scan_finished,
                                 min_interval_seconds=self.settings.min_scan_interval_seconds)
        self.change_detector = ChangeDetector(
            self.storage, DetectionPolicy.model_validate(self.settings.change_policy),
            reanalyze=TechnologyReanalyzer(self.storage.scans, self.analyzers[0]),
        )
        lease = self.settings.notification_lease_seconds
        self.notifier = Notifier(self.storage, self.settings, clock=clock, lease_seconds=lease,
                                 send_timeout_seconds=min(150.0, lease / 2))
        # Redis (optional) shares alert windows and rate limits between replicas; keys are namespaced like topics.
        self.redis = RedisGuard(create_redis(self.settings)) if self.settings.redis_url else None
        namespace = self.settings.kafka_topic_prefix
        self.alert_engine = AlertEngine(
            self.storage, self.settings, clock=clock,
            silences=self.storage.silences, on_outbox=self.notifier.wake,
            gate=RedisAlertGate(self.redis, namespace) if self.redis else None,
        )
        self.rate_limiter = RedisRateLimiter(self.redis, prefix=namespace) if self.redis else None
        self.change_stage = ChangeStage(self.storage, self.bus, self.change_detector,
                                        on_finished=self.scheduler.scan_finished)
        self.alert_stage = AlertStage(self.storage, self.bus, self.alert_engine)
        self.realtime = RealtimeHub(self.bus, self._authenticate_websocket, self.instance_id,
                                    max_connections_per_organization=self.settings.websocket_max_connections_per_org,
                                    authenticate_session=self._authenticate_websocket_session)
        # Revoked JWTs: refused at once here, on other replicas after their next reload (30 s).
        self.revocations = RevocationList(self.storage.revoked_tokens, on_revoked=self.realtime.close_revoked)
        self.components: dict[str, ComponentState] = {
            name: ComponentState(name)
            for name in ("database", "event_bus", "scheduler", "scan_worker", "change_detector", "alert_engine",
                         "notifier", "revocations", "fingerprints", "realtime", "api", "websocket")
        }
        # Search: derived data kept current by its own consumer of the pipeline's events (search/indexer.py).
        self.search = create_search_backend(self.settings)
        self.search_indexer = SearchIndexer(self.storage, self.search, clock)
        self.components["search"] = ComponentState("search")
        self._tasks: list[asyncio.Task[None]] = []
        self._servers: dict[str, uvicorn.Server] = {}
        self.ports: dict[str, int] = {}
        self._started = False
        self._custom_fingerprints_seen: datetime | None = None
        self._fingerprints_outage = Outage("fingerprints", "fingerprints")
        self._maintenance_outage = Outage("maintenance", "database")

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        if self._configure_logs:
            configure_logging(self.settings)
        await self.storage.start()
        self._set("database", "running", self._describe_database())
        if self.settings.embedded:
            # One process owns every lease: whatever a previous run had claimed is free again. Not with
            # PostgreSQL: other replicas may share the database, and their leases expire on their own.
            await self.storage.configs.release_leases()
            await self.storage.scan_requests.release_leases()
            await self.storage.deliveries.release_leases()  # an in-flight send need not wait out its lease
        self.bus.subscribe(Topic.SCAN_REQUESTED, "scan-workers", self.worker.handle,
                           concurrency=self.settings.scan_concurrency)
        # Per-config order matters from here on (history, throttles): sharded by config id.
        self.bus.subscribe(Topic.SCAN_COMPLETED, "change-detector", self.change_stage.handle, concurrency=4)
        self.bus.subscribe(Topic.CHANGE_DETECTED, "alert-engine", self.alert_stage.handle, concurrency=4)
        self.search_indexer.subscribe(
            self.bus, "search-indexer" if shared_index(self.settings) else f"search-{self.instance_id}")
        await self.bus.start()
        self._set("event_bus", "running", type(self.bus).__name__)
        # Compile the fingerprint database before the first scan needs it (it holds the GIL a moment).
        await asyncio.to_thread(self.fingerprints.engine)
        await self.sync_custom_fingerprints()
        await self.revocations.refresh()
        if self.settings.in_process_bus:
            # No broker kept the events a crash lost: the database's pending stages are the only record.
            await finish_interrupted_work(self.storage, self.change_stage, self.alert_stage)
        self._spawn("scheduler", self.scheduler.run())
        # Maintenance failing must not stop monitoring; custom fingerprints arrive within 30 s.
        self._tasks.append(asyncio.create_task(periodically(self._maintenance_outage, 3600, self.storage.maintain),
                                               name="maintenance"))
        self._spawn("fingerprints", periodically(self._fingerprints_outage, 30.0, self.sync_custom_fingerprints))
        self._spawn("revocations", self.revocations.run())
        self._spawn("notifier", self.notifier.run())
        self._set("scan_worker", "running", f"concurrency {self.settings.scan_concurrency}")
        self._set("change_detector", "running")
        self._set("alert_engine", "running")
        self._set("realtime", "running")
        self._set("browser", "running", browser_status(self.settings.browser_executable))
        await self.check_search()
        if self._serve_http:
            from techscaniq.api.app import create_app

            await self._serve("api", create_app(self, self.rate_limiter), self.settings.http_port)
            await self._serve("websocket", self.realtime.app, self.settings.websocket_port)
        await self.refresh_gauges()
        await refresh_false_positive_rate(self.storage.changes)
        self._started = True
        log.info("monitoring system started (%s)", "embedded" if self.settings.embedded else "scale-out")

    async def stop(self) -> None:
        """Graceful: no new runs are claimed, in-flight scans get the grace period to finish; a scan
        cut off keeps its lease in storage and runs again after restart. Nothing stored is lost."""
        if not self._started:
            return
        self.scheduler.stop()
        self.notifier.stop()
        for server in self._servers.values():
            server.should_exit = True
        grace = self.settings.shutdown_grace_seconds
        self.worker.stopping = True
        await self.bus.stop(drain_seconds=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._servers.clear()
        await self.fetcher.aclose()
        await self.search_indexer.close()
        await self.notifier.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self._release_claims()
        await self.storage.close()
        for state in self.components.values():
            state.state = "stopped"
        self._started = False
        log.info("monitoring system stopped")

    async def _release_claims(self) -> None:
        """Runs and scan-now requests this process claimed but will not do are due again at once (for another
        replica, or the next start), instead of after their lease (2 minutes by default)."""
        try:
            released = (await self.storage.configs.release_leases(self.instance_id)
                        + await self.storage.scan_requests.release_leases(self.instance_id))
        except Exception as exc:  # the database may be what is going away: the leases then expire on their own
            log.warning("could not release claims on stop (%s): they expire after their lease", type(exc).__name__)
            return
        if released:
            log.info("released %d claimed runs this process will not do", released)

    async def __aenter__(self) -> MonitoringSystem:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # ---- configs -------------------------------------------------------------------------

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
        self.scheduler.wake()
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
        self.scheduler.wake()
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
        self.scheduler.wake()
        if not wait:
            return request.id
        async with asyncio.timeout(wait_seconds):
            # Polling storage (not an in-process event) works whichever replica runs the scan.
            while (scan := await self.storage.scans.get(request.id)) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        return scan

    async def set_custom_fingerprints(self, organization_id: str, technologies: dict[str, Any] | None) -> list[str]:
        """Replace an organization's own fingerprints (None removes them); every replica picks them up.
        Returns warnings about skipped entries; a document that is not a JSON object raises ValueError."""
        if isinstance(technologies, dict):
            quotas.check_custom_fingerprints(len(technologies), self.settings)
        # Parsing and compiling a tenant's regexes is CPU work: off the event loop.
        at = self.clock()
        warnings = await asyncio.to_thread(self.fingerprints.set_custom, organization_id, technologies, at)
        await self.storage.custom_fingerprints.put(organization_id, technologies or {}, at)
        return warnings

    async def sync_custom_fingerprints(self) -> int:
        """Load the custom fingerprints other replicas (or a previous run) stored; returns how many changed."""
        changed = await self.storage.custom_fingerprints.changed_since(self._custom_fingerprints_seen)
        for organization_id, technologies, updated_at in changed:
            warnings = await asyncio.to_thread(self.fingerprints.set_custom, organization_id, technologies or None,
                                               updated_at)
            for warning in warnings:
                log.warning("custom fingerprints of %s: %s", organization_id, warning)
            self._custom_fingerprints_seen = max(self._custom_fingerprints_seen or updated_at, updated_at)
        await self.disabled_patterns.load()  # patterns any replica found over their budget stop running here too
        return len(changed)

    async def _search_site(self, organization_id: str, config_id: str) -> None:
        """Re-index one site after a config write. Search is derived data: its failure never fails the write
        (the site is indexed again at its next scan, or by `techscaniq search reindex`)."""
        try:
            await self.search_indexer.index_site(config_id, organization_id)
        except Exception as exc:
            log.warning("search index not updated for config %s (%s)", config_id, type(exc).__name__)

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
        self._set("search", "running" if ok else "degraded",
                  f"{self.search.description}{lag}" if ok else f"{self.search.description}: not answering")
        return ok

    async def next_run_at(self, config_id: str) -> datetime | None:
        return await self.storage.configs.next_run_at(config_id)

    # ---- health --------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        if self._started:
            await self.check_search()
        self._set("event_bus", "running" if self.bus.healthy else "failed", type(self.bus).__name__)
        for task in self._tasks:
            if task.done() and task.get_name() in self.components:
                self._set(task.get_name(), "failed", "stopped unexpectedly")
        outages: dict[str, list[Outage]] = {}
        for outage in self.outages():
            if outage.active:
                outages.setdefault(outage.component, []).append(outage)
        for name, state in list(self.components.items()):
            if name in outages and state.state == "running":
                self._set(name, "degraded", "retrying: its backend is unavailable")
            elif name not in outages and state.state == "degraded":
                self._set(name, "running")
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
            self._set("database", "failed", "not answering")
        elif write_failure is not None:
            self._set("database", "degraded", write_failure)
        else:
            self._set("database", "running", self._describe_database())
        # Scale-out backends beside the core database, shown only when configured.
        metrics_ok = await self.storage.ping_metrics_database()
        if metrics_ok is not None:
            self._set("metrics_database", "running" if metrics_ok else "degraded",
                      "PostgreSQL (METRICS_DATABASE_URL)" if metrics_ok else "not answering")
        if self.redis is not None:
            redis_ok = await self.redis.ping()
            self._set("redis", "running" if redis_ok else "degraded",
                      "alert windows and rate limits shared between replicas" if redis_ok
                      else "not answering: each replica coordinates locally or through the database meanwhile")

    def _note_saturation(self) -> None:
        """The scheduler is degraded while due runs have waited for a free scan worker for a while."""
        scheduler = self.components.get("scheduler")
        if scheduler is None or scheduler.state not in ("running", "degraded"):
            return
        since = self.scheduler.saturated_since
        if since is not None and (self.clock() - since).total_seconds() >= SATURATED_AFTER_SECONDS:
            self._set("scheduler", "degraded",
                      f"due runs have waited for a free scan worker since {since:%Y-%m-%d %H:%M:%S}Z "
                      f"(SCAN_CONCURRENCY={self.settings.scan_concurrency}: raise it or add replicas)")
        elif scheduler.state == "degraded":
            self._set("scheduler", "running")

    async def ready(self) -> bool:
        return (self._started and await self.storage.ping() and await self.storage.write_failure() is None
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

    # ---- internals -----------------------------------------------------------------------

    def outages(self) -> list[Outage]:
        """Every background loop's outage tracker (the Kafka bus has one per consumer loop)."""
        bus_outages: list[Outage] = list(getattr(self.bus, "outages", ()))
        return [self.scheduler.outage, self.notifier.outage, self.revocations.outage, self._fingerprints_outage,
                self._maintenance_outage, *bus_outages]

    def _create_bus(self) -> EventBus:
        if self.settings.kafka_servers:
            from techscaniq.bus.kafka import KafkaEventBus

            return KafkaEventBus(self.settings)
        return InMemoryEventBus(queue_size=self.settings.bus_queue_size)

    def _describe_database(self) -> str:
        return "PostgreSQL" if self.storage.dialect == "postgresql" else f"SQLite {self.settings.sqlite_path}"

    def _set(self, name: str, state: str, detail: str = "") -> None:
        component = self.components.setdefault(name, ComponentState(name))
        component.state, component.detail = state, detail
        COMPONENT_UP.labels(name).set(1 if state in ("running", "degraded") else 0)

    def _spawn(self, name: str, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.append(task)
        self._set(name, "running")

    async def _serve(self, name: str, app: Any, port: int) -> None:
        # We bind the socket ourselves: a port in use is then a clear component failure, not an exit.
        try:
            sock = socket.create_server((self.settings.host, port), reuse_port=False)
        except OSError as exc:
            self._set(name, "failed", f"cannot listen on {self.settings.host}:{port}: {exc.strerror}")
            log.error("%s server cannot listen on port %s: %s", name, port, exc)
            return
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", ws_ping_interval=20)
        server = _EmbeddedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{name}-server")
        while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn offers no started event)
            await asyncio.sleep(0.01)
        self._tasks.append(task)
        self._servers[name] = server
        self.ports[name] = sock.getsockname()[1]
        self._set(name, "running", f"http://{self.settings.host}:{self.ports[name]}")

    async def _authenticate_websocket(self, token: str | None) -> Credential | None:
        from techscaniq.accounts.authentication import credential_of_token

        return await credential_of_token(self, token)

    async def _authenticate_websocket_session(self, cookie: str) -> Credential | None:
        from techscaniq.accounts.authentication import websocket_session

        return await websocket_session(self, cookie)

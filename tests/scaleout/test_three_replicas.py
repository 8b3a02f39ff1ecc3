"""Three real replicas (subprocesses) on one PostgreSQL, Kafka and Redis, 500 configs on local sites.

Every site changes once; one replica is killed (SIGKILL) while the changed sites are being scanned. What a
user must see: each site's change is alerted and notified once, no run is scanned twice, nothing is lost
with the dead replica, and a dashboard connected to one replica sees scans the others did."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from pydantic import SecretStr
from tests.scaleout.replicas import Replica, replicas, start_all, stop_all
from tests.support.services import service_url
from tests.support.testsite import LocalSite
from tests.support.waiting import eventually

from techscaniq.api.auth import create_token
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import MonitoringConfig
from techscaniq.pipeline.schedule import next_run_after
from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema, plain_postgres_url
from techscaniq.storage.sql import SqlStorage

CONFIGS = 500
SITES = 5  # servers; each serves CONFIGS / SITES pages
INTERVAL_SECONDS = 20  # every config runs this often, spread evenly (jitter) over the interval
ORGANIZATION = "org-scale"
PAGE = "<html><head><title>Shop {index}</title></head><body><h1>Shop</h1>{scripts}</body></html>"
JQUERY = '<script src="/static/js/jquery-3.6.0.min.js"></script>'
RATE_LIMIT = 20  # requests per minute per credential, shared by all replicas through Redis
SCAN_CONCURRENCY = 8


def monitoring_config(index: int, url: str, hook: str) -> MonitoringConfig:
    now = utcnow()
    return MonitoringConfig.model_validate({
        "id": f"cfg-{index:03d}", "organization_id": ORGANIZATION, "name": f"Shop {index}", "url": url,
        "schedule": {"type": "interval", "expression": f"{INTERVAL_SECONDS}s", "jitter_seconds": INTERVAL_SECONDS},
        "scan_config": {"technologies": True, "performance": False, "security": False},
        "alert_rules": [{
            "id": "tech", "name": "Technology change", "severity": "medium",
            "conditions": {"type": "technology", "change_types": ["added", "removed"], "min_impact": "low"},
            "notification_channels": [{"type": "webhook", "url": hook}], "throttle_minutes": 60,
        }],
        "created_at": now, "updated_at": now,
    })


class Fleet:
    """The local sites, the webhook receiver and what the test reads from the shared database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = plain_postgres_url(database_url)
        self.sites = [LocalSite() for _ in range(SITES)]
        self.receiver = LocalSite()
        self.pages: dict[str, tuple[LocalSite, str]] = {}  # config id -> (site, path)

    async def start(self) -> None:
        for site in (*self.sites, self.receiver):
            await site.start()
        self.receiver.route("/hook", status=204)
        for index in range(CONFIGS):
            site, path = self.sites[index % SITES], f"/shop/{index}"
            site.route(path, body=PAGE.format(index=index, scripts=""))
            self.pages[f"cfg-{index:03d}"] = (site, path)

    def change_every_site(self) -> None:
        for index, (site, path) in enumerate(self.pages.values()):
            site.route(path, body=PAGE.format(index=index, scripts=JQUERY))

    async def close(self) -> None:
        for site in (*self.sites, self.receiver):
            await site.close()

    def fetches(self) -> dict[str, Counter[str]]:
        """Per config: page requests by the User-Agent (replica) that made them."""
        by_path = {(site.port, path): config_id for config_id, (site, path) in self.pages.items()}
        counts: dict[str, Counter[str]] = {config_id: Counter() for config_id in self.pages}
        for site in self.sites:
            for request in site.requests:
                config_id = by_path.get((site.port, request.path))
                if config_id is not None:
                    counts[config_id][request.headers.get("user-agent", "")] += 1
        return counts

    def notifications(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.receiver.requests if r.path == "/hook"]

    async def query(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


@pytest.mark.timeout(300)
async def test_three_replicas_scan_each_run_once_alert_each_change_once_and_survive_a_kill(
    settings: Settings, fresh_database_url: str, metrics_url: str, tmp_path: Path
) -> None:
    jwt_secret = uuid.uuid4().hex
    shared = settings.model_copy(update={
        "database_url": fresh_database_url, "metrics_database_url": metrics_url,
        "kafka_servers": service_url("KAFKA_SERVERS"), "redis_url": service_url("REDIS_URL"),
        "kafka_topic_prefix": f"t{uuid.uuid4().hex[:10]}.", "jwt_secret_key": SecretStr(jwt_secret),
    })
    env = {
        "DATABASE_URL": fresh_database_url, "METRICS_DATABASE_URL": metrics_url,
        "KAFKA_SERVERS": shared.kafka_servers or "", "REDIS_URL": shared.redis_url or "",
        "KAFKA_TOPIC_PREFIX": shared.kafka_topic_prefix, "JWT_SECRET_KEY": jwt_secret,
        # Short leases: a dead replica's claims come back quickly.
        "SCHEDULER_LEASE_SECONDS": "10", "NOTIFICATION_LEASE_SECONDS": "10", "SCAN_CONCURRENCY": str(SCAN_CONCURRENCY),
        "PER_HOST_CONCURRENCY": str(SCAN_CONCURRENCY), "SHUTDOWN_GRACE_SECONDS": "15",
        "RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT), "LOG_LEVEL": "WARNING",
    }
    # The schemas once, before the replicas race to apply them.
    storage = SqlStorage(shared)
    await storage.start()
    await apply_metrics_schema(metrics_url)
    fleet = Fleet(fresh_database_url)
    await fleet.start()
    group = replicas(3, tmp_path, env)
    watcher, victim = group[0], group[2]
    try:
        await start_all(group)
        await _each_replica_has_its_own_identity_and_they_share_rate_limits(group, shared)

        hook = fleet.receiver.url("/hook")
        for index, (config_id, (site, path)) in enumerate(fleet.pages.items()):
            config = monitoring_config(index, site.url(path), hook)
            assert config.id == config_id
            # The first run at the config's phase in the interval: the fleet's load is spread from the start.
            await storage.configs.add(config, next_run_at=next_run_after(
                config.schedule, config.id, config.created_at - timedelta(microseconds=1), anchor=config.created_at))

        received: list[dict[str, Any]] = []
        token = create_token(shared, ORGANIZATION)
        async with websockets.connect(f"ws://127.0.0.1:{watcher.websocket_port}/ws?token={token}") as socket:
            assert json.loads(await socket.recv())["type"] == "welcome"
            listening = asyncio.create_task(_collect(socket, received))
            connected_at = utcnow()

            async def every_site_has_a_baseline() -> bool:
                rows = await fleet.query("SELECT count(DISTINCT config_id) FROM scans WHERE changes_done")
                return bool(rows[0][0] == CONFIGS)

            await eventually(every_site_has_a_baseline, within=120, every=0.5)
            changed_at = utcnow()
            fleet.change_every_site()

            async def a_third_of_the_changes_scanned() -> bool:
                rows = await fleet.query("SELECT count(*) FROM scans WHERE started_at > $1", changed_at)
                return bool(rows[0][0] >= CONFIGS // 3)

            await eventually(a_third_of_the_changes_scanned, within=120, every=0.2)
            victim.kill()
            killed_at = utcnow()

            async def every_change_notified() -> bool:
                return len({n["monitor"]["config_id"] for n in fleet.notifications()}) == CONFIGS

            try:
                await eventually(every_change_notified, within=150, every=0.5)
            except TimeoutError:
                raise AssertionError(await _diagnose(fleet, changed_at)) from None
            await _quiesce(fleet)
            listening.cancel()
    finally:
        stop_all(group)
        await storage.close()
        await fleet.close()

    await _assert_outcome(fleet, group, victim, received, connected_at, changed_at, killed_at)


async def _assert_outcome(fleet: Fleet, group: list[Replica], victim: Replica, received: list[dict[str, Any]],
                          connected_at: Any, changed_at: Any, killed_at: Any) -> None:
    scans = await fleet.query("SELECT id, config_id, scheduled_for, started_at, status FROM scans")
    stored = Counter(row["config_id"] for row in scans)
    runs = Counter((row["config_id"], row["scheduled_for"]) for row in scans)
    assert max(runs.values()) == 1 and all(row["scheduled_for"] is not None for row in scans)
    assert set(stored) == set(fleet.pages)

    # Exactly once: a site was fetched once per stored scan. The only exception allowed: a run the
    # killed replica was fetching when it died, which a survivor then scanned again (at most its concurrency).
    fetches = fleet.fetches()
    refetched = {config_id for config_id, by in fetches.items() if sum(by.values()) != stored[config_id]}
    assert all(sum(fetches[c].values()) == stored[c] + 1 for c in refetched), {
        c: (dict(fetches[c]), stored[c]) for c in refetched}
    assert len(refetched) <= SCAN_CONCURRENCY
    assert all(victim.user_agent in fetches[c] for c in refetched), {
        c: (dict(fetches[c]), sorted((str(r["scheduled_for"]), str(r["started_at"]), r["status"]) for r in scans
                                     if r["config_id"] == c)) for c in refetched}
    scanned_by = Counter(agent for by in fetches.values() for agent in by.elements())
    assert all(scanned_by[replica.user_agent] > 0 for replica in group), scanned_by  # all three did work

    # One alert and one notification per change, none lost with the dead replica.
    alerts = await fleet.query("SELECT config_id, dedupe_key FROM alerts")
    assert Counter(row["config_id"] for row in alerts) == Counter({config_id: 1 for config_id in fleet.pages})
    notifications = fleet.notifications()
    per_config = Counter(n["monitor"]["config_id"] for n in notifications)
    deliveries = {(n["monitor"]["config_id"], n["delivery_id"]) for n in notifications}
    assert len(deliveries) == CONFIGS and set(per_config) == set(fleet.pages)
    # At-least-once delivery: a webhook the victim sent but could not record may come again, same delivery id.
    assert sum(per_config.values()) - CONFIGS <= SCAN_CONCURRENCY
    assert all(n["event"] == "alert.triggered" and n["changes"][0]["subject"] == "jQuery" for n in notifications)
    pending = await fleet.query("SELECT count(*) FROM scans WHERE NOT (changes_done AND alerts_done)")
    assert pending[0][0] == 0  # every stage of every stored scan ran

    # The survivors took over: changed sites were scanned after the kill, by the survivors only.
    late = await fleet.query("SELECT count(*) FROM scans WHERE started_at > $1", killed_at)
    assert late[0][0] > 0

    # The dashboard on replica r0 saw every scan stored after it connected, whoever did it.
    live = {m["data"]["scan_id"] for m in received if m["type"] == "scan.completed"}
    expected = {row["id"] for row in scans if row["started_at"] > connected_at + timedelta(seconds=1)}
    assert expected and expected <= live, len(expected - live)
    others = {c for c, by in fleet.fetches().items() if set(by) - {group[0].user_agent}}
    assert others & {m["config_id"] for m in received if m["type"] == "scan.completed"}
    assert changed_at < killed_at


async def _diagnose(fleet: Fleet, changed_at: Any) -> str:
    """What the test saw of the configs whose change was never notified."""
    notified = {n["monitor"]["config_id"] for n in fleet.notifications()}
    missing = sorted(set(fleet.pages) - notified)
    lines = [f"{len(missing)} changes not notified, e.g. {missing[:5]}"]
    for config_id in missing[:5]:
        config = await fleet.query("SELECT next_run_at, lease_owner, lease_until FROM monitoring_configs WHERE id = $1",
                                   config_id)
        scans = await fleet.query("SELECT started_at, changes_done, alerts_done FROM scans WHERE config_id = $1 "
                                  "AND started_at > $2", config_id, changed_at)
        deliveries = await fleet.query("SELECT d.status, d.lease_until, d.next_attempt_at FROM deliveries d "
                                       "JOIN alerts a ON a.id = d.alert_id WHERE a.config_id = $1", config_id)
        lines.append(f"{config_id}: config {[dict(r) for r in config]} scans after change {[dict(r) for r in scans]}"
                     f" deliveries {[dict(r) for r in deliveries]} fetches {dict(fleet.fetches()[config_id])}")
    return "\n".join(lines)


async def _quiesce(fleet: Fleet) -> None:
    """No further runs (queued requests for them are skipped); then wait until the scans and deliveries in
    flight are done, so that what the sites, the receiver and the database saw can be compared exactly."""
    await fleet.query("UPDATE monitoring_configs SET next_run_at = NULL")
    previous: tuple[int, ...] = ()

    async def settled() -> bool:
        nonlocal previous
        rows = await fleet.query("SELECT count(*), count(*) FILTER (WHERE NOT (changes_done AND alerts_done)) "
                                 "FROM scans")
        state = (sum(sum(by.values()) for by in fleet.fetches().values()), len(fleet.notifications()), rows[0][0])
        done, previous = rows[0][1] == 0 and state == previous, state
        return done

    await eventually(settled, within=60, every=1.5)


async def _collect(socket: Any, into: list[dict[str, Any]]) -> None:
    async for text in socket:
        into.append(json.loads(text))


async def _each_replica_has_its_own_identity_and_they_share_rate_limits(group: list[Replica],
                                                                        shared: Settings) -> None:
    token = create_token(shared, ORGANIZATION, subject="rate-probe")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=5.0) as client:
        instances = {(await client.get(f"{r.api}/health", headers=headers)).json()["instance"] for r in group}
        assert len(instances) == len(group)  # default INSTANCE_ID (hostname-pid): unique per replica
        statuses = [(await client.get(f"{group[i % len(group)].api}/api/v1/configs", headers=headers)).status_code
                    for i in range(RATE_LIMIT + 3)]
    # One budget for the credential across the replicas (Redis), not one per replica.
    assert statuses[:RATE_LIMIT] == [200] * RATE_LIMIT and set(statuses[RATE_LIMIT:]) == {429}, statuses

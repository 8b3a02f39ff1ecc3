"""End-to-end benchmark: embedded versus scale-out (PostgreSQL + Kafka + Redis) with 1 and 3 replicas.

    eval "$(bash scripts/services.sh start --env)"
    .venv/bin/python -m bench.bench_end_to_end [--configs 200] [--sites 10] [--modes embedded,scale-out-1,scale-out-3]

Each mode runs real replicas (`python start_monitoring_system.py` subprocesses) against local sites on
127.0.0.1. N configs are added through the HTTP API; their first (baseline) scans run at once. Then every
site changes and every config is scanned on demand (POST /api/v1/configs/{id}/scan, spread over the
replicas): each scan finds a technology added, raises one alert and sends one webhook to a local receiver.

Reported per mode, with ratios against embedded (the reference, measured in the same run):
- scans/s: N / (first scan request -> last scan stored), the pipeline's scanning throughput;
- end-to-end/s: N / (first scan request -> last webhook received), scan + change + alert + notification;
- scan-to-notification latency p50/p99: scan finished (finished_at, stored) -> webhook received.
Scale-out modes skip (with a message) when DATABASE_URL, KAFKA_SERVERS or REDIS_URL is not set."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from tests.scaleout.replicas import Replica, replicas, start_all, stop_all
from tests.support.databases import fresh_database
from tests.support.testsite import LocalSite, ReceivedRequest, Route

from techscaniq.api.auth import create_token
from techscaniq.settings import Settings
from techscaniq.storage.metrics_schema import apply_metrics_schema
from techscaniq.storage.sql import SqlStorage

ORGANIZATION = "org-bench"
PAGE = "<html><head><title>Shop {index}</title>{meta}</head><body><h1>Shop</h1>{scripts}</body></html>"
WORDPRESS = '<meta name="generator" content="WordPress 6.4">'
JQUERY = '<script src="/static/js/jquery-3.6.0.min.js"></script>'
JWT_SECRET = uuid.uuid4().hex
PACED_RATE = 4.0  # scans requested per second in the latency phase


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Receiver:
    """The webhook receiver: records when each config's alert about jQuery, then about WordPress, arrived."""

    def __init__(self) -> None:
        self.site = LocalSite()
        self.arrivals: dict[str, dict[str, tuple[float, str]]] = {"jQuery": {}, "WordPress": {}}
        # (change detected, alert triggered) per config, from the webhook body: where the time goes.
        self.stages: dict[str, dict[str, tuple[float, float]]] = {"jQuery": {}, "WordPress": {}}

    async def start(self) -> str:
        await self.site.start()
        self.site.set("/hook", self._hook)
        return self.site.url("/hook")

    def _hook(self, request: ReceivedRequest) -> Route:
        body = json.loads(request.body)
        if body["event"] == "alert.triggered":
            subjects = {change["subject"] for change in body["changes"]}
            phase, config_id = "jQuery" if "jQuery" in subjects else "WordPress", body["monitor"]["config_id"]
            self.arrivals[phase].setdefault(config_id, (time.time(), body["alert"]["scan_id"]))
            detected = datetime.fromisoformat(body["changes"][0]["detected_at"]).timestamp()
            triggered = datetime.fromisoformat(body["alert"]["triggered_at"]).timestamp()
            self.stages[phase].setdefault(config_id, (detected, triggered))
        return Route(status=204)


async def run_mode(name: str, count: int, env: dict[str, str], root: Path, configs: int,
                   sites: list[LocalSite], paced: int) -> dict[str, Any]:
    receiver = Receiver()
    hook = await receiver.start()
    group = replicas(count, root / name, env)
    pages = [(sites[i % len(sites)], f"/shop/{name}/{i}") for i in range(configs)]
    for index, (site, path) in enumerate(pages):
        site.route(path, body=PAGE.format(index=index, meta="", scripts=""))
    token = create_token(Settings(jwt_secret_key=SecretStr(JWT_SECRET)), ORGANIZATION)
    try:
        started = time.monotonic()
        await start_all(group)
        startup = time.monotonic() - started
        async with httpx.AsyncClient(timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as client:
            ids = await _add_configs(client, group, pages, hook)
            await _wait(lambda: _baselines_done(sites, pages), within=300)
            await asyncio.sleep(1.0)  # the baselines' change stage (compared before the sites change)
            for index, (site, path) in enumerate(pages):
                site.route(path, body=PAGE.format(index=index, meta="", scripts=JQUERY))
            first_request = time.time()
            limit = asyncio.Semaphore(20)

            async def scan(index: int, config_id: str) -> None:
                async with limit:
                    replica = group[index % len(group)]
                    response = await client.post(f"{replica.api}/api/v1/configs/{config_id}/scan")
                    response.raise_for_status()

            await asyncio.gather(*(scan(i, c) for i, c in enumerate(ids)))
            burst = receiver.arrivals["jQuery"]
            await _wait(lambda: asyncio.sleep(0, len(burst) >= configs), within=300)
            burst_finished = await _finished_times(client, group, burst)

            # Paced: the sites change again (WordPress) and scans are requested at PACED_RATE, below every mode's
            # capacity, so the latency is the pipeline's own, not time spent queued behind a burst.
            for index, (site, path) in enumerate(pages):
                site.route(path, body=PAGE.format(index=index, meta=WORDPRESS, scripts=JQUERY))
            paced_ids = ids[:paced]
            for index, config_id in enumerate(paced_ids):
                await scan(index, config_id)
                await asyncio.sleep(1 / PACED_RATE)
            calm = receiver.arrivals["WordPress"]
            await _wait(lambda: asyncio.sleep(0, len(calm) >= len(paced_ids)), within=120)
            calm_finished = await _finished_times(client, group, calm)
    finally:
        stop_all(group)
        await receiver.site.close()
    queued = [burst[c][0] - burst_finished[c] for c in ids]
    own = [calm[c][0] - calm_finished[c] for c in paced_ids]

    def hops(phase: str, finished: dict[str, float]) -> str:
        """p50 ms of scan finished -> change detected -> alert triggered -> webhook received."""
        arrivals, stages = receiver.arrivals[phase], receiver.stages[phase]
        steps = [[stages[c][0] - finished[c], stages[c][1] - stages[c][0], arrivals[c][0] - stages[c][1]]
                 for c in finished]
        return " / ".join(f"{1000 * statistics.median(step):.0f}" for step in zip(*steps, strict=True))

    return {
        "mode": name, "replicas": count, "startup_s": startup,
        "scans_per_s": configs / (max(burst_finished.values()) - first_request),
        "end_to_end_per_s": configs / (max(at for at, _ in burst.values()) - first_request),
        "burst_p50_ms": 1000 * statistics.median(queued), "burst_p99_ms": 1000 * percentile(queued, 0.99),
        "latency_p50_ms": 1000 * statistics.median(own), "latency_p99_ms": 1000 * percentile(own, 0.99),
        "burst_hops": hops("jQuery", burst_finished), "paced_hops": hops("WordPress", calm_finished),
    }


async def _add_configs(client: httpx.AsyncClient, group: list[Replica], pages: list[tuple[LocalSite, str]],
                       hook: str) -> list[str]:
    async def add(index: int, site: LocalSite, path: str) -> str:
        config = {
            "organization_id": ORGANIZATION, "name": f"Shop {index}", "url": site.url(path),
            "schedule": {"type": "interval", "expression": "1h"},
            "scan_config": {"technologies": True, "performance": True, "security": False},
            "alert_rules": [{
                "id": "tech", "name": "Technology change", "severity": "medium",
                "conditions": {"type": "technology", "change_types": ["added"], "min_impact": "low"},
                "notification_channels": [{"type": "webhook", "url": hook}],
            }],
        }
        response = await client.post(f"{group[index % len(group)].api}/api/v1/configs", json=config)
        response.raise_for_status()
        return str(response.json()["id"])

    ids = []
    for batch in range(0, len(pages), 20):
        ids += await asyncio.gather(*(add(i, *pages[i]) for i in range(batch, min(batch + 20, len(pages)))))
    return ids


async def _baselines_done(sites: list[LocalSite], pages: list[tuple[LocalSite, str]]) -> bool:
    fetched = {(r.path) for site in sites for r in site.requests}
    return all(path in fetched for _, path in pages)


async def _finished_times(client: httpx.AsyncClient, group: list[Replica],
                          arrivals: dict[str, tuple[float, str]]) -> dict[str, float]:
    async def one(index: int, config_id: str, scan_id: str) -> tuple[str, float]:
        response = await client.get(f"{group[index % len(group)].api}/api/v1/scans/{scan_id}")
        response.raise_for_status()
        return config_id, datetime.fromisoformat(response.json()["finished_at"]).timestamp()

    items = list(arrivals.items())
    return dict(await asyncio.gather(*(one(i, c, scan) for i, (c, (_, scan)) in enumerate(items))))


async def _wait(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not finish in time")
        await asyncio.sleep(0.1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=200)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--paced", type=int, default=40, help="scans in the latency phase (at 4 per second)")
    parser.add_argument("--modes", default="embedded,scale-out-1,scale-out-3")
    args = parser.parse_args()
    common = {"JWT_SECRET_KEY": JWT_SECRET, "LOG_LEVEL": "WARNING", "PER_HOST_CONCURRENCY": "20",
              "RATE_LIMIT_PER_MINUTE": "1000000", "ORGANIZATION_RATE_LIMIT_PER_MINUTE": "1000000"}
    services = {name: os.environ.get(name) for name in ("DATABASE_URL", "METRICS_DATABASE_URL", "KAFKA_SERVERS",
                                                         "REDIS_URL")}
    sites = [LocalSite() for _ in range(args.sites)]
    for site in sites:
        await site.start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as root:
            for mode in args.modes.split(","):
                if mode == "embedded":
                    results.append(await run_mode(mode, 1, common, Path(root), args.configs, sites, args.paced))
                    continue
                if not all(services.values()):
                    print(f"{mode}: skipped (start the services: eval \"$(bash scripts/services.sh start --env)\")")
                    continue
                count = int(mode.rsplit("-", 1)[1])
                results.append(await _scale_out(mode, count, common, services, Path(root), args.configs, sites,
                                                args.paced))
    finally:
        for site in sites:
            await site.close()
    _report(results, args.configs)


async def _scale_out(mode: str, count: int, common: dict[str, str], services: dict[str, str | None], root: Path,
                     configs: int, sites: list[LocalSite], paced: int) -> dict[str, Any]:
    async with fresh_database(services["DATABASE_URL"] or "", "bench") as core, \
            fresh_database(services["METRICS_DATABASE_URL"] or "", "bench") as metrics:
        storage = SqlStorage(Settings(database_url=core))
        await storage.start()  # the schema once, before the replicas start
        await storage.close()
        await apply_metrics_schema(metrics)
        env = {**common, "DATABASE_URL": core, "METRICS_DATABASE_URL": metrics,
               "KAFKA_SERVERS": services["KAFKA_SERVERS"] or "", "REDIS_URL": services["REDIS_URL"] or "",
               "KAFKA_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:8]}."}
        return await run_mode(mode, count, env, root, configs, sites, paced)


def _report(results: list[dict[str, Any]], configs: int) -> None:
    reference = next((r for r in results if r["mode"] == "embedded"), None)
    print(f"burst of {configs} scans (throughput, latency including queueing); paced scans (latency)")
    print(f"{'mode':<12} {'scans/s':>8} {'e2e/s':>6} {'burst p50/p99 ms':>17} {'paced p50/p99 ms':>17} "
          f"{'startup s':>9}  vs embedded: scans/s, e2e/s, paced p50")
    for r in results:
        ratios = ""
        if reference is not None:
            ratios = "  ".join(f"{r[k] / reference[k]:.2f}x" for k in ("scans_per_s", "end_to_end_per_s",
                                                                          "latency_p50_ms"))
        burst = f"{r['burst_p50_ms']:.0f}/{r['burst_p99_ms']:.0f}"
        paced = f"{r['latency_p50_ms']:.0f}/{r['latency_p99_ms']:.0f}"
        print(f"{r['mode']:<12} {r['scans_per_s']:>8.1f} {r['end_to_end_per_s']:>6.1f} {burst:>17} {paced:>17} "
              f"{r['startup_s']:>9.1f}  {ratios}")
    print("p50 ms of scan finished -> change detected / -> alert triggered / -> webhook received")
    for r in results:
        print(f"{r['mode']:<12} burst {r['burst_hops']:<20} paced {r['paced_hops']}")


if __name__ == "__main__":
    asyncio.run(main())

"""Metrics ingest benchmark: MetricsStoreRepository.add against row-by-row INSERT, same run, same database.

    eval "$(bash scripts/services.sh start --env)"
    .venv/bin/python -m bench.bench_metrics_ingest [--points 200000]

Two batch sizes: a scan's points (25, what the scan worker writes: one INSERT from arrays) and a bulk load
(5,000 points per call: COPY through a temp table). All paths are idempotent (ON CONFLICT DO NOTHING on the same
key) and write into the same schema (002_timescale_metrics.sql) in a fresh database on the server of
METRICS_DATABASE_URL. Reference: asyncpg executemany of a plain INSERT, one batch per call, interleaved with
ours in ten rounds."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from techscaniq.storage.metrics_schema import apply_metrics_schema, plain_postgres_url
from techscaniq.storage.metrics_store import MetricsStoreRepository
from techscaniq.storage.protocols import MetricPoint

INSERT = (
    "INSERT INTO performance_metrics (time, organization_id, config_id, scan_id, metric, value)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
)


def batches(total: int, size: int, tag: str) -> list[list[MetricPoint]]:
    now = datetime.now(UTC)
    return [
        [
            MetricPoint("org-1", f"cfg-{b % 500}", f"{tag}-{b}", f"metric_{m}", float(m), now - timedelta(seconds=b))
            for m in range(size)
        ]
        for b in range(total // size)
    ]


Writer = Callable[[list[MetricPoint]], Awaitable[object]]


async def rates(ours: Writer, reference: Writer, total: int, size: int, rounds: int = 10) -> tuple[float, float]:
    """Points/s of both writers, interleaved in `rounds` so the machine's changing load hits both alike."""
    spent = [0.0, 0.0]
    for r in range(rounds):
        for index, write in enumerate((ours, reference)):
            work = batches(total // rounds, size, f"{index}-{size}-{r}")
            started = time.perf_counter()
            for batch in work:
                await write(batch)
            spent[index] += time.perf_counter() - started
    written = (total // rounds // size) * size * rounds
    return written / spent[0], written / spent[1]


async def main(total: int) -> None:
    url = os.environ.get("METRICS_DATABASE_URL")
    if not url:
        print("METRICS_DATABASE_URL is not set: run `eval \"$(bash scripts/services.sh start --env)\"` first")
        return
    url = plain_postgres_url(url)
    name = f"bench_metrics_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    target = url.rsplit("/", 1)[0] + "/" + name
    try:
        await apply_metrics_schema(target)
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        store = MetricsStoreRepository(target, min_size=1, max_size=1)
        await store.start()
        conn = await asyncpg.connect(target)

        async def executemany(batch: list[MetricPoint]) -> None:
            rows = [(p.time, p.organization_id, p.config_id, p.scan_id, p.metric, p.value) for p in batch]
            await conn.executemany(INSERT, rows)

        for label, size in (("a scan's points (25)", 25), ("bulk load (5,000)", 5_000)):
            ours, reference = await rates(store.add, executemany, total, size)
            print(f"{label}: add {ours:,.0f} points/s; executemany INSERT {reference:,.0f} points/s; "
                  f"ratio {ours / reference:.2f}")
        await conn.close()
        await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=200_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.points))

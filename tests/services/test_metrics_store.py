"""The MetricRepository of METRICS_DATABASE_URL (COPY ingest) on the real local PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from techscaniq.storage.metrics_store import MetricsStoreRepository
from techscaniq.storage.protocols import MetricPoint

pytestmark = pytest.mark.services
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def store(metrics_store_url: str) -> AsyncIterator[MetricsStoreRepository]:
    repository = MetricsStoreRepository(metrics_store_url, min_size=1, max_size=2)
    await repository.start()
    yield repository
    await repository.close()


def points(scan: str, minutes_ago: int, **values: float) -> list[MetricPoint]:
    return [MetricPoint("org-1", "cfg-1", scan, m, v, NOW - timedelta(minutes=minutes_ago)) for m, v in values.items()]


async def test_series_come_back_oldest_first_within_the_window(store: MetricsStoreRepository) -> None:
    await store.add(points("s3", 10, ttfb_ms=90.0, load_time_ms=900.0))
    await store.add(points("s1", 30, ttfb_ms=110.0) + points("s2", 20, ttfb_ms=100.0))
    await store.add([MetricPoint("org-2", "cfg-2", "x", "ttfb_ms", 5.0, NOW)])  # another config: never mixed in

    series = await store.series("cfg-1", "ttfb_ms")
    assert [(p.scan_id, p.value, p.time) for p in series] == [
        ("s1", 110.0, NOW - timedelta(minutes=30)),
        ("s2", 100.0, NOW - timedelta(minutes=20)),
        ("s3", 90.0, NOW - timedelta(minutes=10)),
    ]
    since, until = NOW - timedelta(minutes=25), NOW - timedelta(minutes=10)
    assert [p.scan_id for p in await store.series("cfg-1", "ttfb_ms", since, until)] == ["s2"]  # until: exclusive
    assert [p.scan_id for p in await store.series("cfg-1", "ttfb_ms", limit=2)] == ["s1", "s2"]


async def test_a_redelivered_scan_adds_nothing(store: MetricsStoreRepository) -> None:
    scan = points("s1", 5, ttfb_ms=80.0, load_time_ms=700.0)
    await store.add(scan)
    await store.add(scan)
    assert len(await store.series("cfg-1", "ttfb_ms")) == 1
    assert len(await store.series("cfg-1", "load_time_ms")) == 1


async def test_a_bulk_load_goes_in_with_copy_once(store: MetricsStoreRepository) -> None:
    batch = [MetricPoint("org-1", f"cfg-{i % 50}", f"s{i}", "ttfb_ms", float(i), NOW - timedelta(seconds=i))
             for i in range(5_000)]
    await store.add(batch)  # COPY: a bulk load
    await store.add(batch)  # the same again: nothing new
    assert len(await store.series("cfg-7", "ttfb_ms")) == 100
    assert await store.maintain() == "0 partitions created, 0 dropped"

"""Scans stored as a compact row plus a shared shape: a check of an unchanged page adds one small row and no
metric rows, every scan reads back whole (equal to what was stored), rows of the older whole-document form still
load after migration 9, and retention collects shapes and bodies no scan uses. SQLite and PostgreSQL."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, inspect, select, text

from techscaniq.domain.performance import PerformanceReport
from techscaniq.domain.scan import ResponseSnapshot, ScanResult, ScanTrigger
from techscaniq.domain.security import SecurityFinding, SecurityReport
from techscaniq.domain.technology import Detection
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql import scans as scans_module
from techscaniq.storage.sql.base import document
from techscaniq.storage.sql.migrations import migrate
from techscaniq.storage.sql.tables import body_blobs, performance_metrics, scan_body_refs, scan_shapes, scans

NOW = datetime.now(UTC).replace(microsecond=123456)
PAGE = b"<html><body>" + b"the same shop " * 500 + b"</body></html>"


def check(index: int, days_ago: float = 0.0, **changes: object) -> ScanResult:
    """The scan of an unchanged page: only times, timings and the Date header differ from one to the next."""
    started = NOW - timedelta(days=days_ago, minutes=index)
    timing = 10.0 + index * 0.137
    timings = {"dns_ms": 0.5, "connect_ms": 1.25, "tls_ms": None, "ttfb_ms": timing, "download_ms": 2.0,
               "total_ms": timing + 4.0, "redirect_ms": 0.0}
    fields: dict[str, object] = dict(
        config_id="cfg-1", organization_id="org-1", url="https://shop.example/", trigger=ScanTrigger.SCHEDULE,
        scheduled_for=started - timedelta(milliseconds=3), started_at=started,
        finished_at=started + timedelta(milliseconds=timing + 5), duration_ms=timing + 5,
        fingerprint_version="techscaniq@sha256:abc",
        response=ResponseSnapshot(final_url="https://shop.example/", status_code=200, http_version="HTTP/1.1",
                                  headers=[("Date", started.strftime("%a, %d %b %Y %H:%M:%S GMT")),
                                           ("Server", "nginx/1.25"), ("Content-Type", "text/html")]),
        technologies=[Detection(name="nginx", version="1.25"), Detection(name="jQuery", version="3.6.0")],
        performance=PerformanceReport(
            metrics={"dns_ms": 0.5, "connect_ms": 1.25, "ttfb_ms": timing, "download_ms": 2.0,
                     "load_time_ms": timing + 4.0, "transfer_bytes": 7012.0, "resource_count": 12.0},
            details={"timings": timings, "caching": {"etag": None}}),
        security=SecurityReport(score=70, grade="B", tests_passed=8, tests_failed=1, findings=[
            SecurityFinding(test="strict-transport-security", result="hsts-not-implemented", modifier=-20,
                            passed=False, description="HSTS header missing")]),
    )
    return ScanResult(**{**fields, **changes})  # type: ignore[arg-type]


async def count(storage: SqlStorage, table: object) -> int:
    async with storage.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_checks_of_an_unchanged_page_share_one_shape_and_read_back_whole(storage: SqlStorage) -> None:
    stored = [check(index) for index in range(30)]
    for scan in stored:
        assert await storage.scans.add(scan, PAGE)
        await storage.metrics.record(scan)
    assert await count(storage, scan_shapes) == 1
    assert await count(storage, body_blobs) == 1
    assert await count(storage, performance_metrics) == 0  # the metrics are packed in each scan's row
    assert await count(storage, scan_body_refs) == 0
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(select(scans.c.document))).scalars().all()
    assert all(len(str(row)) < 160 for row in rows), rows[0]  # the check, not a 1 KB document

    storage.scans._shapes.clear()  # read from the database, as another process would
    for scan in stored:
        assert await storage.scans.get(scan.id) == scan
        assert await storage.scans.body(scan.id) == PAGE
    assert await storage.scans.previous("cfg-1", before=NOW + timedelta(seconds=1), limit=30) == stored
    assert await storage.scans.latest(["cfg-1"]) == {"cfg-1": stored[0]}
    series = await storage.metrics.series("cfg-1", "ttfb_ms", since=stored[9].finished_at)
    assert [point.value for point in series] == [scan.performance.metrics["ttfb_ms"]  # type: ignore[union-attr]
                                                  for scan in reversed(stored[:10])]
    assert [point.scan_id for point in await storage.metrics.series("cfg-1", "resource_count", limit=2)] == [
        stored[-1].id, stored[-2].id]


async def test_what_changed_gets_its_own_shape(storage: SqlStorage) -> None:
    await storage.scans.add(check(1), PAGE)
    changed = check(0, technologies=[Detection(name="nginx", version="1.25")])
    await storage.scans.add(changed, PAGE + b"<!-- new -->")
    assert await count(storage, scan_shapes) == 2
    assert await count(storage, body_blobs) == 2
    assert await storage.scans.get(changed.id) == changed
    assert await storage.scans.body(changed.id) == PAGE + b"<!-- new -->"


async def test_rows_of_the_whole_document_form_still_load_after_migration_9(storage: SqlStorage) -> None:
    # The schema as it was at migration 6: no shape column, no scan_shapes, version 9 not recorded.
    async with storage.engine.begin() as conn:
        await conn.execute(text("DROP TABLE scan_shapes"))
        await conn.execute(text("ALTER TABLE scans DROP COLUMN shape"))
        await conn.execute(text("DELETE FROM schema_migrations WHERE version = 9"))
    old = check(5)
    async with storage.engine.begin() as conn:
        await conn.execute(insert(scans).values(  # no value for shape: the column is not named
            id=old.id, config_id="cfg-1", organization_id="org-1", status="success", trigger="schedule",
            scheduled_for=old.scheduled_for, started_at=old.started_at, finished_at=old.finished_at,
            fingerprint_version=old.fingerprint_version, document=document(old), changes_done=True,
            alerts_done=True))
        await conn.execute(insert(scan_body_refs).values(scan_id=old.id, body_hash="b" * 64))
        await conn.execute(insert(body_blobs).values(hash="b" * 64, body=zlib.compress(PAGE), stored_at=NOW))
        await conn.execute(insert(performance_metrics).values(
            time=old.finished_at, organization_id="org-1", config_id="cfg-1", scan_id=old.id, metric="ttfb_ms",
            value=old.performance.metrics["ttfb_ms"]))  # type: ignore[union-attr]

    assert await migrate(storage.engine) == [9]
    async with storage.engine.connect() as conn:
        columns = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("scans")})
    assert "shape" in columns
    new = check(0)
    await storage.scans.add(new, PAGE)
    assert await storage.scans.get(old.id) == old
    assert await storage.scans.body(old.id) == PAGE
    assert [scan.id for scan in await storage.scans.find(config_id="cfg-1")] == [new.id, old.id]
    assert [point.scan_id for point in await storage.metrics.series("cfg-1", "ttfb_ms")] == [old.id, new.id]


async def test_retention_collects_shapes_and_bodies_no_scan_uses(storage: SqlStorage) -> None:
    gone = check(0, days_ago=100, technologies=[])
    kept = check(0, days_ago=1)
    await storage.scans.add(gone, b"a body only the expired scan had")
    await storage.scans.add(kept, PAGE)
    assert await storage.scans.expire(NOW - timedelta(days=90)) == 1
    assert await count(storage, scan_shapes) == 1
    assert await count(storage, body_blobs) == 1
    assert await storage.scans.get(kept.id) == kept
    assert await storage.scans.body(kept.id) == PAGE


async def test_a_listing_of_more_shapes_than_are_kept_in_memory_reads_them_all(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scans_module, "_SHAPES_CACHED", 2)
    stored = [check(index, url=f"https://shop.example/{index}") for index in range(5)]
    for scan in stored:
        await storage.scans.add(scan)
    storage.scans._shapes.clear()
    assert await storage.scans.find(config_id="cfg-1") == stored
    assert len(storage.scans._shapes) == 2

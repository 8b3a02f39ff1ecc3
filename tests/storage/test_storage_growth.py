"""What a scan costs on disk, and what retention gives back: a body is stored once however many scans fetch
it unchanged, old rows stay readable, and scans past SCAN_RETENTION_DAYS go (with bodies nobody needs) while
each config's latest scan and every scan a change points at stay. SQLite and PostgreSQL."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.scan import ResponseSnapshot, ScanResult
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.tables import body_blobs, scan_bodies, scans

NOW = datetime.now(UTC)
PAGE = b"<html><body>" + b"unchanged shop " * 2000 + b"</body></html>"


def scan(config_id: str, days_ago: float) -> ScanResult:
    at = NOW - timedelta(days=days_ago)
    return ScanResult(config_id=config_id, organization_id="org-1", url="https://shop.example/", started_at=at,
                      finished_at=at + timedelta(seconds=1),
                      response=ResponseSnapshot(final_url="https://shop.example/", status_code=200, headers=[]))


async def count(storage: SqlStorage, table: object) -> int:
    async with storage.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_an_unchanged_body_is_stored_once_for_all_its_scans(storage: SqlStorage) -> None:
    stored = [scan("cfg-1", days_ago=index / 24) for index in range(10)]
    for result in stored:
        assert await storage.scans.add(result, PAGE)
    assert await count(storage, body_blobs) == 1
    for result in stored:
        assert await storage.scans.body(result.id) == PAGE  # every scan still serves its body
    await storage.scans.add(scan("cfg-1", days_ago=0), PAGE + b"<!-- changed -->")
    assert await count(storage, body_blobs) == 2
    [(_, _, body_bytes)] = [row for row in await storage.stats() if row[0] == "body_blobs"]
    assert body_bytes < 2 * len(zlib.compress(PAGE, 6)) + 200  # two copies, not eleven


async def test_a_body_stored_before_content_addressing_is_still_served(storage: SqlStorage) -> None:
    old = scan("cfg-1", days_ago=1)
    await storage.scans.add(old)
    async with storage.engine.begin() as conn:
        await conn.execute(insert(scan_bodies).values(scan_id=old.id, body=zlib.compress(PAGE)))
    assert await storage.scans.body(old.id) == PAGE


async def test_retention_keeps_the_latest_scan_and_the_evidence_of_changes(storage: SqlStorage) -> None:
    expired, evidence, recent = scan("cfg-1", 100), scan("cfg-1", 95), scan("cfg-1", 1)
    lonely = scan("cfg-2", 200)  # the only (latest) scan of its config
    await storage.scans.add(expired, b"body only the expired scan had")
    await storage.scans.add(evidence, PAGE)
    await storage.scans.add(recent, PAGE)
    await storage.scans.add(lonely, PAGE)
    await storage.changes.add_many([Change(
        id="chg-1", organization_id="org-1", config_id="cfg-1", scan_id=evidence.id, type=ChangeKind.TECHNOLOGY,
        change_type="added", subject="jQuery", impact=Impact.MEDIUM)])

    cutoff = NOW - timedelta(days=90)
    assert await storage.scans.expirable(cutoff) == 1
    assert await storage.scans.expire(cutoff) == 1

    assert await storage.scans.get(expired.id) is None
    for kept in (evidence, recent, lonely):
        assert await storage.scans.get(kept.id) is not None
        assert await storage.scans.body(kept.id) == PAGE
    assert await count(storage, body_blobs) == 1  # the expired scan's own body went with it
    assert await count(storage, scans) == 3
    assert await storage.scans.expire(cutoff) == 0


async def test_hourly_maintenance_applies_scan_retention_days(storage: SqlStorage) -> None:
    await storage.scans.add(scan("cfg-1", 40), PAGE)
    await storage.scans.add(scan("cfg-1", 1), PAGE)
    storage._settings = storage._settings.model_copy(update={"scan_retention_days": 30})
    await storage.maintain()
    assert await count(storage, scans) == 1
    storage._settings = storage._settings.model_copy(update={"scan_retention_days": 0})  # 0 keeps everything
    await storage.scans.add(scan("cfg-1", 400), PAGE)
    await storage.maintain()
    assert await count(storage, scans) == 2

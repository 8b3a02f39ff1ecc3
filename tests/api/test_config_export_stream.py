"""The config export is streamed by keyset pages: its memory stays at one page however many configs an
organization has (the document was built whole in memory, and stopped at 100,000 configs), every config is in it
exactly once and in order, and the text is what json.dumps / yaml.safe_dump write for the whole document."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import yaml
from sqlalchemy import insert

from techscaniq.api.config_documents import export_chunks
from techscaniq.domain.config import MonitoringConfig
from techscaniq.storage.sql import SqlStorage
from techscaniq.storage.sql.tables import monitoring_configs

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAGE = 50  # pages smaller than the service's (500), so that many pages take little test time


def _config(organization: str, index: int) -> MonitoringConfig:
    return MonitoringConfig.model_validate({
        "id": f"{organization}-{index:05d}", "organization_id": organization, "name": f"Café {index}",
        "url": f"https://site-{index}.example", "schedule": {"type": "interval", "expression": "1h"},
        "created_at": T0 + timedelta(seconds=index), "updated_at": T0 + timedelta(seconds=index),
        "alert_rules": [{"name": "r", "notification_channels": [{"type": "webhook",
                                                                  "url": "https://hooks.example/x"}]}],
    })


async def _store(storage: SqlStorage, organization: str, count: int) -> None:
    rows = [storage.configs._row(_config(organization, index)) for index in range(count)]  # one bulk insert
    async with storage.engine.begin() as conn:
        await conn.execute(insert(monitoring_configs), rows)


async def _streamed_peak(storage: SqlStorage, organization: str, count: int) -> int:
    """Streams the JSON export, checks that it holds each config once in order, returns tracemalloc's peak."""
    tracemalloc.start()
    try:
        seen = 0
        async for chunk in export_chunks(storage.configs, organization, "json", page_size=PAGE):
            for line in chunk.splitlines():
                if line.startswith('      "id": '):  # a config's own id (6 spaces: a top-level key of one item)
                    assert line == f'      "id": "{organization}-{seen:05d}",', line
                    seen += 1
        assert seen == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_the_export_streams_in_bounded_memory_with_every_config(storage: SqlStorage) -> None:
    small, large = 2 * PAGE, 8 * PAGE
    await _store(storage, "org-small", small)
    await _store(storage, "org-large", large)
    small_peak = await _streamed_peak(storage, "org-small", small)
    large_peak = await _streamed_peak(storage, "org-large", large)
    # Four times the configs: whole in memory the peak grew about four times; streamed it stays at a page.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


async def test_the_streamed_text_is_the_whole_document_as_written_before(storage: SqlStorage) -> None:
    await _store(storage, "org-few", 3)
    documents = [config.model_dump(mode="json") for config in await storage.configs.find("org-few")]
    assert len(documents) == 3
    as_json = "".join([chunk async for chunk in export_chunks(storage.configs, "org-few", "json", page_size=2)])
    assert as_json == json.dumps({"configs": documents}, indent=2)
    as_yaml = "".join([chunk async for chunk in export_chunks(storage.configs, "org-few", "yaml", page_size=2)])
    assert as_yaml == yaml.safe_dump({"configs": documents}, sort_keys=False, allow_unicode=True)
    assert json.loads("".join([c async for c in export_chunks(storage.configs, "org-none", "json")])) == {
        "configs": []}
    assert yaml.safe_load("".join([c async for c in export_chunks(storage.configs, "org-none", "yaml")])) == {
        "configs": []}

"""Adding configs costs the same whatever other organizations store: no table-wide count per write (the
quota's count is of the writing organization's configs only, on its index, so never more than its quota),
and the Prometheus gauges are still right when /metrics is scraped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from tests.support.testsite import LocalSite

from techscaniq.observability.metrics import ACTIVE_CONFIGS, CONFIGS
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


async def test_a_bulk_import_runs_no_table_wide_count_and_the_gauges_stay_right(
    settings: Settings, local_site: LocalSite
) -> None:
    async with MonitoringSystem(settings, serve_http=False) as system:
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement.lower())

        event.listen(system.storage.engine.sync_engine, "before_cursor_execute", record)
        try:
            for index in range(40):
                await system.add_monitoring_config({
                    "organization_id": "org-bulk", "name": f"site {index}", "url": local_site.url(f"/{index}"),
                    "schedule": {"type": "interval", "expression": "1h"}, "paused": index % 4 == 0,
                })
        finally:
            event.remove(system.storage.engine.sync_engine, "before_cursor_execute", record)
        # The scheduler's claim (woken by each add) counts each organization's runs in flight: once per claim,
        # over the leased rows, not part of a write.
        counts = [s for s in statements if "count(" in s and "monitoring_configs" in s and "row_number()" not in s]
        table_wide = [s for s in counts if "organization_id = ?" not in s]
        assert table_wide == [], table_wide[:3]
        assert len(counts) == 40  # one per write: the QUOTA_CONFIGS_PER_ORGANIZATION check

        await system.observe()  # what /metrics runs before Prometheus reads the gauges
        assert CONFIGS._value.get() == 40
        assert ACTIVE_CONFIGS._value.get() == 30

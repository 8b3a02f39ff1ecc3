"""Config listings page by keyset: every config exactly once, in (created_at, id) order, within one
organization, and the organization's page reads an index range instead of sorting the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from techscaniq.domain.config import MonitoringConfig
from techscaniq.storage.sql import SqlStorage

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def config(index: int, organization: str) -> MonitoringConfig:
    # Three configs share each creation time: the id decides their order, and no page boundary loses one.
    return MonitoringConfig.model_validate({
        "id": f"{organization}-{index:03d}", "organization_id": organization, "name": f"site {index}",
        "url": f"https://site{index}.example.test/", "schedule": {"type": "interval", "expression": "1h"},
        "created_at": T0 + timedelta(seconds=index // 3),
    })


async def test_keyset_pages_list_each_config_once_in_order(storage: SqlStorage) -> None:
    for index in range(23):
        await storage.configs.add(config(index, "org-a"), None)
    for index in range(4):
        await storage.configs.add(config(index, "org-b"), None)
    seen: list[str] = []
    after: tuple[datetime, str] | None = None
    while page := await storage.configs.find("org-a", limit=5, after=after):
        seen += [c.id for c in page]
        after = (page[-1].created_at, page[-1].id)
    assert seen == [f"org-a-{index:03d}" for index in range(23)]
    # The offset pages (kept for compatibility) agree with the keyset pages.
    by_offset = [c.id for offset in range(0, 25, 5)
                 for c in await storage.configs.find("org-a", limit=5, offset=offset)]
    assert by_offset == seen
    # Across organizations (the search rebuild's listing): ties on created_at continue by id.
    everyone = [c.id for c in await storage.configs.find(None, limit=100, after=(T0, "org-a-002"))]
    assert everyone[:4] == ["org-b-000", "org-b-001", "org-b-002", "org-a-003"] and len(everyone) == 27 - 3


async def test_an_organizations_page_is_an_index_range(storage: SqlStorage) -> None:
    if storage.dialect != "sqlite":
        return  # PostgreSQL's planner picks a sequential scan for a table this small; the index is the same
    async with storage.engine.connect() as conn:
        plan = (await conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT document FROM monitoring_configs WHERE organization_id = 'o' "
            "AND (created_at, id) > ('2026-01-01 00:00:00', 'x') ORDER BY created_at, id LIMIT 100"))).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_monitoring_configs_org_created" in details and "TEMP B-TREE" not in details


async def test_a_claim_counts_the_runs_in_flight_from_the_leased_rows_only(storage: SqlStorage) -> None:
    """Each fair claim counts every organization's leased runs: with 100,000 configs that count must read the
    few leased rows (a partial index), not the whole table."""
    if storage.dialect != "sqlite":
        return  # the plan is SQLite's; PostgreSQL has the same partial index from the same migration
    from sqlalchemy import event

    for index in range(3):
        await storage.configs.add(config(index, "org-a"), T0)
    statements: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "row_number" in statement:
            statements.append((statement, parameters))

    event.listen(storage.engine.sync_engine, "before_cursor_execute", capture)
    try:
        assert len(await storage.configs.claim_due(T0 + timedelta(hours=1), 2, 60, "replica-1")) == 2
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", capture)
    [(statement, parameters)] = statements
    async with storage.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        plan = await raw.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)  # type: ignore[union-attr]
        details = " ".join(str(row[-1]) for row in await plan.fetchall())
    assert "ix_monitoring_configs_leased" in details, details

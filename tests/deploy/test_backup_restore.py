"""docs/operations.md's backup and restore, run for real: the guide's pg_dump of a database holding a
monitoring config added through the guide's Python API, the guide's psql restore into an empty database,
and the system started on the restored database finds the config again."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

pytestmark = pytest.mark.services

GUIDE_CONFIG = {
    "organization_id": "org-123",
    "name": "Example Website Monitoring",
    "url": "https://example.com",
    "schedule": {"type": "cron", "expression": "0 */6 * * *", "timezone": "UTC"},
    "scan_config": {"technologies": True, "performance": True, "security": True},
    "paused": True,  # never scanned: this test sends no traffic beyond loopback
}


def postgres_tool(name: str) -> str:
    """The newest server version's client, as scripts/services.sh picks the server (pg_dump must not be older)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    found = str(candidates[-1]) if candidates else shutil.which(name)
    assert found, f"{name} not found (apt-get install postgresql-client)"
    return found


@pytest.fixture
async def databases() -> AsyncIterator[tuple[str, str]]:
    """A source and an empty restore target on the test PostgreSQL."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("DATABASE_URL not set in CI: run the tests through `make test`")
        pytest.skip("DATABASE_URL not set: start PostgreSQL with `make services`")
    names = [f"backup_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("source", "restored")]
    admin = await asyncpg.connect(url)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        server = url.rsplit("/", 1)[0]
        yield f"{server}/{names[0]}", f"{server}/{names[1]}"
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def system_on(url: str, tmp_path: Path) -> MonitoringSystem:
    settings = Settings(database_url=url, metrics_database_url=None, redis_url=None, kafka_servers=None,
                        data_dir=tmp_path / "data", log_dir=tmp_path / "logs", _env_file=None)  # type: ignore[call-arg]
    return MonitoringSystem(settings, serve_http=False, configure_logs=False)


def connection_args(url: str) -> tuple[list[str], dict[str, str]]:
    parts = urlsplit(url)
    args = ["-h", parts.hostname or "localhost", "-p", str(parts.port or 5432), "-U", parts.username or ""]
    return args, {**os.environ, "PGPASSWORD": parts.password or ""}


@pytest.mark.timeout(120)
async def test_pg_dump_backup_restores_into_an_empty_database(databases: tuple[str, str], tmp_path: Path) -> None:
    source, restored = databases
    async with system_on(source, tmp_path) as system:
        config_id = await system.add_monitoring_config(GUIDE_CONFIG)

    # pg_dump -h localhost -U techscaniq techscaniq_monitoring > backup_$(date +%Y%m%d).sql
    args, env = connection_args(source)
    backup = tmp_path / "backup_20241220.sql"
    with backup.open("w") as out:
        await asyncio.to_thread(subprocess.run, [postgres_tool("pg_dump"), *args, source.rsplit("/", 1)[1]],
                                stdout=out, env=env, check=True, timeout=60)

    # psql -h localhost -U techscaniq -d techscaniq_monitoring < backup_20241220.sql
    args, env = connection_args(restored)
    with backup.open() as dump:
        await asyncio.to_thread(subprocess.run, [postgres_tool("psql"), *args, "-d", restored.rsplit("/", 1)[1],
                                                 "-v", "ON_ERROR_STOP=1", "-q"],
                                stdin=dump, env=env, check=True, timeout=60, capture_output=True)

    async with system_on(restored, tmp_path) as system:
        config = await system.get_monitoring_config(config_id)
        assert config.name == "Example Website Monitoring" and config.paused
        assert [c.id for c in await system.list_monitoring_configs("org-123")] == [config_id]

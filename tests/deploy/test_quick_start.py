"""The deployment guide's quick start, step by step, on this machine (Docker aside: scripts/services.sh
provides PostgreSQL, Redis and Kafka instead of docker-compose.monitoring.yml):

1. `cp .env.example .env`
3. `pip install -r requirements-monitoring.txt` (the project's virtualenv stands for it; the file is checked)
4. the guide's migration snippet, verbatim, against fresh databases
5. `python start_monitoring_system.py`, then `curl :8000/health`, `curl :8000/metrics`, `curl :8765/stats`
   (on free ports), and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from live_system import LiveSystem
from tests.deploy.conftest import ROOT

pytestmark = pytest.mark.services
BACKENDS = ("DATABASE_URL", "METRICS_DATABASE_URL", "REDIS_URL", "KAFKA_SERVERS")

# Step 4 of the guide, verbatim (less the trailing spaces of its blank lines).
GUIDE_MIGRATION_SNIPPET = """
import asyncio
import asyncpg
import os

async def apply_migrations():
    conn = await asyncpg.connect(os.getenv('DATABASE_URL'))

    # Apply core schema
    with open('database/migrations/001_monitoring_core_schema.sql', 'r') as f:
        await conn.execute(f.read())

    await conn.close()

    # Apply TimescaleDB schema
    conn = await asyncpg.connect(os.getenv('METRICS_DATABASE_URL'))

    with open('database/migrations/002_timescale_metrics.sql', 'r') as f:
        await conn.execute(f.read())

    await conn.close()

asyncio.run(apply_migrations())
"""


@pytest.fixture
async def backends() -> AsyncIterator[dict[str, str]]:
    """The four backend URLs, with two fresh databases on the test PostgreSQL."""
    missing = [name for name in BACKENDS if not os.environ.get(name)]
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{', '.join(missing)} not set in CI: run the tests through `make test`")
        pytest.skip(f"{', '.join(missing)} not set: start the services with `make services`")
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    names = [f"quickstart_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("core", "metrics")]
    admin = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield {
            "DATABASE_URL": f"{server}/{names[0]}",
            "METRICS_DATABASE_URL": f"{server}/{names[1]}",
            "REDIS_URL": os.environ["REDIS_URL"],
            "KAFKA_SERVERS": os.environ["KAFKA_SERVERS"],
            # Own topics and consumer groups on the shared test broker.
            "KAFKA_TOPIC_PREFIX": f"quickstart-{uuid.uuid4().hex[:8]}.",
        }
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_requirements_file_installs_this_project() -> None:
    lines = [line.strip() for line in (ROOT / "requirements-monitoring.txt").read_text().splitlines()]
    assert "-e ." in lines


@pytest.mark.timeout(240)
async def test_the_guides_quick_start_reaches_a_running_system(backends: dict[str, str], tmp_path: Path) -> None:
    checkout = tmp_path / "backend"
    checkout.mkdir()
    (checkout / "database").symlink_to(ROOT / "database")
    shutil.copy(ROOT / ".env.example", checkout / ".env")  # step 1

    # Step 4: the snippet reads the process environment, as `set -a; . ./.env; set +a` would set it.
    env = {**os.environ, **backends}
    migrate = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", GUIDE_MIGRATION_SNIPPET], cwd=checkout,
                                      env=env, capture_output=True, text=True, timeout=60, check=False)
    assert migrate.returncode == 0, migrate.stderr
    conn = await asyncpg.connect(backends["DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") >= 1
    finally:
        await conn.close()

    # Step 5, from the checkout whose .env points at the compose ports; the exported URLs win over it.
    with LiveSystem(env=backends, python=sys.executable, workdir=checkout, startup_timeout=120) as system:
        status, body = system.get("http", "/health")
        health = json.loads(body)
        assert status == 200, body  # without a token: the status of each component (the mode is in the banner)
        assert all(c["status"] == "running" for c in health["components"].values()), health
        assert system.wait_for_output("health:"), system.output  # the startup banner
        assert "mode: scale-out" in system.output

        status, metrics = system.get("http", "/metrics")
        assert status == 200
        assert "techscaniq_active_configs" in metrics and "# TYPE scans_failed_total counter" in metrics

        status, body = system.get("websocket", "/stats")
        assert status == 200
        assert {"connections", "subscriptions"} <= set(json.loads(body))
        exit_code = system.stop()
    assert exit_code == 0
    assert "stopped cleanly" in system.output
    assert "monitoring system started (scale-out)" in (checkout / "monitoring_system.log").read_text()
    assert {p.name for p in (checkout / "logs").iterdir()} >= {"pipeline.log", "change_detector.log",
                                                                 "alert_engine.log", "websocket.log", "api.log"}

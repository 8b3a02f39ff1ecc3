"""scripts/services.sh as `make test` uses it: with the services up, `start --env` prints only the export lines
that `eval` needs, names the running services, and starts nothing twice."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.services
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"
VARIABLES = ("DATABASE_URL", "METRICS_DATABASE_URL", "REDIS_URL", "KAFKA_SERVERS", "ELASTICSEARCH_URL")


def test_start_with_env_prints_only_exports_of_the_running_services() -> None:
    if not all(os.environ.get(v) for v in VARIABLES):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the service variables are not set in CI: run the tests through `make test`")
        pytest.skip("start the services with `make services` (and export their variables) first")
    result = subprocess.run(
        ["bash", str(SCRIPT), "start", "--env"], capture_output=True, text=True, timeout=60, check=True
    )
    lines = result.stdout.splitlines()
    assert [re.match(r"^export ([A-Z_]+)=\S+$", line).group(1) for line in lines] == list(VARIABLES)  # type: ignore[union-attr]
    exported = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    assert exported == {v: os.environ[v] for v in VARIABLES}  # reachable variables are kept as they are
    assert "ready in" in result.stderr

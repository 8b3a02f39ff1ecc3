"""Every artifact passes its own tool's offline check (scripts/check_deploy.sh, one step per test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.deploy.conftest import check_deploy

STEPS = ["env", "compose", "kafka", "k8s", "prometheus", "metrics", "quiet", "dockerfile", "image", "nginx", "systemd",
         "logrotate"]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("step", STEPS)
def test_artifact_passes_its_check(step: str, tools: Path) -> None:
    result = check_deploy(step)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "check_deploy: 1 passed, 0 failed" in result.stdout


def test_unknown_step_is_refused_by_name() -> None:
    result = check_deploy("kubernetes")
    assert result.returncode != 0
    assert "unknown check 'kubernetes'" in result.stderr

"""Deployment artifact checks: scripts/check_deploy.sh and its helpers in scripts/deploy_checks/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "scripts" / "deploy_checks"
TOOLS = ROOT / ".services" / "tools"
sys.path.insert(0, str(CHECKS))


def check_deploy(*steps: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts" / "check_deploy.sh"), *steps], capture_output=True,
                          text=True, timeout=timeout, check=False, env={**os.environ, "PYTHON": sys.executable})


@pytest.fixture(scope="session")
def tools() -> Path:
    """Installs (first run) or finds (later runs) the validators; the directory holding them."""
    result = check_deploy("tools", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return TOOLS

"""A MonitoringSystem serving its API on 127.0.0.1 (port 0), with organization A's API key configured."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.api.conftest import KEY_A

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


@pytest.fixture
def served_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"host": "127.0.0.1", "api_keys": f"org-a:{KEY_A}"})


@pytest.fixture
async def server(served_settings: Settings) -> AsyncIterator[MonitoringSystem]:
    async with MonitoringSystem(served_settings, configure_logs=False) as system:
        yield system


def http(system: MonitoringSystem, **headers: str) -> httpx.AsyncClient:
    """A client of the real server (generous timeout: bodies of 100 MB go through it)."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{system.ports['api']}", headers=headers, timeout=120)

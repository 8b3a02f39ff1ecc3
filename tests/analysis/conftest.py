"""Fixtures for the analysis tests: a real fetcher (trusting the test CA) and a scan context builder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.analysis.stand_in_fetcher import StandInFetcher

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.scanning.analysis import ScanContext
from techscaniq.settings import Settings

try:  # the production fetcher; the stand-in covers the time before it lands
    from techscaniq.scanning.fetch import Fetcher
except ImportError:  # pragma: no cover
    Fetcher = None  # type: ignore[assignment,misc]

ContextFactory = Callable[..., Awaitable[ScanContext]]


@pytest.fixture
async def fetcher(tls_settings: Settings) -> AsyncIterator[Any]:
    instance: Any = Fetcher(tls_settings) if Fetcher is not None else StandInFetcher(tls_settings.extra_ca_bundle)
    yield instance
    await (instance.aclose() if hasattr(instance, "aclose") else instance.close())


@pytest.fixture
def scan_context(fetcher: Any) -> ContextFactory:
    """`await scan_context(url, **scan_config)`: fetch the page for real and build the step's context."""

    async def make(url: str, *, with_fetcher: bool = True, **config: Any) -> ScanContext:
        fetch = await fetcher.fetch(url)
        result = ScanResult(config_id="config-1", organization_id="org-1", url=url)
        return ScanContext(url=url, scan_config=ScanConfig(**config), fetch=fetch, result=result,
                           fetcher=fetcher if with_fetcher else None)

    return make

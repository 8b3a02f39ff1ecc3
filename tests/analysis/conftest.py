"""Fixtures for the analysis tests: a real fetcher (trusting the test CA) and a scan context builder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite
from tests.support.tls_servers import tls_server_context

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.scan import ScanResult
from techscaniq.scanning.analysis import ScanContext
from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings

ContextFactory = Callable[..., Awaitable[ScanContext]]
Serve = Callable[..., Awaitable[LocalSite]]


@pytest.fixture
async def fetcher(tls_settings: Settings) -> AsyncIterator[Fetcher]:
    """The production fetcher, trusting the test CA, allowed to reach 127.0.0.1."""
    instance = Fetcher(tls_settings)
    yield instance
    await instance.aclose()


@pytest.fixture
def scan_context(fetcher: Fetcher) -> ContextFactory:
    """`await scan_context(url, **scan_config)`: fetch the page for real and build the step's context."""

    async def make(url: str, *, with_fetcher: bool = True, **config: Any) -> ScanContext:
        fetch = await fetcher.fetch(url)
        result = ScanResult(config_id="config-1", organization_id="org-1", url=url)
        return ScanContext(url=url, scan_config=ScanConfig(**config), fetch=fetch, result=result,
                           fetcher=fetcher if with_fetcher else None)

    return make


@pytest.fixture
async def serve(test_ca: TestCA) -> AsyncIterator[Serve]:
    """`await serve(versions=..., ciphers=..., dh_bits=..., **leaf)`: a TLS site with that configuration
    (tests/support/tls_servers.py), closed after the test."""
    sites: list[LocalSite] = []

    async def start(**config: Any) -> LocalSite:
        site = await LocalSite(ssl_context=tls_server_context(test_ca, **config)).start()
        site.route("/", body="<html></html>")
        sites.append(site)
        return site

    yield start
    for site in sites:
        await site.close()

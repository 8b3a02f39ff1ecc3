"""pytest fixtures for the local test site. Registered in tests/conftest.py with
`pytest_plugins = ["tests.support.fixtures"]`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tests.support.certificates import CertificateKind, TestCA
from tests.support.testsite import LocalSite

from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

SiteFactory = Callable[..., Awaitable[LocalSite]]


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """One CA for the whole run (key generation is the slow part)."""
    return TestCA(Path(tmp_path_factory.mktemp("test-ca")))


@pytest.fixture
def tls_settings(settings: Settings, test_ca: TestCA) -> Settings:
    """The conftest `settings`, also trusting `test_ca` (so `tls_site` verifies)."""
    return settings.model_copy(update={"extra_ca_bundle": test_ca.pem_path})


@pytest.fixture
async def site_factory(test_ca: TestCA) -> AsyncIterator[SiteFactory]:
    """`await site_factory(tls=False, certificate="valid")` -> a started LocalSite, closed after the test."""
    sites: list[LocalSite] = []

    async def make(*, tls: bool = False, certificate: CertificateKind | str = CertificateKind.VALID) -> LocalSite:
        site = await LocalSite(tls=test_ca if tls else None, certificate=certificate).start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        await site.close()


@pytest.fixture
async def local_site(site_factory: SiteFactory) -> LocalSite:
    """A started plain-HTTP site on 127.0.0.1."""
    return await site_factory()


@pytest.fixture
async def tls_site(site_factory: SiteFactory) -> LocalSite:
    """A started HTTPS site with a valid certificate from `test_ca` (use with `tls_settings`)."""
    return await site_factory(tls=True)


@pytest.fixture
async def storage(settings: Settings) -> AsyncIterator[SqlStorage]:
    """SQLite storage on the conftest `settings`, started and closed (directories with both backends
    override it: tests/storage, tests/changes)."""
    store = SqlStorage(settings)
    await store.start()
    try:
        yield store
    finally:
        await store.close()

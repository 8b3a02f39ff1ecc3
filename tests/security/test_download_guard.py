"""Operator downloads (`advisories update`, `fingerprints update --source`) connect only where scans may:
a source on the internal network is refused before any connection, naming the setting that allows it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.internal import internal_service

from techscaniq.scanning.fingerprints.install import install
from techscaniq.scanning.security.advisories import update_advisories
from techscaniq.settings import Settings


@pytest.fixture
def public_only(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_targets": False})


async def test_advisories_from_an_internal_address_are_refused(public_only: Settings) -> None:
    async with internal_service() as internal:
        with pytest.raises(Exception, match=r"refusing to connect to 127\.0\.0\.1.*ALLOWED_TARGET_NETWORKS"):
            await asyncio.to_thread(update_advisories, public_only, f"http://127.0.0.1:{internal.port}/repo.json")
    assert internal.connections == 0


async def test_fingerprints_from_an_internal_address_are_refused(public_only: Settings, tmp_path: Path) -> None:
    async with internal_service() as internal:
        with pytest.raises(ValueError, match=r"refusing to connect to 127\.0\.0\.1"):
            await asyncio.to_thread(
                install, f"http://localhost:{internal.port}/db.tar.gz", None, tmp_path / "fp",
                public_only.scan_address_policy,
            )
    assert internal.connections == 0


async def test_an_allowed_network_is_reached(public_only: Settings, tmp_path: Path) -> None:
    allowed = public_only.model_copy(update={"allowed_target_networks": "127.0.0.0/8"})
    async with internal_service() as internal:
        with pytest.raises(ValueError, match="not a tar"):  # it connected: the answer is no archive
            await asyncio.to_thread(
                install, f"http://127.0.0.1:{internal.port}/db.tar.gz", None, tmp_path / "fp",
                allowed.scan_address_policy,
            )
    assert internal.connections == 1

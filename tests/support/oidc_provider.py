"""A real OpenID Connect provider on loopback: panva's oidc-provider (npm, installed into tests/support/oidc by
scripts/install_oidc_provider.sh), run with Node. Its development sign-in form takes any login name."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support.ports import free_port

DIRECTORY = Path(__file__).parent / "oidc"


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str


@contextlib.asynccontextmanager
async def oidc_provider(redirect_uri: str, groups: dict[str, list[str]]) -> AsyncIterator[OidcProvider]:
    node = shutil.which("node")
    if node is None or not (DIRECTORY / "node_modules" / "oidc-provider").is_dir():
        import os

        message = "the OIDC provider is not installed: run scripts/install_oidc_provider.sh (needs Node.js)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    provider = OidcProvider(f"http://127.0.0.1:{port}", "techscaniq-test", "test-client-secret-0123456789")
    process = await asyncio.create_subprocess_exec(
        node, str(DIRECTORY / "provider.mjs"), str(port), provider.client_id, provider.client_secret, redirect_uri,
        json.dumps(groups), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            while b"ready" not in await process.stdout.readline():
                pass
        yield provider
    finally:
        process.terminate()
        await process.wait()


async def sign_in_at_provider(authorization_url: str, login: str, back_to: str) -> str:
    """Walk the provider's own pages as a browser would (sign-in form, then consent) and return the URL it
    sends the person back to (starting with `back_to`)."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(authorization_url)
        for _ in range(20):
            location = response.headers.get("location")
            if location is not None:
                url = str(response.url.join(location))
                if url.startswith(back_to):
                    return url
                response = await browser.get(url)
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert form is not None, response.text[:500]
            fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
            if 'name="login"' in response.text:
                fields |= {"login": login, "password": "any password"}
            response = await browser.post(str(response.url.join(form.group(1))), data=fields)
    raise AssertionError("the provider never sent the person back")

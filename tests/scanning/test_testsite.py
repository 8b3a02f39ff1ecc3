"""The shared local test site behaves as documented (checked with a plain httpx client)."""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx
import pytest
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite, gzip_bomb


async def test_routes_change_at_run_time_and_keep_repeated_headers(local_site: LocalSite) -> None:
    local_site.route("/", body="v1", headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    async with httpx.AsyncClient() as client:
        first = await client.get(local_site.url("/"))
        local_site.route("/", body="v2", status=503)
        second = await client.get(local_site.url("/"))
        missing = await client.get(local_site.url("/nowhere"))
    assert (first.status_code, first.text, first.headers.get_list("set-cookie")) == (200, "v1", ["a=1", "b=2"])
    assert (second.status_code, second.text) == (503, "v2")
    assert missing.status_code == 404
    assert [r.path for r in local_site.requests] == ["/", "/", "/nowhere"]


async def test_delay_gzip_chunks_and_redirects(local_site: LocalSite) -> None:
    local_site.route("/slow", body="late", delay=0.2)
    local_site.route("/packed", body="x" * 10_000, gzip=True, chunk_size=1000, chunk_delay=0.01)
    local_site.redirect("/old", "/packed", status=301)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        started = time.perf_counter()
        slow = await client.get(local_site.url("/slow"))
        elapsed = time.perf_counter() - started
        packed = await client.get(local_site.url("/old"))
    assert slow.text == "late" and 0.19 <= elapsed < 1.0
    assert packed.text == "x" * 10_000 and packed.headers["content-encoding"] == "gzip"
    assert [r.status_code for r in packed.history] == [301]


async def test_hostile_routes(local_site: LocalSite) -> None:
    local_site.route("/hang", hang=True)
    local_site.route("/broken", raw=b"NOT HTTP AT ALL\r\n\r\n")
    local_site.route("/huge", infinite=True, chunk_size=65536)
    async with httpx.AsyncClient(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(local_site.url("/hang"))
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(local_site.url("/broken"))
        received = 0
        async with client.stream("GET", local_site.url("/huge")) as response:
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > 1_000_000:
                    break
    assert received > 1_000_000
    assert len(gzip_bomb(10_000_000)) < 20_000


async def test_tls_site_presents_chosen_certificates(test_ca: TestCA) -> None:
    trusting = ssl.create_default_context(cafile=str(test_ca.pem_path))
    async with LocalSite(tls=test_ca) as valid, httpx.AsyncClient(verify=trusting) as client:
        valid.route("/", body="secure")
        assert (await client.get(valid.url("/"))).text == "secure"
    for kind, reason in [("expired", "expired"), ("wrong_host", "mismatch"), ("self_signed", "self-signed")]:
        async with LocalSite(tls=test_ca, certificate=kind) as site, httpx.AsyncClient(verify=trusting) as client:
            with pytest.raises(httpx.ConnectError, match=reason):
                await client.get(site.url("/"))


async def test_close_ends_hanging_and_endless_connections(local_site: LocalSite) -> None:
    local_site.route("/hang", hang=True)
    reader, writer = await asyncio.open_connection("127.0.0.1", local_site.port)
    writer.write(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(local_site.close(), 2)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()

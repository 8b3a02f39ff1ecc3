"""Request bodies over MAX_REQUEST_BODY_BYTES are a 413 before anything reads them, on a real server on loopback:
unauthenticated 100 MB POSTs (streamed, with or without a Content-Length) leave the serving process's memory
flat, and a large legitimate config import still goes through. The app runs in this process, so this process's
peak RSS is the server's."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import KEY_A, config_body
from tests.security.conftest import http

from techscaniq.api.body_limit import BodyLimit
from techscaniq.api.config_documents import MAX_DOCUMENT_BYTES
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

MB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)


async def body(size: int) -> AsyncIterator[bytes]:
    """`size` bytes, one 64 KiB chunk at a time (the test never holds the body)."""
    for _ in range(size // len(CHUNK)):
        yield CHUNK


def reset_peak_rss() -> int:
    """Current RSS in bytes, after resetting the kernel's peak-RSS mark (VmHWM) to it."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS") * 1024


def peak_rss() -> int:
    return _status_kb("VmHWM") * 1024


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert match
    return int(match.group(1))


def assert_refused(response: httpx.Response, limit: int = 10 * MB) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:200])
    assert response.json() == {"error": "payload_too_large", "detail": f"request body larger than {limit} bytes"}


async def test_four_unauthenticated_100_mb_posts_are_refused_before_they_are_read(server: MonitoringSystem) -> None:
    async with http(server) as client:
        before = reset_peak_rss()
        responses = await asyncio.gather(*(
            client.post("/api/v1/configs", content=body(100 * MB),
                        headers={"Content-Type": "application/json", "Content-Length": str(100 * MB)})
            for _ in range(4)))
        grown = peak_rss() - before
    for response in responses:
        assert_refused(response)
    assert grown < 20 * MB, f"peak RSS grew {grown / MB:.1f} MB"  # it was over 400 MB before the limit


async def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(server: MonitoringSystem) -> None:
    async with http(server) as client:
        before = reset_peak_rss()
        response = await client.post("/api/v1/configs", content=body(100 * MB),
                                     headers={"Content-Type": "application/json"})
        grown = peak_rss() - before
        assert "content-length" not in response.request.headers
        assert_refused(response)
        assert grown < 20 * MB, f"peak RSS grew {grown / MB:.1f} MB"
        # Same for a signed-in YAML import (the route reads that body itself), and the server answers afterwards.
        assert_refused(await client.post("/api/v1/configs/import", content=body(20 * MB),
                                         headers={"Content-Type": "application/yaml", "X-API-Key": KEY_A}))
        assert (await client.get("/health")).status_code == 200


async def test_a_body_longer_than_its_content_length_is_counted_not_trusted() -> None:
    # uvicorn never hands over more than the header says; another server might, and the count still holds.
    sent: list[MutableMapping[str, Any]] = []
    chunks = [{"type": "http.request", "body": CHUNK, "more_body": True}] * 20

    async def receive() -> dict[str, Any]:
        return chunks.pop()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["type"] == "http.request":
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-length", b"10")]}
    await BodyLimit(app, max_bytes=256 * 1024)(scope, receive, send)
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert b"read it all" not in b"".join(m.get("body", b"") for m in sent)


def big_import(target_bytes: int) -> bytes:
    """Configs with alert rules watching long technology lists, `target_bytes` of JSON or a little less."""
    rule = {"name": "stack watch", "conditions": {"type": "technology",
                                                  "technologies": [f"Technology {i}" for i in range(150)]}}
    one = config_body("Site", alert_rules=[{**rule, "id": f"r{j}"} for j in range(10)])
    count = target_bytes // (len(json.dumps(one)) + 2)
    return json.dumps([{**one, "name": f"Site {i}"} for i in range(count)]).encode()


@pytest.mark.timeout(120)
async def test_a_large_legitimate_import_still_works(server: MonitoringSystem) -> None:
    document = big_import(MAX_DOCUMENT_BYTES - 256 * 1024)
    assert len(document) > 4 * MB
    async with http(server, **{"X-API-Key": KEY_A}) as client:
        response = await client.post("/api/v1/configs/import", content=document,
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text[:300]
        assert len(response.json()["created"]) > 100 and response.json()["errors"] == []


async def test_the_limit_is_configurable(served_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", str(MB))
    assert Settings(_env_file=None).max_request_body_bytes == MB  # type: ignore[call-arg]
    assert served_settings.max_request_body_bytes >= MAX_DOCUMENT_BYTES  # any import the route takes passes
    settings = served_settings.model_copy(update={"max_request_body_bytes": MB})
    async with MonitoringSystem(settings, configure_logs=False) as system, \
            http(system, **{"X-API-Key": KEY_A, "Content-Type": "application/json"}) as client:
        accepted = await client.post("/api/v1/configs/import?dry_run=true", content=big_import(MB - 4096))
        assert accepted.status_code == 200 and accepted.json()["created"], accepted.text[:300]
        assert_refused(await client.post("/api/v1/configs/import?dry_run=true", content=big_import(MB + 64 * 1024)),
                       limit=MB)

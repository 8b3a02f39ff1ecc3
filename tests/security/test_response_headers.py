"""Every response of the API, the dashboard and the API docs carries `nosniff` and a Content-Security-Policy that
forbids framing, errors included; the dashboard may connect only to its own origin (its WebSocket is /ws on the
page's host and port), and no page needs an inline script."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
from tests.api.conftest import KEY_A
from tests.security.conftest import http

from techscaniq.system import MonitoringSystem


def policy(response: httpx.Response) -> dict[str, list[str]]:
    """The CSP as directive -> sources, after checking the headers every response must carry."""
    assert response.headers["x-content-type-options"] == "nosniff", response.url
    directives = [part.split() for part in response.headers["content-security-policy"].split(";") if part.strip()]
    parsed = {name: sources for name, *sources in directives}
    assert parsed["frame-ancestors"] == ["'none'"], response.url
    return parsed


async def over_the_limit(system: MonitoringSystem) -> AsyncIterator[bytes]:
    chunk = b" " * 65536
    for _ in range(system.settings.max_request_body_bytes // len(chunk) + 1):
        yield chunk


async def test_every_kind_of_response_carries_the_headers(server: MonitoringSystem) -> None:
    async with http(server) as client:
        responses = {
            "json": await client.get("/api/v1/auth/me", headers={"X-API-Key": KEY_A}),
            "unauthorized": await client.get("/api/v1/configs"),
            "health": await client.get("/health"),
            "dashboard": await client.get("/"),
            "static": await client.get("/static/app.js"),
            "not found": await client.get("/no/such/page"),
            "too large": await client.post("/api/v1/configs", content=over_the_limit(server),
                                           headers={"Content-Type": "application/json"}),
            "docs": await client.get("/docs"),
            "docs script": await client.get("/docs/init.js"),
        }
    assert {name: r.status_code for name, r in responses.items()} == {
        "json": 200, "unauthorized": 401, "health": 200, "dashboard": 200, "static": 200, "not found": 404,
        "too large": 413, "docs": 200, "docs script": 200}
    for name in ("json", "unauthorized", "health", "not found", "too large"):
        assert policy(responses[name])["default-src"] == ["'none'"], name  # data: loads nothing
    for name in ("dashboard", "static", "docs", "docs script"):
        assert policy(responses[name])["script-src"] == ["'self'"], name


async def test_the_dashboard_connects_only_to_its_own_origin(server: MonitoringSystem) -> None:
    origin = f"127.0.0.1:{server.ports['api']}"
    async with http(server) as client:
        page = await client.get("/")
        assert 'new WebSocket(`${scheme}://${location.host}/ws`' in (await client.get("/static/app.js")).text
        hostile = await client.get("/", headers={"Host": "evil.example; connect-src *"})
    connect = policy(page)["connect-src"]
    assert connect == ["'self'", f"ws://{origin}", f"wss://{origin}"]
    assert not {"ws:", "wss:", "*", "http:", "https:"} & set(connect)
    # A Host header that is not a host name is not written into the policy.
    assert policy(hostile)["connect-src"] == ["'self'"] and "evil" not in hostile.headers["content-security-policy"]


async def test_no_page_needs_an_inline_script_or_style(server: MonitoringSystem) -> None:
    async with http(server) as client:
        for path in ("/", "/docs"):
            page = (await client.get(path)).text
            scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
            assert scripts and all("src=" in attributes and not body.strip() for attributes, body in scripts), path
            assert "<style" not in page and " style=" not in page and not re.search(r"\son\w+=", page), path

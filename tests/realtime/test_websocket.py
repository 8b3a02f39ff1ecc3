"""The live WebSocket as a client meets it: authentication with close codes, tenant isolation,
per-config order, subscriptions, heartbeats, and a slow consumer disconnected (4008) while others
receive everything."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from typing import Any

import httpx
import jwt
import pytest
import websockets
from tests.realtime.conftest import HubFactory
from tests.support.testsite import LocalSite
from websockets.asyncio.client import ClientConnection

from techscaniq.api.auth import create_token, signing_key
from techscaniq.domain.events import Event, Topic
from techscaniq.realtime.hub import (
    SLOW_CONSUMER_CLOSE_CODE,
    TOO_MANY_CONNECTIONS_CLOSE_CODE,
    UNAUTHORIZED_CLOSE_CODE,
)
from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem


async def next_event(ws: ClientConnection, within: float = 10) -> dict[str, Any]:
    """The next pipeline event (control messages — welcome, subscribed, heartbeat — skipped)."""
    async with asyncio.timeout(within):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] not in ("welcome", "subscribed", "heartbeat", "pong"):
                return message


async def expect_close(ws: ClientConnection, code: int) -> None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def event(org: str, config_id: str, sequence: int, topic: Topic = Topic.CHANGE_DETECTED, **payload: Any) -> Event:
    return Event(topic=topic, key=config_id, organization_id=org, payload={"sequence": sequence, **payload})


async def test_bad_tokens_are_refused_with_a_close_code_on_both_ports(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_keys": "org-a:key-a-0123456789"})
    async with MonitoringSystem(settings, configure_logs=False) as system:
        for base in (f"ws://127.0.0.1:{system.ports['websocket']}/", f"ws://127.0.0.1:{system.ports['api']}/ws"):
            for query in ("", "?token=nonsense", f"?token={create_token(settings, 'org-a', expires_minutes=-1)}"):
                async with websockets.connect(base + query) as ws:
                    await expect_close(ws, UNAUTHORIZED_CLOSE_CODE)
            # A JWT in the Authorization header, and an API key in the query, are both accepted.
            header = {"Authorization": f"Bearer {create_token(settings, 'org-a')}"}
            for url, headers in ((base, header), (base + "?token=key-a-0123456789", {})):
                async with websockets.connect(url, additional_headers=headers) as ws:
                    welcome = json.loads(await ws.recv())
                    assert welcome["type"] == "welcome" and welcome["organization_id"] == "org-a"


async def test_a_connection_ends_when_its_token_expires(settings: Settings) -> None:
    async with MonitoringSystem(settings, configure_logs=False) as system:
        short_lived = jwt.encode({"sub": "t", "org": "org-a", "role": "viewer", "exp": int(time.time()) + 2},
                                 signing_key(settings), algorithm="HS256")
        async with websockets.connect(f"ws://127.0.0.1:{system.ports['websocket']}/?token={short_lived}") as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"
            await expect_close(ws, UNAUTHORIZED_CLOSE_CODE)
            assert ws.close_reason == "token expired"


async def test_a_scan_arrives_live_for_its_organization_only(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body="<html><head><title>Live</title></head><body>hi</body></html>",
                     headers=[("Server", "nginx/1.25.3")])
    async with MonitoringSystem(settings, configure_logs=False) as system:
        url = f"ws://127.0.0.1:{system.ports['websocket']}/?token="
        async with websockets.connect(url + create_token(settings, "org-a")) as ours, \
                websockets.connect(url + create_token(settings, "org-b")) as theirs:
            config_id = await system.add_monitoring_config({
                "organization_id": "org-a", "name": "Live", "url": local_site.url("/"),
                "schedule": {"type": "interval", "expression": "1h"}})
            # Org B even asks for org A's config by id: it matches nothing of B's.
            await theirs.send(json.dumps({"action": "subscribe", "config_ids": [config_id]}))
            message = await next_event(ours)
            assert message["type"] == "scan.completed" and message["config_id"] == config_id
            summary = message["data"]["scan"]
            assert summary["status"] == "success" and summary["status_code"] == 200
            assert "Nginx" in {t["name"] for t in summary["technologies"]}
            assert summary["security"]["grade"] and "ttfb_ms" in summary["metrics"]
            assert "evidence" not in json.dumps(summary)  # compact: the full scan is one GET away
            # B's first event is its own, published after A's scan: nothing of A's came before it.
            other = await system.add_monitoring_config({
                "organization_id": "org-b", "name": "B", "url": local_site.url("/"),
                "schedule": {"type": "interval", "expression": "1h"}})
            await theirs.send(json.dumps({"action": "subscribe", "config_ids": [other]}))
            received = await next_event(theirs)
            assert received["config_id"] == other and received["organization_id"] == "org-b"
            async with httpx.AsyncClient() as http:
                stats = (await http.get(f"http://127.0.0.1:{system.ports['websocket']}/stats", headers={
                    "Authorization": f"Bearer {create_token(system.settings, 'org-a')}"})).json()  # counts need a token
            assert stats["connections"] == 2 and stats["messages_sent"] >= 2


async def test_events_of_one_config_arrive_in_order_and_subscriptions_filter(hub_factory: HubFactory) -> None:
    _, bus, port = await hub_factory()
    async with websockets.connect(f"ws://127.0.0.1:{port}/?token=token-a") as whole, \
            websockets.connect(f"ws://127.0.0.1:{port}/?token=token-a") as single:
        await single.send(json.dumps({"action": "subscribe", "config_ids": ["cfg-2"]}))
        while json.loads(await single.recv())["type"] != "subscribed":
            pass
        for sequence in range(300):
            await bus.publish(event("org-a", f"cfg-{sequence % 3}", sequence))
        received = [await next_event(whole) for _ in range(300)]
        for config in ("cfg-0", "cfg-1", "cfg-2"):
            sequences = [m["data"]["sequence"] for m in received if m["config_id"] == config]
            assert sequences == sorted(sequences) and len(sequences) == 100
        only = [await next_event(single) for _ in range(100)]
        assert {m["config_id"] for m in only} == {"cfg-2"}
        assert [m["data"]["sequence"] for m in only] == list(range(2, 300, 3))


async def test_commands_pings_and_heartbeats(hub_factory: HubFactory) -> None:
    _, _, port = await hub_factory(heartbeat_seconds=0.2)
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?token=token-b") as ws:
        assert json.loads(await ws.recv())["heartbeat_seconds"] == 0.2
        await ws.send("not json")
        assert json.loads(await ws.recv()) == {"type": "error", "detail": "command is not JSON"}
        await ws.send(json.dumps({"action": "subscribe", "config_ids": [1, 2]}))
        assert "config_ids" in json.loads(await ws.recv())["detail"]
        await ws.send(json.dumps({"action": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
        assert json.loads(await ws.recv()) == {"type": "heartbeat"}  # nothing else to say for 0.2 s
        await ws.send(json.dumps({"action": "subscribe", "config_ids": ["x"]}))
        assert json.loads(await ws.recv()) == {"type": "subscribed", "scope": "configs", "config_ids": ["x"]}
        await ws.send(json.dumps({"action": "subscribe"}))
        assert json.loads(await ws.recv())["scope"] == "organization"


class StalledClient:
    """A WebSocket client that completes the handshake and then stops reading (a frozen browser tab):
    a raw socket with a small receive buffer, so back-pressure reaches the server quickly."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    async def connect(self) -> StalledClient:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET /?token={self.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        assert b" 101 " in await self.reader.readuntil(b"\r\n\r\n")
        return self

    async def close_code(self) -> int:
        """Reads (at last) until the server's close frame; returns its code."""
        async with asyncio.timeout(15):
            while True:
                head = await self.reader.readexactly(2)
                length = head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                payload = await self.reader.readexactly(length)
                if head[0] & 0x0F == 0x8:
                    self.writer.close()
                    return int(struct.unpack("!H", payload[:2])[0])


@pytest.mark.timeout(60)
async def test_a_slow_consumer_is_disconnected_while_the_others_get_everything(hub_factory: HubFactory) -> None:
    hub, bus, port = await hub_factory(queue_size=64)
    stalled = await StalledClient(port, "token-a").connect()
    async with websockets.connect(f"ws://127.0.0.1:{port}/?token=token-a", max_size=None) as fast:
        padding = "x" * 100_000
        for sequence in range(300):
            await bus.publish(event("org-a", "cfg", sequence, padding=padding))
            await asyncio.sleep(0.002)  # 50 MB/s: a client that reads keeps up
        received = [(await next_event(fast, within=30))["data"]["sequence"] for _ in range(300)]
        assert received == list(range(300))
        assert await stalled.close_code() == SLOW_CONSUMER_CLOSE_CODE
    stats = hub.stats()
    assert stats["slow_consumer_disconnects"] == 1 and stats["messages_dropped"] >= 1
    assert 300 <= stats["messages_sent"] < 600


async def test_one_organization_cannot_take_every_connection(hub_factory: HubFactory) -> None:
    _, _, port = await hub_factory(max_connections_per_organization=2)
    url = f"ws://127.0.0.1:{port}/ws?token="
    async with websockets.connect(url + "token-a") as first, websockets.connect(url + "token-a") as second:
        for ws in (first, second):
            assert json.loads(await ws.recv())["type"] == "welcome"
        async with websockets.connect(url + "token-a") as third:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await third.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == TOO_MANY_CONNECTIONS_CLOSE_CODE
        async with websockets.connect(url + "token-b") as other_tenant:
            assert json.loads(await other_tenant.recv())["type"] == "welcome"


async def test_change_and_alert_messages_carry_the_sentence_people_read(hub_factory: HubFactory) -> None:
    _, bus, port = await hub_factory()
    upgrade = {"type": "technology", "change_type": "upgraded", "subject": "jQuery", "before": "3.6.0",
               "after": "3.7.1", "scan_id": "s1"}
    async with websockets.connect(f"ws://127.0.0.1:{port}/?token=token-a") as ws:
        await bus.publish(Event(topic=Topic.CHANGE_DETECTED, key="cfg-1", organization_id="org-a",
                                payload={"scan_id": "s1", "config_id": "cfg-1", "changes": [upgrade]}))
        await bus.publish(Event(topic=Topic.ALERT_RESOLVED, key="cfg-1", organization_id="org-a",
                                payload={"alert": {"id": "a1", "status": "resolved", "changes": [upgrade]}}))
        changed, resolved = await next_event(ws), await next_event(ws)
    assert changed["data"]["changes"][0]["summary"] == "jQuery updated from 3.6.0 to 3.7.1"
    assert resolved["data"]["alert"]["summary"] == "Resolved: jQuery updated from 3.6.0 to 3.7.1"

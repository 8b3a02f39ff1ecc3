"""The realtime hub: forwards pipeline events to the WebSocket clients of their organization.

Every replica consumes every event (its own consumer group) and serves only its own clients, so a
client connected anywhere sees events produced anywhere. A client that cannot keep up (its bounded
queue is full) is disconnected with close code 4008 instead of slowing everyone else: broadcasting
only ever puts into queues, never waits on a socket. Message schema: docs/websocket.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from techscaniq.bus.protocol import EventBus
from techscaniq.domain.events import Event, Topic
from techscaniq.observability.metrics import WEBSOCKET_CONNECTIONS, WEBSOCKET_MESSAGES
from techscaniq.realtime.messages import encode, live_message

log = logging.getLogger("techscaniq.realtime")

# Browsers cannot set headers on a WebSocket: the token travels as a subprotocol offer
# (["techscaniq.v1", "bearer.<token>"]) and only the protocol name is echoed back, never the token.
SUBPROTOCOL = "techscaniq.v1"
BEARER_SUBPROTOCOL_PREFIX = "bearer."
LIVE_TOPICS = (Topic.SCAN_COMPLETED, Topic.CHANGE_DETECTED, Topic.ALERT_TRIGGERED, Topic.ALERT_RESOLVED)
SLOW_CONSUMER_CLOSE_CODE = 4008
UNAUTHORIZED_CLOSE_CODE = 4401
TOO_MANY_CONNECTIONS_CLOSE_CODE = 4429
MAX_CONFIG_SUBSCRIPTIONS = 1000
MAX_COMMAND_BYTES = 64 * 1024
CLOSE_TIMEOUT_SECONDS = 5.0



@dataclass(frozen=True)
class Credential:
    """Who a connection is for, and what ends it: `ends_with` holds the ids (a JWT's jti, `key:<id>` of the API
    key it stands for, a sign-in session's id) whose revocation, on any replica, closes the connection."""

    organization_id: str
    ends_with: frozenset[str] = frozenset()
    seconds_left: float | None = None  # a JWT or session's remaining lifetime; None: no expiry


# A token (JWT or API key) -> its Credential, or None when invalid.
Authenticator = Callable[[str | None], Awaitable[Credential | None]]
# The dashboard's session cookie -> its Credential, or None (accounts/authentication.py).
SessionAuthenticator = Callable[[str], Awaitable[Credential | None]]
SESSION_COOKIE = "techscaniq_session"
# The commands a client may send; each has a row in api/permissions.py.
COMMANDS = ("subscribe", "unsubscribe", "ping")


@dataclass(eq=False)
class Client:
    organization_id: str
    websocket: WebSocket
    queue: asyncio.Queue[tuple[str, bool]]  # (text, is an event)
    config_ids: set[str] = field(default_factory=set)  # empty: every config of the organization
    sender: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None  # a JWT's connection ends when the token does
    idle: bool = True  # nothing sent since the last heartbeat tick
    ends_with: frozenset[str] = frozenset()  # Credential.ends_with: revoking any of these closes it

    def wants(self, event: Event) -> bool:
        if event.organization_id != self.organization_id:
            return False
        return not self.config_ids or event.key in self.config_ids


class RealtimeHub:
    def __init__(self, authenticate: Authenticator, queue_size: int = 1000,
                 heartbeat_seconds: float = 20.0, max_connections_per_organization: int = 1000,
                 authenticate_session: SessionAuthenticator | None = None) -> None:
        self._authenticate = authenticate
        self._authenticate_session = authenticate_session
        # One tenant cannot take every socket of a replica.
        self._max_per_organization = max_connections_per_organization
        self._queue_size = queue_size
        self._heartbeat = heartbeat_seconds
        self._closing: set[asyncio.Task[None]] = set()
        self._heartbeats: asyncio.Task[None] | None = None
        self.clients: set[Client] = set()
        self._by_organization: dict[str, set[Client]] = {}  # an event only looks at its own tenant's clients
        self.messages_sent = 0
        self.messages_dropped = 0
        self.slow_disconnects = 0
        self.app = Starlette(routes=[Route("/stats", self.stats_endpoint), WebSocketRoute("/ws", self.endpoint),
                                     WebSocketRoute("/", self.endpoint)])

    def subscribe(self, bus: EventBus, group: str) -> None:
        """Every live topic, in a group of this replica's own (each replica's clients see every event)."""
        for topic in LIVE_TOPICS:
            bus.subscribe(topic, group, self.broadcast)

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self.clients),
            "subscriptions": sum(max(1, len(c.config_ids)) for c in self.clients),
            "organizations": len({c.organization_id for c in self.clients}),
            "messages_sent": self.messages_sent,
            "messages_dropped": self.messages_dropped,
            "slow_consumer_disconnects": self.slow_disconnects,
        }

    async def stats_endpoint(self, request: Request) -> JSONResponse:
        """Every count for a caller with a token or API key (Authorization: Bearer / X-API-Key). Without one, the
        status and the two totals the deployment guide's `curl :8765/stats` is for (connections, subscriptions);
        organizations and message counts stay private."""
        header = request.headers.get("authorization", "")
        token = _bearer(header) or request.headers.get("x-api-key")
        stats = self.stats()
        if token and await self._authenticate(token) is not None:
            return JSONResponse({"status": "running", **stats})
        return JSONResponse({"status": "running", "connections": stats["connections"],
                             "subscriptions": stats["subscriptions"]})

    async def broadcast(self, event: Event) -> None:
        text: str | None = None
        for client in list(self._by_organization.get(event.organization_id, ())):
            if not client.wants(event):
                continue
            text = text or encode(live_message(event))
            self._offer(client, text, event=True)

    async def endpoint(self, websocket: WebSocket) -> None:
        offered = _offered_subprotocols(websocket.headers.get("sec-websocket-protocol"))
        # The query token is kept only for old clients (docs/websocket.md); log lines scrub it.
        token = (_subprotocol_token(offered) or _bearer(websocket.headers.get("authorization"))
                 or websocket.query_params.get("token"))
        credential = await self._authenticate(token) if token else None
        cookie = websocket.cookies.get(SESSION_COOKIE)
        if token is None and cookie and self._authenticate_session is not None and _same_origin(websocket):
            # The session cookie, from a page of this very site only (a cookie goes with any page's request).
            credential = await self._authenticate_session(cookie)
        # Accept first, then close: a close before accepting is an HTTP 403 that browsers cannot read.
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        if credential is None:
            await websocket.close(code=UNAUTHORIZED_CLOSE_CODE, reason="invalid or missing token")
            return
        organization_id, lifetime = credential.organization_id, credential.seconds_left
        if len(self._by_organization.get(organization_id, ())) >= self._max_per_organization:
            await websocket.close(code=TOO_MANY_CONNECTIONS_CLOSE_CODE,
                                  reason=f"at most {self._max_per_organization} connections per organization")
            return
        client = Client(organization_id, websocket, asyncio.Queue(self._queue_size), ends_with=credential.ends_with)
        self.clients.add(client)
        self._by_organization.setdefault(organization_id, set()).add(client)
        WEBSOCKET_CONNECTIONS.set(len(self.clients))
        client.sender = asyncio.create_task(self._send_loop(client))
        if lifetime is not None:
            client.expiry = asyncio.get_running_loop().call_later(lifetime, self._expire, client)
        if self._heartbeats is None or self._heartbeats.done():
            self._heartbeats = asyncio.create_task(self._heartbeat_loop())
        try:
            await websocket.send_text(encode({"type": "welcome", "organization_id": organization_id,
                                              "heartbeat_seconds": self._heartbeat}))
            while True:
                text = await websocket.receive_text()
                self._handle_command(client, text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if client.expiry is not None:
                client.expiry.cancel()
            client.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await client.sender
            self._forget(client)

    def _handle_command(self, client: Client, text: str) -> None:
        command = _parse_command(text)
        if isinstance(command, str):
            self._offer(client, encode({"type": "error", "detail": command}))
            return
        action, config_ids = command
        if action == "ping":
            self._offer(client, encode({"type": "pong"}))
            return
        if action == "subscribe":
            # No config ids: the whole organization. Ids of another organization match nothing.
            client.config_ids = client.config_ids | config_ids if config_ids else set()
        elif action == "unsubscribe":
            client.config_ids -= config_ids
        if len(client.config_ids) > MAX_CONFIG_SUBSCRIPTIONS:
            client.config_ids = set(sorted(client.config_ids)[:MAX_CONFIG_SUBSCRIPTIONS])
            self._offer(client, encode({"type": "error", "detail": f"at most {MAX_CONFIG_SUBSCRIPTIONS} config_ids"}))
        scope = "configs" if client.config_ids else "organization"
        self._offer(client, encode({"type": "subscribed", "scope": scope, "config_ids": sorted(client.config_ids)}))

    def _offer(self, client: Client, text: str, event: bool = False) -> None:
        if client not in self.clients:
            return
        try:
            client.queue.put_nowait((text, event))
        except asyncio.QueueFull:
            self.messages_dropped += 1
            WEBSOCKET_MESSAGES.labels("dropped").inc()
            self._disconnect_slow(client)

    async def _send_loop(self, client: Client) -> None:
        # A plain get() per message: wait_for() would cost a task and a timer per message per client.
        while True:
            text, event = await client.queue.get()
            client.idle = False
            await client.websocket.send_text(text)
            if event:
                self.messages_sent += 1
                WEBSOCKET_MESSAGES.labels("sent").inc()

    async def _heartbeat_loop(self) -> None:
        """One timer for all clients: a client that was sent nothing for a period gets a heartbeat."""
        heartbeat = encode({"type": "heartbeat"})
        while self.clients:
            await asyncio.sleep(self._heartbeat)
            for client in list(self.clients):
                if client.idle:
                    self._offer(client, heartbeat)
                client.idle = True

    def _disconnect_slow(self, client: Client) -> None:
        """Never awaited by broadcast: the close frame may itself wait on the slow socket."""
        self.slow_disconnects += 1
        log.warning("disconnecting slow WebSocket client of %s", client.organization_id)
        self._disconnect(client, SLOW_CONSUMER_CLOSE_CODE, "client too slow")

    def close_revoked(self, revoked: frozenset[tuple[str, str]]) -> int:
        """Close (4401) every connection whose credential has ended: (organization, Credential.ends_with id)
        pairs — a revoked JWT or API key, a session signed out."""
        ended = [client for client in self.clients
                 if any((client.organization_id, ending) in revoked for ending in client.ends_with)]
        for client in ended:
            self._disconnect(client, UNAUTHORIZED_CLOSE_CODE, "token revoked")
        return len(ended)

    def _expire(self, client: Client) -> None:
        self._disconnect(client, UNAUTHORIZED_CLOSE_CODE, "token expired")

    def _disconnect(self, client: Client, code: int, reason: str) -> None:
        self._forget(client)
        if client.sender is not None:
            client.sender.cancel()
        task = asyncio.create_task(self._close(client, code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _forget(self, client: Client) -> None:
        self.clients.discard(client)
        members = self._by_organization.get(client.organization_id)
        if members is not None:
            members.discard(client)
            if not members:
                del self._by_organization[client.organization_id]
        WEBSOCKET_CONNECTIONS.set(len(self.clients))

    @staticmethod
    async def _close(client: Client, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await client.websocket.close(code=code, reason=reason)


def _parse_command(text: str) -> tuple[str, set[str]] | str:
    """(action, config_ids), or the reason the command is refused."""
    if len(text) > MAX_COMMAND_BYTES:
        return f"command longer than {MAX_COMMAND_BYTES} bytes"
    try:
        command = json.loads(text)
    except ValueError:
        return "command is not JSON"
    if not isinstance(command, dict):
        return "command must be a JSON object"
    action = command.get("action")
    if action not in COMMANDS:
        return "action: expected subscribe, unsubscribe or ping"
    raw_ids = command.get("config_ids", [])
    if not isinstance(raw_ids, list) or not all(isinstance(item, str) and 0 < len(item) <= 200 for item in raw_ids):
        return "config_ids: expected a list of config id strings"
    return action, set(raw_ids)


def _same_origin(websocket: WebSocket) -> bool:
    """The handshake's Origin is the host it was sent to (what a browser sends from our own page)."""
    origin = websocket.headers.get("origin", "")
    host = websocket.headers.get("host", "")
    return bool(host) and origin.split("://", 1)[-1] == host


def _offered_subprotocols(header: str | None) -> list[str]:
    return [item.strip() for item in (header or "").split(",") if item.strip()]


def _subprotocol_token(offered: list[str]) -> str | None:
    for item in offered:
        if item.startswith(BEARER_SUBPROTOCOL_PREFIX):
            return item[len(BEARER_SUBPROTOCOL_PREFIX):] or None
    return None


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None

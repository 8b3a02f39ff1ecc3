"""The realtime hub: forwards pipeline events to the WebSocket clients of their organization.

Every replica consumes every event (its own consumer group) and serves only its own clients, so a
client connected anywhere sees events produced anywhere. A client that cannot keep up (its bounded
queue is full) is disconnected with close code 4008 instead of slowing everyone else."""

from __future__ import annotations

import asyncio
import contextlib
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

log = logging.getLogger("techscaniq.realtime")

LIVE_TOPICS = (Topic.SCAN_COMPLETED, Topic.CHANGE_DETECTED, Topic.ALERT_TRIGGERED, Topic.ALERT_RESOLVED)
SLOW_CONSUMER_CLOSE_CODE = 4008
UNAUTHORIZED_CLOSE_CODE = 4401

# Returns the organization id of a valid token, or None.
Authenticator = Callable[[str | None], Awaitable[str | None]]


@dataclass
class Client:
    organization_id: str
    websocket: WebSocket
    queue: asyncio.Queue[dict[str, Any]]
    config_ids: set[str] = field(default_factory=set)  # empty: every config of the organization

    def wants(self, event: Event) -> bool:
        if event.organization_id != self.organization_id:
            return False
        return not self.config_ids or event.key in self.config_ids


class RealtimeHub:
    def __init__(self, bus: EventBus, authenticate: Authenticator, instance_id: str, queue_size: int = 1000,
                 heartbeat_seconds: float = 20.0) -> None:
        self._authenticate = authenticate
        self._queue_size = queue_size
        self._heartbeat = heartbeat_seconds
        self.clients: set[Client] = set()
        self.messages_sent = 0
        self.messages_dropped = 0
        self.slow_disconnects = 0
        for topic in LIVE_TOPICS:
            bus.subscribe(topic, f"realtime-{instance_id}", self.broadcast)
        self.app = Starlette(routes=[Route("/stats", self.stats_endpoint), WebSocketRoute("/ws", self.endpoint),
                                     WebSocketRoute("/", self.endpoint)])

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
        return JSONResponse(self.stats())

    async def broadcast(self, event: Event) -> None:
        message = {"type": event.topic.value, "id": event.id, "config_id": event.key,
                   "occurred_at": event.occurred_at.isoformat(), "schema_version": event.schema_version,
                   "data": event.payload}
        for client in list(self.clients):
            if not client.wants(event):
                continue
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                self.messages_dropped += 1
                WEBSOCKET_MESSAGES.labels("dropped").inc()
                await self._disconnect_slow(client)

    async def endpoint(self, websocket: WebSocket) -> None:
        token = websocket.query_params.get("token") or _bearer(websocket.headers.get("authorization"))
        organization_id = await self._authenticate(token)
        if organization_id is None:
            await websocket.close(code=UNAUTHORIZED_CLOSE_CODE, reason="invalid or missing token")
            return
        await websocket.accept()
        client = Client(organization_id, websocket, asyncio.Queue(self._queue_size))
        self.clients.add(client)
        WEBSOCKET_CONNECTIONS.set(len(self.clients))
        sender = asyncio.create_task(self._send_loop(client))
        try:
            await websocket.send_json({"type": "welcome", "organization_id": organization_id})
            while True:
                command = await websocket.receive_json()
                await self._handle_command(client, command)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self.clients.discard(client)
            WEBSOCKET_CONNECTIONS.set(len(self.clients))

    async def _handle_command(self, client: Client, command: Any) -> None:
        if not isinstance(command, dict):
            return
        action = command.get("action")
        config_ids = {str(c) for c in command.get("config_ids", [])}
        if action == "subscribe":
            client.config_ids |= config_ids
        elif action == "unsubscribe":
            client.config_ids -= config_ids
        elif action == "ping":
            client.queue.put_nowait({"type": "pong"})
        client.queue.put_nowait({"type": "subscribed", "config_ids": sorted(client.config_ids)})

    async def _send_loop(self, client: Client) -> None:
        while True:
            try:
                message = await asyncio.wait_for(client.queue.get(), timeout=self._heartbeat)
            except TimeoutError:
                message = {"type": "heartbeat"}
            await client.websocket.send_json(message)
            if message["type"] not in ("heartbeat", "pong", "subscribed"):
                self.messages_sent += 1
                WEBSOCKET_MESSAGES.labels("sent").inc()

    async def _disconnect_slow(self, client: Client) -> None:
        self.clients.discard(client)
        self.slow_disconnects += 1
        log.warning("disconnecting slow WebSocket client of %s", client.organization_id)
        with contextlib.suppress(Exception):
            await client.websocket.close(code=SLOW_CONSUMER_CLOSE_CODE, reason="client too slow")


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None

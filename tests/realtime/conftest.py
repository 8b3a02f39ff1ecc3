"""A realtime hub served on its own (a real uvicorn server on 127.0.0.1, port 0) with the in-process bus."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvicorn

from techscaniq.bus.memory import InMemoryEventBus
from techscaniq.realtime.hub import Credential, RealtimeHub

TOKENS = {"token-a": "org-a", "token-b": "org-b"}


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no started event)
        await asyncio.sleep(0.01)
    return server, task, sock.getsockname()[1]


HubFactory = Callable[..., Awaitable[tuple[RealtimeHub, InMemoryEventBus, int]]]


@pytest.fixture
async def hub_factory() -> AsyncIterator[HubFactory]:
    """`await hub_factory(queue_size=.., heartbeat_seconds=..)` -> (hub, bus, port); tokens in TOKENS."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None], InMemoryEventBus]] = []

    async def authenticate(token: str | None) -> Credential | None:
        organization_id = TOKENS.get(token or "")
        return None if organization_id is None else Credential(organization_id, frozenset({token or ""}))

    async def make(**options: Any) -> tuple[RealtimeHub, InMemoryEventBus, int]:
        bus = InMemoryEventBus()
        hub = RealtimeHub(authenticate, **options)
        hub.subscribe(bus, "realtime-test")
        await bus.start()
        server, task, port = await serve(hub.app)
        running.append((server, task, bus))
        return hub, bus, port

    yield make
    for server, task, bus in running:
        server.should_exit = True
        await bus.stop(drain_seconds=1)
        await asyncio.wait_for(task, 10)

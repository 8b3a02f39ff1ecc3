"""Serving an ASGI app (the API, the WebSocket hub) inside the system's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import uvicorn

from techscaniq.health import HealthService

log = logging.getLogger("techscaniq.system")


class _EmbeddedServer(uvicorn.Server):
    """The system owns SIGINT/SIGTERM: uvicorn must not capture (and later re-raise) them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True)
class Serving:
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int


async def serve(name: str, app: Any, host: str, port: int, status: HealthService) -> Serving | None:
    """Listening and started, or None (the component shown failed) when the port cannot be bound."""
    # We bind the socket ourselves: a port in use is then a clear component failure, not an exit.
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        status.set(name, "failed", f"cannot listen on {host}:{port}: {exc.strerror}")
        log.error("%s server cannot listen on port %s: %s", name, port, exc)
        return None
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", ws_ping_interval=20)
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{name}-server")
    while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn offers no started event)
        await asyncio.sleep(0.01)
    bound: int = sock.getsockname()[1]
    status.set(name, "running", f"http://{host}:{bound}")
    return Serving(server, task, bound)

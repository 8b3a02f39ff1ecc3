"""A real HTTP/2 website for tests: hypercorn on 127.0.0.1 over TLS (test CA), offering h2 and http/1.1 by ALPN.

LocalSite (testsite.py) speaks HTTP/1.1 only; this one is for what must hold over HTTP/2. It runs in the
test's own event loop and answers from a small route table, like LocalSite:

    async with H2Site(test_ca) as site:
        site.route("/", body=b"<html>hi</html>", delay=0.1, chunk_size=1000, chunk_delay=0.05)
        site.route("/old", status=301, headers=[("location", "/")])
        site.route("/huge", infinite=True)                  # endless body, 64 KiB DATA frames
        site.url("/")                                        # "https://127.0.0.1:<port>/"
        site.requests                                        # (http_version, path, headers, client_port)

`alpn=("http/1.1",)` makes a TLS site that does not offer h2 (the fallback case).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from tests.support.certificates import SITE_IDENTITIES, TestCA

HOST = "127.0.0.1"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@dataclass
class H2Route:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds before the response headers
    chunk_size: int | None = None  # send the body in pieces of this size...
    chunk_delay: float = 0.0  # ...with this pause between them
    infinite: bool = False  # endless body of 64 KiB pieces (until the client goes away; 64 MiB at most)


@dataclass
class H2Request:
    http_version: str  # as the ASGI server saw it: "2" or "1.1"
    path: str
    headers: dict[str, str]
    client_port: int  # the client's TCP port: requests sharing it came over one connection


class H2Site:
    """One HTTPS site served by hypercorn; unknown paths answer 404."""

    def __init__(self, ca: TestCA, *, alpn: tuple[str, ...] = ("h2", "http/1.1")) -> None:
        self.routes: dict[str, H2Route] = {}
        self.requests: list[H2Request] = []
        self.port = 0
        self._directory = Path(tempfile.mkdtemp(prefix="techscaniq-h2site-"))
        leaf = ca.ca.issue_cert(*SITE_IDENTITIES, organization_name="TechScanIQ Test Site")
        leaf.cert_chain_pems[0].write_to_path(str(self._directory / "cert.pem"))
        leaf.private_key_pem.write_to_path(str(self._directory / "key.pem"))
        self._alpn = list(alpn)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> H2Site:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((HOST, 0))
        listener.listen(128)  # listening before hypercorn runs: clients may connect at once
        self.port = listener.getsockname()[1]
        config = Config()
        config.bind = [f"fd://{listener.detach()}"]  # hypercorn owns (and closes) the socket
        config.certfile = str(self._directory / "cert.pem")
        config.keyfile = str(self._directory / "key.pem")
        config.alpn_protocols = self._alpn
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 0.1
        self._task = asyncio.create_task(serve(self._app, config, shutdown_trigger=self._stop.wait))  # type: ignore[arg-type]
        return self

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 2.0)

    async def __aenter__(self) -> H2Site:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def route(self, path: str, **fields: Any) -> H2Route:
        self.routes[path] = route = H2Route(**fields)
        return route

    def url(self, path: str = "/", host: str = HOST) -> str:
        return f"https://{host}:{self.port}{path}"

    async def _app(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                   send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to set up
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        self.requests.append(H2Request(scope["http_version"], scope["path"], headers, scope["client"][1]))
        route = self.routes.get(scope["path"]) or H2Route(status=404, body=b"not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        response_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in route.headers]
        if not route.infinite and route.chunk_size is None:
            response_headers.append((b"content-length", str(len(route.body)).encode()))
        await send({"type": "http.response.start", "status": route.status, "headers": response_headers})
        if route.infinite:
            await _send_until_disconnected(receive, send)
            return
        size = route.chunk_size or max(1, len(route.body))
        pieces = [route.body[start : start + size] for start in range(0, len(route.body), size)] or [b""]
        for index, piece in enumerate(pieces):
            if index and route.chunk_delay:
                await asyncio.sleep(route.chunk_delay)
            await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces) - 1})


async def _send_until_disconnected(receive: Callable[[], Awaitable[Message]],
                                   send: Callable[[Message], Awaitable[None]]) -> None:
    """An endless body that stops once the client is gone: after a disconnect the server may drop what is sent
    without blocking, so a blind loop would spin (and buffer) forever. 64 MiB caps it whatever happens."""
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    filler = b"x" * 65536
    try:
        for _ in range(1024):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": filler, "more_body": True})
            await asyncio.sleep(0)  # let the watcher see a disconnect
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()

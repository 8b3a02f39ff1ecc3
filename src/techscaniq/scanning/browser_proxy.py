"""The one way out for Chromium in browser mode: a local HTTP proxy that resolves, vets and pins every
address itself.

Chromium is launched with this proxy for every scheme and with its own name resolution switched off
(browser.py), so navigations, redirects, subresources, iframes, fetches and WebSockets all arrive here as
`CONNECT host:port` (https, wss, ws) or an absolute-form request (`GET http://host/path`). Each is resolved
here, every address checked against the scan's address policy, and the connection made to the vetted
address — Chromium never resolves a name, so there is no second lookup to rebind. A refused or
unresolvable target is answered 403 and recorded for the scan's details.

Plain-HTTP requests are forwarded one per connection (`Connection: close` both ways), so a kept-alive
client connection can never carry a second request to another host past the check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from techscaniq.egress.address_guard import AddressPolicy, BlockedAddressError
from techscaniq.egress.backend import DNSResolutionError, resolve

log = logging.getLogger(__name__)

_HEAD_LIMIT = 64 * 1024  # request and response heads; Chromium's own limit on response headers is 256 KB
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"}
_PIPE_CHUNK = 64 * 1024
# On the proxy's own refusals, so the browser step can tell "the page is on a guarded address" from a 403.
BLOCKED_HEADER = "X-TechScanIQ-Blocked"


class GuardedProxy:
    """Serve on 127.0.0.1 (an ephemeral port) while `serving()` is open; `refusal_of(url)` says why a
    request was refused."""

    def __init__(self, policy: AddressPolicy, connect_timeout_seconds: float = 10.0) -> None:
        self._policy = policy
        self._connect_timeout = connect_timeout_seconds
        self.reasons: dict[str, str] = {}  # host:port -> why it was refused
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[GuardedProxy]:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._connect_timeout)
            request_line, _, header_block = head.partition(b"\r\n")
            method, target, version = request_line.decode("latin-1").split(" ", 2)
            connect = method.upper() == "CONNECT"
            parts = urlsplit(f"//{target}" if connect else target)
            if not parts.hostname or not ((connect and parts.port) or parts.scheme == "http"):
                return await _answer(writer, 400, "only CONNECT host:port and absolute http:// requests")
            host, port = parts.hostname, parts.port or 80
            connection = await self._connect(host, port, writer)
            if connection is None:
                return
            upstream_reader, upstream = connection
            if connect:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                upstream.write(_forward_head(f"{method} {path} {version}", header_block))
                await upstream.drain()
                await _relay_response_head(upstream_reader, writer)
            await _pipe_both(reader, writer, upstream_reader, upstream)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, ValueError):
            pass  # a client that went away or spoke nonsense: nothing to report to the scan
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()

    async def _connect(
        self, host: str, port: int, client: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Resolve, vet every address, connect to the first vetted address that answers."""
        name = host.strip("[]")
        try:
            addresses = await resolve(name, port, self._connect_timeout)
            for address in addresses:
                self._policy.check(name, address)
        except (BlockedAddressError, DNSResolutionError) as exc:
            self._record(f"{name}:{port}", str(exc))
            await _answer(client, 403, "blocked by the address guard", blocked=True)
            return None
        for address in addresses:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(address, port, limit=_HEAD_LIMIT), self._connect_timeout
                )
            except (OSError, TimeoutError):
                continue
            return reader, writer
        await _answer(client, 502, "could not connect")
        return None

    def _record(self, target: str, reason: str) -> None:
        self.reasons.setdefault(target, reason)
        log.debug("browser request refused: %s: %s", target, reason)

    def refusal_of(self, url: str) -> str | None:
        """Why a request to `url` was refused (None if it was not): for the page's own navigation."""
        parts = urlsplit(url)
        default = 443 if parts.scheme in ("https", "wss") else 80
        return self.reasons.get(f"{parts.hostname}:{parts.port or default}")


def _forward_head(request_line: str, header_block: bytes) -> bytes:
    lines = [request_line.encode("latin-1")]
    for line in header_block.split(b"\r\n"):
        if line and line.split(b":", 1)[0].strip().lower().decode("latin-1") not in _HOP_BY_HOP:
            lines.append(line)
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _relay_response_head(upstream: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
    """Pass the upstream's response head on with `Connection: close`, so Chromium opens a new proxy
    connection (and a new check) for its next request."""
    head = await upstream.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    client.write(_forward_head(status_line.decode("latin-1"), header_block))
    await client.drain()


async def _pipe_both(
    client_reader: asyncio.StreamReader, client: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
) -> None:
    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(_PIPE_CHUNK):
                sink.write(chunk)
                await sink.drain()
        with contextlib.suppress(OSError):
            if sink.can_write_eof():
                sink.write_eof()

    await asyncio.gather(pipe(client_reader, upstream), pipe(upstream_reader, client))


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str, blocked: bool = False) -> None:
    body = reason.encode()
    marker = f"{BLOCKED_HEADER}: 1\r\n" if blocked else ""
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        f"{marker}Connection: close\r\n\r\n".encode() + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()

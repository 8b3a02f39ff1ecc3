"""A real local website for tests: an asyncio HTTP/1.1 server on 127.0.0.1, plain or HTTPS.

Routes are set and changed at run time (between two scans, say), so a test can make a site change
its headers, body or speed and watch the system notice. Hostile behaviours are one flag away.

    site = LocalSite()                      # or LocalSite(tls=test_ca, certificate="expired")
    await site.start()
    site.route("/", body="<html>v1</html>", headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    site.route("/slow", body="late", delay=0.2)              # 200 ms before the first byte
    site.route("/trickle", infinite=True, chunk_size=1, chunk_delay=0.05)
    site.route("/huge", infinite=True, chunk_size=65536)     # endless chunked body, as fast as possible
    site.route("/bomb", body=gzip_bomb(50_000_000), headers=[("Content-Encoding", "gzip")])
    site.route("/packed", body="x" * 10_000, gzip=True)      # compressed on the wire
    # A body is sent exactly as given otherwise: a pre-compressed one names its Content-Encoding itself.
    site.route("/hang", hang=True)                            # reads the request, never answers
    site.route("/broken", raw=b"NOT HTTP AT ALL\r\n\r\n")     # malformed response, then close
    with unaccepting_port() as port: ...                      # connecting hangs (connect timeout)
    site.redirect("/old", "/new", status=301)
    site.redirect("/a", "/b"); site.redirect("/b", "/a")      # redirect loop
    site.set("/echo", lambda request: Route(body=request.headers.get("user-agent", "")))
    url = site.url("/")                                       # "http://127.0.0.1:<port>/"
    ...
    site.requests                                             # every request received, in order
    await site.close()

Unknown paths answer 404. Over TLS the site presents a certificate from `TestCA` (see certificates.py)
for 127.0.0.1 and localhost — valid, expired, for the wrong host or self-signed.

Fixtures (tests/support/fixtures.py): `test_ca`, `local_site`, `tls_site`, `site_factory`,
`tls_settings` (the conftest `settings` trusting `test_ca`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip as gzip_module
import socket
import ssl
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus

from tests.support.certificates import CertificateKind, TestCA

HOST = "127.0.0.1"


@dataclass
class Route:
    """What one path answers. Every field is optional; the default is an empty 200 HTML page."""

    status: int = 200
    body: bytes | str = b""
    headers: list[tuple[str, str]] = field(default_factory=list)  # repeats allowed, sent in order
    content_type: str | None = "text/html; charset=utf-8"  # None: no Content-Type header
    delay: float = 0.0  # seconds before the first byte of the response
    chunk_size: int | None = None  # set: chunked transfer encoding, this many bytes per chunk
    chunk_delay: float = 0.0  # seconds between chunks
    gzip: bool = False  # compress the body and send Content-Encoding: gzip
    hang: bool = False  # read the request, then never answer
    infinite: bool = False  # endless chunked body of `chunk_size` (default 16 KiB) bytes per chunk
    raw: bytes | None = None  # sent verbatim instead of a response, then the connection closes


@dataclass
class ReceivedRequest:
    method: str
    target: str  # path and query as sent
    path: str
    headers: dict[str, str]  # lower-cased names (last value wins)
    body: bytes = b""


Handler = Route | Callable[[ReceivedRequest], Route]


class LocalSite:
    """One local website. `tls` (a TestCA) makes it HTTPS with the chosen `certificate`."""

    def __init__(
        self, *, tls: TestCA | None = None, certificate: CertificateKind | str = CertificateKind.VALID,
        host: str = HOST, ssl_context: ssl.SSLContext | None = None,
    ):
        self.host = host  # another loopback address (127.0.0.2) plays a public site in tests/security
        self.tls = tls
        self.ssl_context = ssl_context  # replaces the certificate kind (a weak TLS configuration made in a test)
        self.certificate = CertificateKind(certificate)
        self.routes: dict[str, Handler] = {}
        self.requests: list[ReceivedRequest] = []
        self.connections = 0  # TCP connections accepted so far
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    # --- lifecycle ---

    async def start(self) -> LocalSite:
        context = self.ssl_context or (self.tls.server_context(self.certificate) if self.tls else None)
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None

    async def __aenter__(self) -> LocalSite:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- routes ---

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls or self.ssl_context else 'http'}://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def route(self, path: str, **fields: object) -> Route:
        """Set (or replace) what `path` answers; keyword arguments are `Route` fields."""
        route = Route(**fields)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def set(self, path: str, handler: Handler) -> None:
        """A fixed Route, or a function building one from the request (for dynamic answers)."""
        self.routes[path] = handler

    def redirect(self, path: str, location: str, status: int = 302) -> Route:
        return self.route(path, status=status, headers=[("Location", location)], content_type=None)

    # --- serving ---

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                handler = self.routes.get(request.path) or Route(status=404, body="not found")
                route = handler if isinstance(handler, Route) else handler(request)
                if route.hang:
                    while await reader.read(65536):  # never answer; stop when the client gives up
                        pass
                    return
                if not await _respond(route, writer):
                    return
        except asyncio.CancelledError:
            return  # the site is closing; ending normally keeps asyncio from logging the cancellation
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            return  # the client went away or sent garbage: a test site just drops the connection
        finally:
            self._handlers.discard(task)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    if length := int(headers.get("content-length", "0")):
        body = await reader.readexactly(length)
    return ReceivedRequest(method, target, target.split("?", 1)[0], headers, body)


async def _respond(route: Route, writer: asyncio.StreamWriter) -> bool:
    """Writes one response; returns whether the connection may serve another request."""
    if route.delay:
        await asyncio.sleep(route.delay)
    if route.raw is not None:
        writer.write(route.raw)
        await writer.drain()
        return False
    body = route.body.encode() if isinstance(route.body, str) else route.body
    headers = list(route.headers)
    if route.gzip:
        body = gzip_module.compress(body)
        headers.append(("Content-Encoding", "gzip"))
    if route.content_type is not None:
        headers.append(("Content-Type", route.content_type))
    chunked = route.infinite or route.chunk_size is not None
    headers.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(body))))
    try:
        reason = HTTPStatus(route.status).phrase
    except ValueError:
        reason = "Unknown"
    head = f"HTTP/1.1 {route.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    writer.write(head.encode("latin-1"))
    if not chunked:
        writer.write(body)
        await writer.drain()
        return True
    size = route.chunk_size or 16384
    if route.infinite:
        filler = b"x" * size
        while True:
            await _write_chunk(writer, filler, route.chunk_delay)
    for start in range(0, len(body), size):
        await _write_chunk(writer, body[start : start + size], route.chunk_delay)
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


async def _write_chunk(writer: asyncio.StreamWriter, data: bytes, delay: float) -> None:
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
    await writer.drain()
    if delay:
        await asyncio.sleep(delay)


@contextlib.contextmanager
def unaccepting_port(fill: int = 4) -> Iterator[int]:
    """A port on 127.0.0.1 that never accepts: its listen queue is kept full, so a new connection attempt
    hangs until the client's connect timeout (unlike a closed port, which refuses at once)."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = [socket.socket() for _ in range(fill)]
    try:
        for filler in fillers:
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((HOST, port))
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def gzip_bomb(decoded_size: int) -> bytes:
    """A small gzip body that inflates to `decoded_size` zero bytes (about 1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(decoded_size // len(block))]
    parts.append(compressor.compress(b"\0" * (decoded_size % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)

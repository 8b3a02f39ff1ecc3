"""Stand-ins for the network an attacker wants to reach: services on loopback that count every
connection (a refused request must not even connect: a connection alone answers a port scan)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

INTERNAL_SECRET = b"internal-only: db password hunter2"


class InternalService:
    """An HTTP/1.1 server on `host` that answers anything with 200 and INTERNAL_SECRET, and counts
    the TCP connections it accepted."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                + f"Content-Length: {len(INTERNAL_SECRET)}\r\n\r\n".encode() + INTERNAL_SECRET
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()


class DatagramCounter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams += 1


@asynccontextmanager
async def internal_service(host: str = "127.0.0.1") -> AsyncIterator[InternalService]:
    service = InternalService()
    server = await asyncio.start_server(service._handle, host, 0)
    service.port = server.sockets[0].getsockname()[1]
    try:
        yield service
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def udp_listener(host: str = "127.0.0.1") -> AsyncIterator[tuple[DatagramCounter, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(DatagramCounter, local_addr=(host, 0))
    try:
        yield protocol, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()

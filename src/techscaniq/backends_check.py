"""Before starting: does every backend the settings name answer? A `.env` copied from `.env.example` names
PostgreSQL, Redis and Kafka on localhost; without them running, the start would fail deep inside a driver.
This says, in one line, which variable points where and the two ways out."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from techscaniq.settings import Settings

CONNECT_TIMEOUT_SECONDS = 3.0
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379}


@dataclass(frozen=True)
class Unreachable:
    variable: str
    address: str
    reason: str

    def message(self) -> str:
        return (f"error: {self.variable} points at {self.address}, which does not answer ({self.reason}): "
                f"start the services it names (`make services`, or your own), or remove {self.variable} from "
                f".env / the environment to run embedded (SQLite and an in-process bus, nothing to start)")


def backend_addresses(settings: Settings) -> list[tuple[str, str, int]]:
    """(variable, host, port) of every backend named."""
    found: list[tuple[str, str, int]] = []
    for variable, url in (("DATABASE_URL", settings.database_url), ("METRICS_DATABASE_URL",
                          settings.metrics_database_url), ("REDIS_URL", settings.redis_url)):
        if not url or url.startswith("sqlite"):
            continue
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        if parts.hostname:
            found.append((variable, parts.hostname, parts.port or DEFAULT_PORTS.get(scheme, 0)))
    for server in (settings.kafka_servers or "").split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit():
            found.append(("KAFKA_SERVERS", host.strip("[]"), int(port)))
    return found


async def first_unreachable(settings: Settings) -> Unreachable | None:
    for variable, host, port in backend_addresses(settings):
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_SECONDS)
        except TimeoutError:
            return Unreachable(variable, f"{host}:{port}", f"no answer within {CONNECT_TIMEOUT_SECONDS:.0f} s")
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            return Unreachable(variable, f"{host}:{port}", reason.lower())
        writer.close()
    return None

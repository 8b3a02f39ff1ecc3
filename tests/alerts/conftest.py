"""Real parts for the alert tests: a loopback HTTP receiver, a controllable clock, configs and changes
(SQLite storage is the shared `storage` fixture of tests/support/fixtures.py)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tests.support.ports import free_port

from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage


class Clock:
    """Time the tests move by hand, so throttles and backoffs need no sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()



# Two channels on a closed port: what a rule notifies through when the test only counts deliveries.
HOOKS = [
    {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
    {"type": "slack", "webhook_url": "http://127.0.0.1:9/slack"},
]


def make_rule(name: str = "Site down", **fields: object) -> AlertRule:
    base: dict[str, object] = {"id": "r1", "name": name, "notification_channels": HOOKS}
    return AlertRule.model_validate(base | fields)


def make_config(*rules: AlertRule, config_id: str = "cfg-1", organization_id: str = "org-1") -> MonitoringConfig:
    return MonitoringConfig(
        id=config_id,
        organization_id=organization_id,
        name="Shop",
        url="https://shop.example/",
        schedule={"type": "interval", "expression": "5m"},
        alert_rules=list(rules),
    )


def make_change(
    scan_id: str = "scan-1",
    subject: str = "jQuery",
    change_type: str = "added",
    kind: ChangeKind = ChangeKind.TECHNOLOGY,
    impact: Impact = Impact.MEDIUM,
    config_id: str = "cfg-1",
    organization_id: str = "org-1",
    **extra: Any,
) -> Change:
    return Change(
        id=f"{scan_id}:{kind.value}:{change_type}:{subject}",
        organization_id=organization_id,
        config_id=config_id,
        scan_id=scan_id,
        type=kind,
        change_type=change_type,
        subject=subject,
        impact=impact,
        **extra,
    )


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A tiny real HTTP/1.1 server on 127.0.0.1: answers each request with the next scripted status
    (then `default_status`), records what it got. Enough for webhooks, Slack and Apprise's json://."""

    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    response_body: bytes = b"ok"
    delay_seconds: float = 0.0
    requests: list[ReceivedRequest] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HttpReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(ReceivedRequest(method, path, headers, body))
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            status = self.statuses.pop(0) if self.statuses else self.default_status
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(self.response_body)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode() + self.response_body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = await HttpReceiver().start()
    try:
        yield server
    finally:
        await server.close()


class Mailbox:
    """The aiosmtpd handler of the tests' SMTP servers: every message it accepted, with its recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Controller, Mailbox]]:
    """A real SMTP server on loopback, no TLS, no authentication."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
async def notifier(storage: SqlStorage, settings: Settings, clock: Clock) -> AsyncIterator[Notifier]:
    worker = Notifier(storage, settings, clock=clock)
    try:
        yield worker
    finally:
        await worker.aclose()

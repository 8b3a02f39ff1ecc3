"""Email through a real aiosmtpd server on loopback: plain SMTP, STARTTLS with authentication
(certificate from the project's test CA), refused credentials, and the SMTP_* fallback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from tests.support.certificates import TestCA
from tests.support.ports import free_port

from techscaniq.alerts.channels.email import tls_mode
from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.alert import DeliveryStatus
from techscaniq.domain.config import AlertRule
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, Mailbox, make_change, make_config

PASSWORD = "smtp-Pa55word-very-secret"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"alerts" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(Path(tmp_path_factory.mktemp("ca")))


@pytest.fixture
def tls_smtp(ca: TestCA) -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=free_port(), tls_context=ca.server_context(),
        require_starttls=True, authenticator=authenticator, auth_required=True,
    )
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
async def notifier(storage: SqlStorage, settings: Settings, clock: Clock, ca: TestCA) -> AsyncIterator[Notifier]:
    trusted = settings.model_copy(update={"extra_ca_bundle": ca.pem_path})
    worker = Notifier(storage, trusted, clock=clock)
    try:
        yield worker
    finally:
        await worker.aclose()


async def raise_email_alert(storage: SqlStorage, settings: Settings, clock: Clock, **channel: Any) -> None:
    rule = AlertRule.model_validate({
        "id": "r1", "name": "Tech <change>", "severity": "high",
        "notification_channels": [{"type": "email", "recipients": ["ops@example.com", "cto@example.com"], **channel}],
    })
    config = make_config(rule)
    await storage.configs.add(config, next_run_at=None)
    await AlertEngine(storage, settings, clock=clock).handle_changes(
        config, [make_change("s1", subject="<script>alert(1)</script>")]
    )


async def test_plain_smtp_delivers_a_multipart_text_and_html_message(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, plain_smtp: tuple[Controller, Mailbox]
) -> None:
    controller, mailbox = plain_smtp
    await raise_email_alert(storage, settings, clock, smtp_host="127.0.0.1", smtp_port=controller.port,
                            use_tls=False, from_address="alerts@shop.example")

    assert await notifier.deliver_due() == 1

    [(recipients, message)] = mailbox.messages
    assert recipients == ["ops@example.com", "cto@example.com"]
    assert message["From"] == "alerts@shop.example"
    assert message["Subject"] == "[HIGH] Shop — <script>alert(1)</script> added"
    assert message.is_multipart()
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "<script>alert(1)</script> added" in parts["text/plain"]
    assert "&lt;script&gt;" in parts["text/html"] and "<script>" not in parts["text/html"]
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.DELIVERED


async def test_starttls_with_authentication(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, tls_smtp: tuple[Controller, Mailbox]
) -> None:
    controller, mailbox = tls_smtp
    await raise_email_alert(storage, settings, clock, smtp_host="127.0.0.1", smtp_port=controller.port,
                            use_tls=True, smtp_username="alerts", smtp_password=PASSWORD)
    await notifier.deliver_due()
    assert len(mailbox.messages) == 1
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert mailbox.messages[0][1]["From"] == settings.smtp_from_address


async def test_refused_credentials_are_dead_at_once_and_the_password_is_never_shown(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, tls_smtp: tuple[Controller, Mailbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    controller, mailbox = tls_smtp
    await raise_email_alert(storage, settings, clock, smtp_host="127.0.0.1", smtp_port=controller.port,
                            smtp_username="alerts", smtp_password="wrong-" + PASSWORD)
    caplog.set_level(logging.DEBUG)
    await notifier.deliver_due()
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.DEAD and delivery.attempts == 1
    assert delivery.last_error is not None and delivery.last_error.startswith("SMTP 535")
    assert PASSWORD not in delivery.model_dump_json() and PASSWORD not in caplog.text
    assert mailbox.messages == []


async def test_without_smtp_host_the_deployments_smtp_settings_are_used(
    storage: SqlStorage, settings: Settings, clock: Clock, plain_smtp: tuple[Controller, Mailbox]
) -> None:
    controller, mailbox = plain_smtp
    deployment = settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": controller.port, "smtp_use_tls": False,
        "smtp_from_address": "monitoring@company.example",
    })
    await raise_email_alert(storage, settings, clock)
    worker = Notifier(storage, deployment, clock=clock)
    try:
        await worker.deliver_due()
    finally:
        await worker.aclose()
    [(_, message)] = mailbox.messages
    assert message["From"] == "monitoring@company.example"


async def test_an_unreachable_smtp_server_is_retried(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier
) -> None:
    await raise_email_alert(storage, settings, clock, smtp_host="127.0.0.1", smtp_port=free_port(), use_tls=False)
    await notifier.deliver_due()
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.FAILED and delivery.last_error


def test_tls_mode_follows_the_port() -> None:
    assert tls_mode(use_tls=True, port=465) == (True, False)
    assert tls_mode(use_tls=True, port=587) == (False, True)
    assert tls_mode(use_tls=False, port=465) == (False, False)


async def test_starttls_is_required_when_use_tls_is_set(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, plain_smtp: tuple[Controller, Mailbox]
) -> None:
    # The plain server offers no STARTTLS: the mail must not go out unencrypted.
    controller, mailbox = plain_smtp
    await raise_email_alert(storage, settings, clock, smtp_host="127.0.0.1", smtp_port=controller.port, use_tls=True)
    await notifier.deliver_due()
    [delivery] = await storage.deliveries.find()
    assert delivery.status is DeliveryStatus.DEAD and mailbox.messages == []
    assert delivery.last_error is not None and "STARTTLS" in delivery.last_error.upper()

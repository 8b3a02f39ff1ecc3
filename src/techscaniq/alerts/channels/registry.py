"""Channel type -> sender. Add a channel by adding a file with a sender and one line here."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime

import httpx

from techscaniq.alerts.channels.apprise_channel import AppriseSender
from techscaniq.alerts.channels.base import ChannelSender
from techscaniq.alerts.channels.email import EmailSender
from techscaniq.alerts.channels.slack import SlackSender
from techscaniq.alerts.channels.webhook import WebhookSender
from techscaniq.domain.common import utcnow
from techscaniq.settings import Settings


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The system trust store plus EXTRA_CA_BUNDLE (a private CA for an internal SMTP or webhook host)."""
    context = ssl.create_default_context()
    if settings.extra_ca_bundle is not None:
        context.load_verify_locations(cafile=str(settings.extra_ca_bundle))
    return context


def default_senders(
    settings: Settings,
    client: httpx.AsyncClient,
    clock: Callable[[], datetime] = utcnow,
    smtp_tls_context: ssl.SSLContext | None = None,
) -> dict[str, ChannelSender]:
    senders: list[ChannelSender] = [
        EmailSender(settings, tls_context=smtp_tls_context or tls_context(settings)),
        SlackSender(client),
        WebhookSender(client, settings.user_agent, clock),
        AppriseSender(settings.notification_address_policy),
    ]
    return {sender.type: sender for sender in senders}

"""Generic webhook: the versioned JSON payload, signed with HMAC-SHA256, with optional basic/bearer auth."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

import httpx

from techscaniq.alerts.channels.base import blocked_error, http_error, secrets_of, transport_error, unlogged_url
from techscaniq.alerts.messages import AlertMessage
from techscaniq.domain.common import utcnow
from techscaniq.domain.config import WebhookChannel
from techscaniq.egress.address_guard import BlockedAddressError

SIGNATURE_HEADER = "X-TechScanIQ-Signature"
TIMESTAMP_HEADER = "X-TechScanIQ-Timestamp"
EVENT_HEADER = "X-TechScanIQ-Event"
DELIVERY_HEADER = "X-TechScanIQ-Delivery"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`; receivers compare it in constant time."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    type = "webhook"

    def __init__(self, client: httpx.AsyncClient, user_agent: str, clock: Callable[[], datetime] = utcnow) -> None:
        self._client = client
        self._user_agent = user_agent
        self._clock = clock

    async def send(self, channel: WebhookChannel, message: AlertMessage) -> None:
        secrets = secrets_of(channel)
        now = self._clock()
        body = message.payload_bytes(now)
        headers = {name: value.get_secret_value() for name, value in channel.headers.items()}
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": self._user_agent,
                EVENT_HEADER: message.event,
                DELIVERY_HEADER: message.delivery_id,
                TIMESTAMP_HEADER: str(int(now.timestamp())),
            }
        )
        if channel.secret is not None:
            headers[SIGNATURE_HEADER] = signature(channel.secret.get_secret_value(), body)
        auth: httpx.Auth | None = None
        if channel.auth is not None and channel.auth.type == "basic":
            assert channel.auth.username is not None and channel.auth.password is not None  # validated
            auth = httpx.BasicAuth(channel.auth.username, channel.auth.password.get_secret_value())
        elif channel.auth is not None and channel.auth.token is not None:
            headers["Authorization"] = f"Bearer {channel.auth.token.get_secret_value()}"
        try:
            with unlogged_url(channel.url.get_secret_value()):
                response = await self._client.request(
                    channel.method,
                    channel.url.get_secret_value(),
                    content=body,
                    headers=headers,
                    auth=auth,
                    timeout=channel.timeout_seconds,
                    follow_redirects=False,
                )
        except BlockedAddressError as exc:
            raise blocked_error(exc, secrets) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, secrets) from None
        if response.status_code >= 300:
            raise http_error(response, secrets)

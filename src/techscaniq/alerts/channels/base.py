"""What every channel shares: the sender protocol, the error that says whether to retry, and scrubbing
of secrets out of anything that could be logged or stored."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, SecretStr

from techscaniq.alerts.messages import AlertMessage
from techscaniq.egress.address_guard import BlockedAddressError

BLOCKED_ADDRESS = "blocked_address"
_MIN_SECRET_PART = 4  # shorter URL fragments ("/", "a") would scrub ordinary words


class DeliveryError(Exception):
    """A failed send. `retryable`: timeouts, connection errors, 5xx (and 408/429); not other 4xx.
    The message must already be free of secrets (build it with `scrub`). `reason`: a stable code for
    failures a user acts on differently (`blocked_address`: the receiver is on the internal network)."""

    def __init__(
        self, message: str, retryable: bool, status_code: int | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        self.reason = reason


class ChannelSender(Protocol):
    """Sends one message through one configured channel; raises DeliveryError on failure."""

    type: str

    async def send(self, channel: Any, message: AlertMessage) -> None: ...


class _HideSecretUrls(logging.Filter):
    """httpx logs every request URL at INFO; a notification URL is a credential (Slack's path, tokens
    in queries), so requests to registered URLs are dropped from the log."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(str(arg) in self.urls for arg in args)


_HIDDEN = _HideSecretUrls()
logging.getLogger("httpx").addFilter(_HIDDEN)


@contextlib.contextmanager
def unlogged_url(url: str) -> Iterator[None]:
    """Keep this URL out of httpx's request log while the request runs."""
    normalised = str(httpx.URL(url))
    _HIDDEN.urls.add(normalised)
    try:
        yield
    finally:
        _HIDDEN.urls.discard(normalised)


def secrets_of(model: BaseModel) -> list[str]:
    """Every secret value inside a channel config, plus the sensitive parts of secret URLs (a Slack
    webhook's path *is* its credential; a URL's query often holds a token)."""
    found: list[str] = []
    for value in _walk(model):
        raw = value.get_secret_value()
        if not raw:
            continue
        found.append(raw)
        if "://" in raw:
            parts = urlsplit(raw)
            for piece in (parts.path, parts.query, parts.username, parts.password):
                if piece and len(piece) >= _MIN_SECRET_PART and piece != "/":
                    found.extend({piece, unquote(piece)})
    # Longest first, so a URL is replaced whole before its parts.
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def http_error(response: httpx.Response, secrets: list[str]) -> DeliveryError:
    status = response.status_code
    retryable = status >= 500 or status in (408, 429)
    # Status and reason phrase only: the receiver's body is never stored. Every member of the organization
    # reads delivery errors, and an internal receiver's body would leak what that service answers.
    message = f"HTTP {status} {response.reason_phrase}"
    return DeliveryError(scrub(message, secrets), retryable=retryable, status_code=status)


def blocked_error(exc: BlockedAddressError, secrets: list[str]) -> DeliveryError:
    """The receiver resolves to an address channels may not reach: final until the operator allows it."""
    return DeliveryError(scrub(str(exc), secrets), retryable=False, reason=BLOCKED_ADDRESS)


def transport_error(exc: Exception, secrets: list[str]) -> DeliveryError:
    """httpx errors can carry the request URL (the credential); keep the kind and a scrubbed message."""
    return DeliveryError(scrub(f"{type(exc).__name__}: {exc}".rstrip(": "), secrets), retryable=True)


def _walk(value: Any) -> Iterable[SecretStr]:
    if isinstance(value, SecretStr):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)

"""Email over SMTP (aiosmtplib): STARTTLS, or implicit TLS on port 465, with authentication; a
multipart message with a plain-text and an HTML body. Unset `smtp_host` uses the deployment's SMTP_*.
A channel's own `smtp_host` is the tenant's choice, so it is reached over a socket the address guard
vetted; the deployment's SMTP_HOST is the operator's and may well be an internal relay."""

from __future__ import annotations

import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from techscaniq.alerts.channels.base import DeliveryError, blocked_error, scrub, secrets_of
from techscaniq.alerts.messages import AlertMessage
from techscaniq.domain.config import EmailChannel
from techscaniq.egress.address_guard import BlockedAddressError
from techscaniq.egress.sockets import connect_checked
from techscaniq.settings import Settings

SMTP_TIMEOUT_SECONDS = 20.0
IMPLICIT_TLS_PORT = 465


class EmailSender:
    type = "email"

    def __init__(self, settings: Settings, tls_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._policy = settings.notification_address_policy  # parsed once, not per send
        # None: the system trust store. Tests (and private CAs) pass their own context.
        self._tls_context = tls_context

    async def send(self, channel: EmailChannel, message: AlertMessage) -> None:
        settings = self._settings
        secrets = secrets_of(channel)
        if channel.smtp_host is not None:
            host, port, use_tls = channel.smtp_host, channel.smtp_port, channel.use_tls
            username = channel.smtp_username
            password = channel.smtp_password.get_secret_value() if channel.smtp_password else None
        elif settings.smtp_host is not None:
            host, port, use_tls = settings.smtp_host, settings.smtp_port, settings.smtp_use_tls
            username = settings.smtp_username
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        else:
            raise DeliveryError("no SMTP server: set smtp_host on the channel or SMTP_HOST", retryable=False)
        if password:
            secrets.append(password)
        sender = channel.from_address or settings.smtp_from_address
        email = build_email(message, sender, channel.recipients)
        implicit, start_tls = tls_mode(use_tls, port)
        sock: socket.socket | None = None
        try:
            if channel.smtp_host is not None:
                sock = await connect_checked(host, port, self._policy, SMTP_TIMEOUT_SECONDS)
            await aiosmtplib.send(
                email,
                hostname=host,
                port=None if sock is not None else port,
                sock=sock,
                username=username,
                password=password,
                use_tls=implicit,
                start_tls=start_tls,
                tls_context=self._tls_context,
                timeout=SMTP_TIMEOUT_SECONDS,
            )
        except BlockedAddressError as exc:
            raise blocked_error(exc, secrets) from None
        except aiosmtplib.SMTPResponseException as exc:
            # SMTP's own rule: 4xx is transient, 5xx permanent (bad credentials, unknown recipient).
            raise DeliveryError(
                scrub(f"SMTP {exc.code}: {exc.message}", secrets), retryable=400 <= exc.code < 500,
                status_code=exc.code,
            ) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            detail = "; ".join(f"{error.code} {error.message}" for error in exc.recipients)
            raise DeliveryError(
                scrub(f"recipients refused: {detail}", secrets), retryable=all(400 <= c < 500 for c in codes)
            ) from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise DeliveryError(scrub(f"SMTP server does not support: {exc}", secrets), retryable=False) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Connection refused, timeouts, disconnects, TLS handshake failures: worth another try. A server
            # that lacks a required extension (STARTTLS, AUTH) will not grow it: that is final.
            detail = scrub(f"{type(exc).__name__}: {exc}", secrets)
            raise DeliveryError(detail, retryable="not supported" not in detail.lower()) from None
        finally:
            if sock is not None:
                sock.close()  # aiosmtplib's transport has closed it already, unless connecting failed


def tls_mode(use_tls: bool, port: int) -> tuple[bool, bool]:
    """(implicit TLS, STARTTLS): port 465 speaks TLS from the first byte; any other port upgrades with
    STARTTLS, which is then required (no silent fallback to plain text)."""
    implicit = use_tls and port == IMPLICIT_TLS_PORT
    return implicit, use_tls and not implicit


def build_email(message: AlertMessage, sender: str, recipients: list[str]) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = " ".join(message.subject.split())[:250]
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(idstring=message.delivery_id[:16], domain="techscaniq.local")
    email["X-TechScanIQ-Alert"] = message.alert.id
    email.set_content(message.text())
    email.add_alternative(message.html(), subtype="html")
    return email

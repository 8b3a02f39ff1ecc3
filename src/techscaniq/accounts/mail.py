"""Invitation and password-reset emails through the deployment's SMTP server (SMTP_HOST), when there is one.
The operator's relay, not a tenant's: like the deployment's alert email, it may be an internal host."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib

from techscaniq.alerts.channels.email import SMTP_TIMEOUT_SECONDS, tls_mode
from techscaniq.settings import Settings

log = logging.getLogger("techscaniq.accounts.mail")


async def send_link(settings: Settings, recipient: str, subject: str, text: str) -> bool:
    """True when the email was handed to the SMTP server; False without SMTP_HOST or when sending failed
    (the caller then shows the link to the person who asked for it, where that is safe)."""
    if settings.smtp_host is None:
        return False
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = settings.smtp_from_address, recipient, subject
    email.set_content(text)
    implicit, start_tls = tls_mode(settings.smtp_use_tls, settings.smtp_port)
    try:
        await aiosmtplib.send(email, hostname=settings.smtp_host, port=settings.smtp_port, use_tls=implicit,
                              start_tls=start_tls, username=settings.smtp_username,
                              password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                              timeout=SMTP_TIMEOUT_SECONDS)
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("could not email %s: %s", subject, exc)
        return False
    return True

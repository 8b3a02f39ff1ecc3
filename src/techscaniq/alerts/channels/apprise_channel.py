"""Apprise: one URL per service (ntfy, Telegram, Teams, Discord, ... over a hundred). Apprise is
blocking, so it runs in a worker thread, where the thread guard vets every connection its plugins open
(they use requests, smtplib, raw sockets...: no single client to route through our backend)."""

from __future__ import annotations

import asyncio
import logging

import apprise

from techscaniq.alerts.channels.base import BLOCKED_ADDRESS, DeliveryError, scrub, secrets_of
from techscaniq.alerts.messages import AlertMessage
from techscaniq.domain.config import AppriseChannel
from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.egress.thread_guard import guarded


class AppriseSender:
    type = "apprise"

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        # Apprise's debug and info lines, and those of urllib3 under it, quote service URLs and paths,
        # which are credentials.
        for name in ("apprise", "urllib3"):
            logging.getLogger(name).setLevel(logging.WARNING)

    async def send(self, channel: AppriseChannel, message: AlertMessage) -> None:
        secrets = secrets_of(channel)
        try:
            ok, refused = await asyncio.to_thread(
                _notify, [url.get_secret_value() for url in channel.urls], message, self._policy
            )
        except _UnknownUrl:
            raise DeliveryError("an Apprise URL is not recognised (check its scheme)", retryable=False) from None
        except Exception as exc:  # Apprise plugins raise anything; the URL (a credential) is scrubbed
            detail = scrub(f"apprise failed: {type(exc).__name__}: {exc}", secrets)
            raise DeliveryError(detail, retryable=True) from None
        if refused:  # plugins catch what they like, so the guard's own record decides
            raise DeliveryError(scrub(refused[0], secrets), retryable=False, reason=BLOCKED_ADDRESS)
        if not ok:
            # Apprise reports only success or failure, not why; a failure is treated as transient.
            raise DeliveryError("apprise could not notify every URL (see the service's response)", retryable=True)


class _UnknownUrl(ValueError):
    pass


def _notify(urls: list[str], message: AlertMessage, policy: AddressPolicy) -> tuple[bool, list[str]]:
    """(every URL notified, refusals of the guard). Sequential (`async_mode=False`), so every send runs in
    this thread, under this guard."""
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
    for url in urls:
        if not notifier.add(url):
            raise _UnknownUrl
    notify_type = apprise.NotifyType.SUCCESS if message.resolved else apprise.NotifyType.WARNING
    with guarded(policy) as guard:
        ok = bool(notifier.notify(body=message.text(), title=message.subject, notify_type=notify_type))
    return ok, guard.refused

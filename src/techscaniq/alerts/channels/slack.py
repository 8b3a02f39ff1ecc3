"""Slack incoming webhook: a Block Kit message in an attachment coloured by severity."""

from __future__ import annotations

from typing import Any

import httpx

from techscaniq.alerts.channels.base import blocked_error, http_error, secrets_of, transport_error, unlogged_url
from techscaniq.alerts.messages import AlertMessage
from techscaniq.domain.config import SlackChannel
from techscaniq.egress.address_guard import BlockedAddressError

SLACK_TIMEOUT_SECONDS = 10.0
_MAX_SECTION = 2900  # Slack refuses section text over 3000 characters


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters; untrusted text must not become links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(channel: SlackChannel, message: AlertMessage) -> dict[str, Any]:
    alert = message.alert
    changes = "\n".join(f"• {slack_escape(line)}" for line in message.change_lines())
    if len(changes) > _MAX_SECTION:
        changes = changes[:_MAX_SECTION] + "…"
    fields = [
        {"type": "mrkdwn", "text": f"*Monitor*\n<{message.config_url}|{slack_escape(message.config_name)}>"},
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity.value}"},
        {"type": "mrkdwn", "text": f"*Rule*\n{slack_escape(alert.rule_name)}"},
        {"type": "mrkdwn", "text": f"*Status*\n{'resolved' if message.resolved else alert.status.value}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
        {"type": "section", "fields": fields},
        {"type": "section", "text": {"type": "mrkdwn", "text": changes or "_no changes listed_"}},
    ]
    notes = message.notes()
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": slack_escape(" ".join([*notes, f"Alert id: {alert.id}"]))}
    ]})
    payload: dict[str, Any] = {
        "text": message.subject,  # the notification preview and the fallback for old clients
        "attachments": [{"color": message.colour, "blocks": blocks}],
    }
    if channel.channel:
        payload["channel"] = channel.channel
    if channel.username:
        payload["username"] = channel.username
    if channel.icon_emoji:
        payload["icon_emoji"] = channel.icon_emoji
    return payload


class SlackSender:
    type = "slack"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, channel: SlackChannel, message: AlertMessage) -> None:
        secrets = secrets_of(channel)
        try:
            with unlogged_url(channel.webhook_url.get_secret_value()):
                response = await self._client.post(
                    channel.webhook_url.get_secret_value(),
                    json=slack_payload(channel, message),
                    timeout=SLACK_TIMEOUT_SECONDS,
                    follow_redirects=False,
                )
        except BlockedAddressError as exc:
            raise blocked_error(exc, secrets) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, secrets) from None
        if response.status_code >= 300:
            raise http_error(response, secrets)

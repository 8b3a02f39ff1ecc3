"""What each channel really sends reads as sentences (no `null -> {...}`, no internal ids), the same
sentence everywhere, and a resolution says it is resolved: one alert through email (a real aiosmtpd
server), Slack, a webhook and Apprise (a real loopback receiver), then resolved."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller

from techscaniq.alerts.engine import AlertEngine
from techscaniq.alerts.notifier import Notifier
from techscaniq.domain.change import ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import AlertRule
from techscaniq.settings import Settings
from techscaniq.storage.sql import SqlStorage

from .conftest import Clock, HttpReceiver, Mailbox, make_change, make_config

SENTENCE = "Site down: HTTP 503 and 1 more change"


def by_path(receiver: HttpReceiver, path: str) -> list[Any]:
    return [request.json() for request in receiver.requests if request.path == path]


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return cast(str, cast(EmailMessage, part).get_content()).replace("\r\n", "\n")


async def test_every_channel_sends_the_same_sentences_and_the_resolution_says_resolved(
    storage: SqlStorage, settings: Settings, clock: Clock, notifier: Notifier, receiver: HttpReceiver,
    plain_smtp: tuple[Controller, Mailbox],
) -> None:
    controller, mailbox = plain_smtp
    channels = [
        {"type": "email", "recipients": ["ops@example.com"], "smtp_host": "127.0.0.1",
         "smtp_port": controller.port, "use_tls": False},
        {"type": "slack", "webhook_url": f"{receiver.url}/slack"},
        {"type": "webhook", "url": f"{receiver.url}/hook"},
        {"type": "apprise", "urls": [f"json://127.0.0.1:{receiver.port}/apprise"]},
    ]
    rule = AlertRule.model_validate({"id": "r1", "name": "Site down", "severity": "critical",
                                     "notify_on_resolve": True, "notification_channels": channels})
    config = make_config(rule)
    await storage.configs.add(config, next_run_at=None)
    engine = AlertEngine(storage, settings, clock=clock)
    down = make_change("s1", subject="site", change_type="down", kind=ChangeKind.AVAILABILITY,
                       impact=Impact.CRITICAL, before="up", after="down",
                       evidence={"failures": [{"status_code": 503, "error": None}]})
    stripe = make_change("s1", subject="Stripe", after={"version": "3", "categories": ["Payment processors"]})
    [alert] = await engine.handle_changes(config, [down, stripe])
    assert alert.title == f"Shop — {SENTENCE}"  # the rule's name ("Site down") is not repeated in it

    assert await notifier.deliver_due() == 4
    [(_, mail)] = mailbox.messages
    assert mail["Subject"] == f"[CRITICAL] Shop — {SENTENCE}"
    text = plain_text(cast(EmailMessage, mail))
    assert text.startswith(f"{SENTENCE}\n")
    assert "- Site down: HTTP 503 (impact critical)" in text
    assert "- Stripe 3 added (Payment processors) (impact medium)" in text
    [slack] = by_path(receiver, "/slack")
    slack_text = str(slack["attachments"])
    assert "• Site down: HTTP 503 (impact critical)" in slack_text
    assert "• Stripe 3 added (Payment processors) (impact medium)" in slack_text
    [hook] = by_path(receiver, "/hook")
    assert hook["summary"] == hook["alert"]["summary"] == SENTENCE
    assert [c["summary"] for c in hook["changes"]] == ["Site down: HTTP 503", "Stripe 3 added (Payment processors)"]
    [apprise] = by_path(receiver, "/apprise")
    assert apprise["title"] == f"[CRITICAL] Shop — {SENTENCE}" and apprise["message"].startswith(f"{SENTENCE}\n")
    # What people read; the webhook's structured fields keep their objects, its `summary` is the sentence.
    for body in (text, slack_text, apprise["message"]):
        assert "null" not in body and "->" not in body and "{'version'" not in body and '{"version"' not in body

    clock.advance(minutes=12)
    await engine.resolve(alert.id)
    assert await notifier.deliver_due() == 4
    resolved = f"Resolved: {SENTENCE}"
    mail = mailbox.messages[-1][1]
    assert mail["Subject"] == f"[RESOLVED] Shop — {SENTENCE}"
    text = plain_text(cast(EmailMessage, mail))
    assert text.startswith(f"{resolved}\n") and "Resolved after 12 min." in text
    assert by_path(receiver, "/slack")[-1]["text"] == f"[RESOLVED] Shop — {SENTENCE}"
    hook = by_path(receiver, "/hook")[-1]
    assert hook["event"] == "alert.resolved" and hook["summary"] == resolved
    assert by_path(receiver, "/apprise")[-1]["message"].startswith(f"{resolved}\n")

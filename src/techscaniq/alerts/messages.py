"""What a notification says, rendered once per format: subject, plain text, HTML, webhook JSON (v1).

Everything from a site or a change (subjects, versions, names) is untrusted text: HTML is escaped and
long values are cut, so a hostile page cannot inject markup into an email or blow up a message.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from techscaniq.domain.alert import Alert, AlertStatus
from techscaniq.wording import describe_alert, describe_change
from techscaniq.wording.changes import cut, duration

WEBHOOK_SCHEMA = "techscaniq.alert.v1"
_MAX_VALUE = 200
_MAX_LISTED_CHANGES = 50

SEVERITY_COLOURS = {"low": "#2eb67d", "medium": "#ecb22e", "high": "#e01e5a", "critical": "#8b0000"}


@dataclass(frozen=True)
class AlertMessage:
    """One alert as a channel sends it: the alert, whether it fired or resolved, and its monitor."""

    alert: Alert
    kind: str  # "triggered" | "resolved"
    delivery_id: str
    config_name: str
    config_url: str

    @property
    def event(self) -> str:
        return f"alert.{self.kind}"

    @property
    def resolved(self) -> bool:
        return self.kind == "resolved"

    @property
    def subject(self) -> str:
        prefix = "[RESOLVED]" if self.resolved else f"[{self.alert.severity.value.upper()}]"
        return f"{prefix} {self.alert.title}"

    @property
    def summary(self) -> str:
        """The alert in one sentence ('Resolved: Site down: HTTP 503'): the same words as the API's."""
        return describe_alert(self.alert.model_dump(mode="json", include={"status", "changes"}), self.resolved)

    @property
    def colour(self) -> str:
        return "#2eb67d" if self.resolved else SEVERITY_COLOURS.get(self.alert.severity.value, "#999999")

    def change_lines(self) -> list[str]:
        lines = [change_line(change) for change in self.alert.changes[:_MAX_LISTED_CHANGES]]
        hidden = len(self.alert.changes) - _MAX_LISTED_CHANGES
        if hidden > 0:
            lines.append(f"... and {hidden} more")
        return lines

    def notes(self) -> list[str]:
        notes: list[str] = []
        if self.alert.suppressed_count and not self.resolved:
            notes.append(f"{self.alert.suppressed_count} similar alert(s) were suppressed since the last notification.")
        if self.resolved and self.alert.resolved_at is not None:
            seconds = (self.alert.resolved_at - self.alert.triggered_at).total_seconds()
            notes.append(f"Resolved after {duration(seconds)}.")
        return notes

    def text(self) -> str:
        lines = [
            self.summary,
            "",
            f"Monitor: {self.config_name} ({self.config_url})",
            f"Rule: {self.alert.rule_name}",
            f"Severity: {self.alert.severity.value}",
            f"Triggered: {self.alert.triggered_at.isoformat()}",
            "",
            "Changes:",
            *(f"- {line}" for line in self.change_lines()),
        ]
        if self.notes():
            lines += ["", *self.notes()]
        lines += ["", f"Alert id: {self.alert.id}"]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        e = html.escape
        items = "".join(f"<li>{e(line)}</li>" for line in self.change_lines())
        notes = "".join(f"<p>{e(note)}</p>" for note in self.notes())
        return (
            "<!doctype html><html><body style=\"font-family:sans-serif\">"
            f"<h2 style=\"border-left:6px solid {self.colour};padding-left:8px\">{e(self.summary)}</h2>"
            f"<p><b>Monitor:</b> {e(self.config_name)} "
            f"(<a href=\"{e(self.config_url, quote=True)}\">{e(self.config_url)}</a>)<br>"
            f"<b>Rule:</b> {e(self.alert.rule_name)}<br><b>Severity:</b> {e(self.alert.severity.value)}<br>"
            f"<b>Triggered:</b> {e(self.alert.triggered_at.isoformat())}</p>"
            f"<h3>Changes</h3><ul>{items}</ul>{notes}"
            f"<p style=\"color:#888\">Alert id: {e(self.alert.id)}</p></body></html>"
        )

    def payload(self, sent_at: datetime) -> dict[str, Any]:
        """The webhook body, schema `techscaniq.alert.v1` (docs/webhook-schema.md). Additive changes only
        within v1; anything else gets a new schema name."""
        alert = self.alert
        return {
            "schema": WEBHOOK_SCHEMA,
            "event": self.event,
            "delivery_id": self.delivery_id,
            "sent_at": sent_at.isoformat(),
            "summary": self.summary,
            "alert": {
                "id": alert.id,
                "status": AlertStatus.RESOLVED.value if self.resolved else alert.status.value,
                "severity": alert.severity.value,
                "title": alert.title,
                "summary": self.summary,
                "rule_id": alert.rule_id,
                "rule_name": alert.rule_name,
                "dedupe_key": alert.dedupe_key,
                "scan_id": alert.scan_id,
                "triggered_at": alert.triggered_at.isoformat(),
                "acknowledged_at": _iso(alert.acknowledged_at),
                "resolved_at": _iso(alert.resolved_at),
                "occurrences": alert.occurrences,
                "suppressed_count": alert.suppressed_count,
            },
            "monitor": {
                "organization_id": alert.organization_id,
                "config_id": alert.config_id,
                "name": self.config_name,
                "url": self.config_url,
            },
            "changes": [dict(change) for change in alert.changes],
        }

    def payload_bytes(self, sent_at: datetime) -> bytes:
        return json.dumps(self.payload(sent_at), separators=(",", ":"), default=str).encode()


def change_line(change: dict[str, Any]) -> str:
    """'jQuery updated from 3.6.0 to 3.7.1 (impact medium)'."""
    sentence = cut(change.get("summary") or describe_change(change), _MAX_VALUE)
    return f"{sentence} (impact {change.get('impact', 'low')})"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

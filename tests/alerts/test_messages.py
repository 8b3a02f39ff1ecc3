"""What people read: the rendered message, and the webhook schema kept in step with its documentation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from techscaniq.alerts.engine import change_summary
from techscaniq.alerts.messages import WEBHOOK_SCHEMA, AlertMessage
from techscaniq.domain.alert import Alert
from techscaniq.domain.common import Impact

from .conftest import make_change

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhook-schema.md"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def message(kind: str = "triggered", **alert_fields: object) -> AlertMessage:
    alert = Alert.model_validate({
        "organization_id": "org-1", "config_id": "cfg-1", "rule_id": "r1", "rule_name": "Tech",
        "severity": Impact.HIGH, "dedupe_key": "k", "title": "Tech: jQuery added on Shop", "triggered_at": NOW,
        "changes": [change_summary(make_change(before="3.6.0", after="3.7.1", change_type="upgraded"))],
        **alert_fields,
    })
    return AlertMessage(alert=alert, kind=kind, delivery_id="d1", config_name="Shop", config_url="https://shop.example/")


def test_the_documented_example_has_exactly_the_payloads_fields() -> None:
    documented = json.loads(re.search(r"```json\n(.*?)\n```", DOC.read_text(), re.S).group(1))  # type: ignore[union-attr]
    actual = message().payload(NOW)
    assert documented["schema"] == actual["schema"] == WEBHOOK_SCHEMA
    assert set(documented) == set(actual)
    assert set(documented["alert"]) == set(actual["alert"])
    assert set(documented["monitor"]) == set(actual["monitor"])
    assert set(documented["changes"][0]) == set(actual["changes"][0])


def test_text_and_html_say_what_changed_and_how_many_repeats_were_suppressed() -> None:
    text = message(suppressed_count=3).text()
    assert text.startswith("jQuery updated from 3.6.0 to 3.7.1\n")
    assert "- jQuery updated from 3.6.0 to 3.7.1 (impact medium)" in text
    assert "3 similar alert(s) were suppressed since the last notification." in text
    html = message(suppressed_count=3).html()
    assert "jQuery updated from 3.6.0 to 3.7.1" in html and "3 similar alert(s)" in html


def test_resolved_messages_say_how_long_it_took() -> None:
    resolved = message("resolved", resolved_at=NOW + timedelta(minutes=42), status="resolved")
    assert resolved.subject.startswith("[RESOLVED] ")
    assert resolved.text().startswith("Resolved: jQuery updated from 3.6.0 to 3.7.1\n")
    assert "Resolved after 42 min." in resolved.text()
    assert resolved.payload(NOW)["summary"] == "Resolved: jQuery updated from 3.6.0 to 3.7.1"
    assert resolved.payload(NOW)["event"] == "alert.resolved"

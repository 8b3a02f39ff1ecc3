"""An alert in one sentence: the sentence of its first change, how many more there are, and whether it is
resolved. Titles put the site first and never repeat the rule's words ("Site down: site down on ...")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from techscaniq.wording.changes import cut, describe_change

MAX_TITLE = 300


def changes_sentence(changes: Sequence[Mapping[str, Any]]) -> str:
    """The first change's sentence and 'and N more changes' (of the same scan: an alert folds later
    repeats into itself, and those are not more changes)."""
    if not changes:
        return "No changes listed"
    first = changes[0]
    text = str(first.get("summary") or describe_change(first))
    others = sum(1 for change in changes[1:] if change.get("scan_id") == first.get("scan_id"))
    if others:
        text += f" and {others} more change{'s' if others > 1 else ''}"
    return text


def describe_alert(alert: Mapping[str, Any], resolved: bool | None = None) -> str:
    """'Site down: HTTP 503', 'Resolved: Site down: HTTP 503'. `resolved` overrides the alert's status
    (a resolution notification is rendered for the alert as it was)."""
    changes = alert.get("changes")
    text = changes_sentence(changes if isinstance(changes, list) else [])
    is_resolved = alert.get("status") == "resolved" if resolved is None else resolved
    return f"Resolved: {text}" if is_resolved else text


def alert_title(site_name: str, changes: Sequence[Mapping[str, Any]]) -> str:
    """'Shop — Site down: HTTP 503'."""
    return f"{cut(site_name, 80)} — {changes_sentence(changes)}"[:MAX_TITLE]

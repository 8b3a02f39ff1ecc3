"""Whether a site is up, as every reader shows it: the dashboard, the API's overview and scan summaries,
the WebSocket. The same rule change detection uses (changes/context.is_failure and has_content), so a
site with a "site down" change is never shown as up.

- down: the fetch failed (timeout, refused, TLS, ...) or the server answered 5xx — availability's failure;
  also 4xx: the monitored URL answers with an error page, not the site's page (has_content is false);
- up: a 2xx or 3xx answer;
- paused / unknown: not scheduled, or not scanned yet (only where the config is known)."""

from __future__ import annotations

from typing import Any, Literal

State = Literal["up", "down", "paused", "unknown"]


def answer_failed(succeeded: bool, status_code: int | None) -> bool:
    """Down for availability's change detection: the fetch failed, or the server answered 5xx."""
    return not succeeded or status_code is None or status_code >= 500


def answer_is_page(succeeded: bool, status_code: int | None) -> bool:
    """The site's real page: answered, and neither a server (5xx) nor a client (4xx) error."""
    return not answer_failed(succeeded, status_code) and status_code is not None and status_code < 400


def scan_availability(succeeded: bool, status_code: int | None, error: dict[str, Any] | None) -> dict[str, Any]:
    """{"state": "up"|"down", "reason": "HTTP 503" | "timeout" | ...} for one scan."""
    if succeeded and status_code is not None:
        return {"state": "up" if answer_is_page(succeeded, status_code) else "down", "reason": f"HTTP {status_code}"}
    code = error.get("code") if isinstance(error, dict) else None
    return {"state": "down", "reason": str(code or "scan failed")}


def site_availability(paused: bool, last_scan: dict[str, Any] | None) -> dict[str, Any]:
    """A config's state: paused wins, then its newest scan's availability; unknown before the first scan."""
    if paused:
        return {"state": "paused", "reason": "paused"}
    if last_scan is None:
        return {"state": "unknown", "reason": "waiting for the first scan"}
    return dict(last_scan["availability"])

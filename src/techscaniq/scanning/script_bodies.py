"""The bodies of the external scripts a scan fetched anyway (full-page mode fetches every resource for the
page weight): kept, bounded, in the scan context so the security step's Retire.js extractors can read them
without fetching anything again."""

from __future__ import annotations

from typing import Any

from techscaniq.domain.fetch import FetchResult

KEY = "script_bodies"
MAX_SCRIPTS = 24
MAX_CHARS = 1_000_000  # per script; the extractors read no further (retire.MAX_CONTENT_CHARS)
MAX_TOTAL_CHARS = 8_000_000  # per scan, so a page of many large bundles holds a bounded amount


def keep_script_body(shared: dict[str, Any], url: str, result: FetchResult) -> None:
    """Keep a fetched script's text while the scan's bounds allow."""
    if not result.ok or result.status_code != 200 or not result.body:
        return
    kept: dict[str, str] = shared.setdefault(KEY, {})
    used = sum(len(text) for text in kept.values())
    if len(kept) >= MAX_SCRIPTS or used >= MAX_TOTAL_CHARS or url in kept:
        return
    kept[url] = result.text[:min(MAX_CHARS, MAX_TOTAL_CHARS - used)]


def script_bodies(shared: dict[str, Any]) -> list[tuple[str, str]]:
    """(url, text) of every kept script, in the order they arrived."""
    return list(shared.get(KEY, {}).items())

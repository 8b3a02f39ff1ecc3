"""A config's baseline as stored: the window of scans change detection compares the next scan with, each
reduced to what the detectors read (changes/baseline.py builds and advances it), plus running summaries. One
row per config; `pack`/`unpack` are its stored form, where the parts that repeat from scan to scan of a
steady site (technologies, security report, response) are named by digest and kept once."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, TypeAdapter

from techscaniq.domain.scan import ResponseSnapshot, ScanResult
from techscaniq.domain.security import SecurityReport
from techscaniq.domain.technology import Detection


class StackEntry(BaseModel):
    name: str
    version: str | None = None
    first_seen: datetime
    last_seen: datetime


class Baseline(BaseModel):
    config_id: str
    policy_key: str
    scans: list[ScanResult] = Field(default_factory=list)  # newest first, at most policy.history_window
    stack: dict[str, StackEntry] = Field(default_factory=dict)  # by canonical name
    failures_in_a_row: int = 0
    # The stored form of its scans (scan id -> packed scan) and their parts (digest -> JSON value), kept from
    # the row it was read from, so storing it again serialises only the newest scan.
    _packed: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)
    _parts: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def newest(self) -> ScanResult | None:
        return self.scans[0] if self.scans else None


@dataclass(frozen=True)
class StoredBaseline:
    baseline: Baseline | None  # None: the config has no baseline yet
    newest_scan_id: str | None  # the newest stored scan of the config before the scan being judged


# The parts of a scan that repeat from scan to scan of a steady site: the row holds each distinct value once
# (by digest) and reading it validates each once.
_PARTS: dict[str, TypeAdapter[Any]] = {
    "technologies": TypeAdapter(list[Detection]),
    "security": TypeAdapter(SecurityReport),
    "response": TypeAdapter(ResponseSnapshot),
}


def pack(baseline: Baseline) -> dict[str, Any]:
    """The baseline as its row stores it (JSON): each scan without its repeating parts, which are named by
    digest and stored once."""
    packed, used = [], {}
    for scan in baseline.scans:
        data = baseline._packed.get(scan.id)
        if data is None:
            data = baseline._packed[scan.id] = _pack_scan(scan, baseline._parts)
        packed.append(data)
        for digest in data.get("parts", {}).values():
            used[digest] = baseline._parts[digest]
    head = baseline.model_dump(mode="json", exclude={"scans"})
    return {**head, "scans": packed, "parts": used}


def unpack(document: dict[str, Any]) -> Baseline:
    parts: dict[str, Any] = document.get("parts", {})
    validated: dict[tuple[str, str], Any] = {}
    scans, packed = [], {}
    for data in document.get("scans", []):
        refs: dict[str, str] = data.get("parts", {})
        scan = ScanResult.model_validate({key: value for key, value in data.items() if key != "parts"})
        update = {}
        for key, digest in refs.items():
            if (key, digest) not in validated:
                validated[key, digest] = _PARTS[key].validate_python(parts[digest])
            update[key] = validated[key, digest]
        scans.append(scan.model_copy(update=update) if update else scan)
        packed[scan.id] = data
    head = {key: value for key, value in document.items() if key not in ("scans", "parts")}
    baseline = Baseline.model_validate(head)
    baseline.scans = scans
    baseline._packed, baseline._parts = packed, dict(parts)
    return baseline


def _pack_scan(scan: ScanResult, parts: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = scan.model_dump(mode="json", exclude_defaults=True)
    refs = {}
    for key in _PARTS:
        if data.get(key) is not None:
            value = data.pop(key)
            text = json.dumps(value, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256(text.encode()).hexdigest()[:32]
            parts.setdefault(digest, value)
            refs[key] = digest
    if refs:
        data["parts"] = refs
    return data

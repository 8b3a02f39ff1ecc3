"""A config's baseline: what change detection compares the next scan with, kept in one small row.

The rules of the detectors (K scans in a row, stable for S scans, a rolling median of N values, flapping
within a window) all look at most `policy.history_window` scans back. The baseline therefore holds exactly
that window, each scan reduced to the facts the detectors read (status, final URL, tracked security
headers, technologies, metrics, grade and findings, certificate, TLS rating), plus a few running summaries
that need more than the window (first/last seen of each technology, the availability run-length).
Judging a scan reads one row and writes one row, whatever the number of stored scans.

    changes, after = judge(scan, baseline, config, policy)   # pure (detector.py)
    baseline = rebuild(config_id, history, policy)          # from stored scans, newest first

A baseline is built for one policy (`policy_key`); after a policy change it is rebuilt from the stored
history, as it is after a fingerprint update (the history is re-analysed first, see reanalysis.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from techscaniq.changes.context import clip, is_failure
from techscaniq.changes.policy import DetectionPolicy
from techscaniq.changes.technology import technology_usable
from techscaniq.domain.baseline import Baseline, StackEntry, StoredBaseline
from techscaniq.domain.scan import ResponseSnapshot, ScanResult
from techscaniq.domain.security import SecurityFinding
from techscaniq.domain.technology_names import name_key


class BaselineRepository(Protocol):
    async def get(self, config_id: str, before: datetime) -> StoredBaseline: ...

    async def put(self, organization_id: str, baseline: Baseline) -> bool: ...

    async def drop(self, config_id: str | None = None) -> int: ...


def policy_key(policy: DetectionPolicy) -> str:
    """Identifies the policy a baseline was built with: any other policy needs a rebuild."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:32]


def empty(config_id: str, policy: DetectionPolicy) -> Baseline:
    return Baseline(config_id=config_id, policy_key=policy_key(policy))


def rebuild(config_id: str, history: Sequence[ScanResult], policy: DetectionPolicy) -> Baseline:
    """The baseline after `history` (newest first, any length: only the window is kept)."""
    window = sorted((s for s in history if s.config_id == config_id), key=lambda s: s.started_at, reverse=True)
    baseline = empty(config_id, policy)
    for scan in reversed(window[: policy.history_window]):
        baseline = advance(baseline, scan, policy)
    return baseline


def advance(baseline: Baseline, scan: ScanResult, policy: DetectionPolicy) -> Baseline:
    """`baseline` with `scan` as its newest scan (the oldest drops out of the window)."""
    scans = [slim(scan, policy), *(s for s in baseline.scans if s.id != scan.id)][: policy.history_window]
    stack = dict(baseline.stack)
    if technology_usable(scan):
        for detection in scan.technologies:
            key = name_key(detection.name)
            known = stack.get(key)
            stack[key] = StackEntry(name=detection.name, version=clip(detection.version),
                                    first_seen=known.first_seen if known else scan.started_at,
                                    last_seen=scan.started_at)
    # A technology not seen within the window is no longer part of the stack.
    oldest = scans[-1].started_at
    stack = {key: entry for key, entry in stack.items() if entry.last_seen >= oldest}
    failures = baseline.failures_in_a_row + 1 if is_failure(scan) else 0
    after = baseline.model_copy(update={"scans": scans, "stack": stack, "failures_in_a_row": failures})
    kept = {s.id for s in scans}
    after._packed = {key: value for key, value in baseline._packed.items() if key in kept}
    after._parts = baseline._parts
    return after


def slim(scan: ScanResult, policy: DetectionPolicy) -> ScanResult:
    """The scan as the detectors read it when it is history: no other headers, no redirect chain, no
    security details or advisories, no parsed finding data beyond the advisory id, analysis errors by name
    only, evidence texts cut as the evidence of a change cuts them."""
    response = scan.response
    if response is not None:
        tracked = set(policy.security_headers)
        response = ResponseSnapshot(final_url=response.final_url, status_code=response.status_code,
                                    headers=[(k, v) for k, v in response.headers if k.lower() in tracked])
    security = scan.security
    if security is not None:
        security = security.model_copy(update={
            "details": {}, "vulnerabilities": [], "findings": [_slim_finding(f) for f in security.findings],
        })
    technologies = [
        d.model_copy(update={"evidence": [e.model_copy(update={"pattern": clip(e.pattern), "matched": clip(e.matched)})
                                          for e in d.evidence]})
        for d in scan.technologies
    ]
    return scan.model_copy(update={
        "response": response, "security": security, "technologies": technologies,
        "analysis_errors": dict.fromkeys(scan.analysis_errors, ""),
    })


def _slim_finding(finding: SecurityFinding) -> SecurityFinding:
    advisory = finding.data.get("advisory_id")
    return finding.model_copy(update={"data": {"advisory_id": advisory} if advisory else {}})

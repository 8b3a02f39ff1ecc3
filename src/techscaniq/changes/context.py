"""What every detector reads: the scan being judged, its history, the config and the policy, plus the
few facts about scans they all share (which scans count, how a Change is stamped)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from techscaniq.changes.impact import ImpactTable
from techscaniq.changes.policy import DetectionPolicy
from techscaniq.domain.availability import answer_failed
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.scan import ScanResult

# analysis_errors keys that make that part of a scan unusable for comparison.
TECHNOLOGY_ANALYZER = "technologies"
PERFORMANCE_ANALYZER = "performance"
SECURITY_ANALYZER = "security"

MAX_EVIDENCE_TEXT = 300  # hostile pages can make matched text huge; evidence stays small

T = TypeVar("T", bound=Hashable)


def stable_state(values: Sequence[T], stable: int, flap_window: int) -> T:
    """The value a per-scan fact is taken to have, replayed oldest to newest over `values` (newest first):
    a value not seen in the previous `flap_window` scans is taken at once (a real change of a steady site
    is reported on the scan that shows it), a value that comes back only after `stable` equal values in a
    row. Something alternating between two edge servers thus raises one change, not one per scan."""
    if all(value == values[0] for value in values):
        return values[0]  # the common case: nothing changed in the window
    chronological = list(reversed(values))
    state = chronological[0]
    for j, value in enumerate(chronological):
        recent = chronological[max(0, j - stable + 1): j + 1]
        earlier = chronological[max(0, j - flap_window + 1): j]
        if value not in earlier or (len(recent) == stable and all(v == value for v in recent)):
            state = value
    return state


def status_code(scan: ScanResult) -> int | None:
    return scan.response.status_code if scan.response else None


def is_failure(scan: ScanResult) -> bool:
    """Down for availability: the fetch failed, or the server answered 5xx."""
    return answer_failed(scan.succeeded, status_code(scan))


def has_content(scan: ScanResult) -> bool:
    """A scan whose page is the site's real page: an error page's stack, speed or headers say nothing
    about the site, so 4xx/5xx scans never take part in technology, performance or security diffs; nor does a
    binary body, which was not analysed at all."""
    return scan.shows_the_page


def clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_EVIDENCE_TEXT:
        return text
    return text[:MAX_EVIDENCE_TEXT] + "…"


def settled_value(values: Sequence[T | None], run: int) -> T | None:
    """The value of the newest run of at least `run` equal values (newest first): a value only counts
    once it has held for `run` scans in a row. The oldest run counts whatever its length (nothing older
    contradicts it: the first scans of a config). None entries break runs."""
    index = 0
    while index < len(values):
        value = values[index]
        length = 1
        while index + length < len(values) and values[index + length] == value:
            length += 1
        if value is not None and (length >= run or index + length == len(values)):
            return value
        index += length
    return None


@dataclass
class DetectionContext:
    current: ScanResult
    history: Sequence[ScanResult]  # newest first, same config, started before `current`
    config: MonitoringConfig
    policy: DetectionPolicy
    impacts: ImpactTable = field(init=False)

    def __post_init__(self) -> None:
        self.impacts = ImpactTable(self.policy.impact_overrides)

    def previous_where(self, condition: Callable[[ScanResult], bool]) -> ScanResult | None:
        return next((scan for scan in self.history if condition(scan)), None)

    def change(
        self,
        kind: ChangeKind,
        change_type: str,
        subject: str,
        *,
        previous: ScanResult | None,
        before: Any = None,
        after: Any = None,
        impact: Impact,
        evidence: dict[str, Any] | None = None,
        data_change: bool = False,
    ) -> Change:
        scans = {"current": self.current.id, "previous": previous.id if previous else None}
        return Change(
            organization_id=self.current.organization_id,
            config_id=self.current.config_id,
            scan_id=self.current.id,
            previous_scan_id=previous.id if previous else None,
            type=kind,
            change_type=change_type,
            subject=subject,
            before=before,
            after=after,
            # A fingerprint database update is not a site change: it never outranks "low".
            impact=Impact.LOW if data_change else impact,
            evidence={**(evidence or {}), "scan_ids": scans},
            data_change=data_change,
        )

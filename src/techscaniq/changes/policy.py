"""The knobs of change detection. Every stateful rule ("K consecutive scans", "stable for S scans") is
evaluated over the stored history with these numbers, so replicas and restarts agree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from techscaniq.domain.common import Impact

# Minimum absolute movement before a relative change counts: a 2 ms -> 4 ms TTFB is +100% but noise.
DEFAULT_MIN_ABSOLUTE_DELTA = {
    "ttfb_ms": 50.0,
    "load_time_ms": 100.0,
    "transfer_bytes": 2048.0,
    "page_weight_bytes": 10240.0,
    "fcp_ms": 100.0,
    "lcp_ms": 100.0,
    "tbt_ms": 50.0,
    "cls": 0.05,
}

DEFAULT_SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
)


class DetectionPolicy(BaseModel):
    """How sure detection must be before it speaks. Defaults favour no false alarms over promptness by
    at most one scan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Scans loaded as history; every rule below looks at most this far back.
    history_window: int = Field(default=20, ge=2, le=500)
    # Performance: baseline = median of the last N non-regressed scans, needing at least min_baseline_scans.
    baseline_window: int = Field(default=5, ge=1)
    min_baseline_scans: int = Field(default=3, ge=1)
    # Breaching scans in a row before "regressed" (and improving scans in a row before "improved").
    consecutive_scans: int = Field(default=2, ge=1)
    # Non-breaching scans in a row before "recovered".
    recovery_scans: int = Field(default=1, ge=1)
    # After this many breaching scans in a row the new level becomes the baseline (no change is raised).
    rebaseline_scans: int = Field(default=12, ge=2)
    # Thresholds (percent) for metrics the config does not name; the config's performance_thresholds win.
    default_thresholds: dict[str, float] = Field(default_factory=dict)
    min_absolute_delta: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIN_ABSOLUTE_DELTA))
    # Metrics where a larger value is better (all the built-in ones are "lower is better").
    higher_is_better: frozenset[str] = frozenset()
    # Availability: failed (or 5xx) scans in a row before "down"; also how long a new status class or
    # redirect target must hold before it is reported.
    availability_consecutive: int = Field(default=2, ge=1)
    # Technologies: detections below this confidence are "weak" and need stability_scans sightings in a row.
    min_confidence: int = Field(default=50, ge=0, le=100)
    stability_scans: int = Field(default=2, ge=1)
    # Scans inspected for flapping (a technology toggling present/absent twice or more in this window).
    stability_window: int = Field(default=6, ge=2)
    # Certificate expiry warnings, in days (each crossing is reported once per certificate).
    certificate_expiry_days: tuple[int, ...] = (30, 14, 7)
    security_headers: tuple[str, ...] = DEFAULT_SECURITY_HEADERS
    # "<kind>.<change_type>[:<qualifier>]" -> impact, over the defaults of impact.py.
    impact_overrides: dict[str, Impact] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> DetectionPolicy:
        needed = self.baseline_window + self.rebaseline_scans
        if self.history_window < needed:
            raise ValueError(f"history_window must be at least baseline_window + rebaseline_scans ({needed})")
        if self.min_baseline_scans > self.baseline_window:
            raise ValueError("min_baseline_scans cannot exceed baseline_window (the baseline would never fill)")
        if self.stability_window < self.stability_scans + 1:
            raise ValueError("stability_window must exceed stability_scans")
        if any(day <= 0 for day in self.certificate_expiry_days):
            raise ValueError("certificate_expiry_days must be positive")
        return self

    @property
    def expiry_thresholds(self) -> tuple[int, ...]:
        """Largest first: 30, 14, 7."""
        return tuple(sorted(set(self.certificate_expiry_days), reverse=True))

"""Performance changes per metric against a rolling-median baseline.

Replayed over the stored history (oldest to newest) for the previous scan and for this one:
- baseline = median of the last N values that were not breaching (a regression never drags its own
  baseline up, so "recovered" is judged against the level before it);
- a value breaches when it is worse than the baseline by more than the threshold percent AND by at least
  the metric's minimum absolute delta (2 ms -> 4 ms is +100% but noise);
- "regressed" after K breaching scans in a row; "recovered" after recovery_scans non-breaching ones;
- "improved" after K scans in a row better than the baseline by the threshold (improving values join the
  baseline, so it is reported once and then becomes the new normal);
- after rebaseline_scans breaching scans in a row the new level is accepted as the baseline, silently.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import median

from techscaniq.changes.context import PERFORMANCE_ANALYZER, DetectionContext, has_content
from techscaniq.changes.policy import DetectionPolicy
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.performance import canonical_metric
from techscaniq.domain.scan import ScanResult

PERFORMANCE = ChangeKind.PERFORMANCE


@dataclass
class MetricState:
    regressed: bool = False
    improved: bool = False
    rebaselined: bool = False
    baseline: float | None = None
    baseline_scan_ids: list[str] = field(default_factory=list)
    change_percent: float | None = None
    breaching_scan_ids: list[str] = field(default_factory=list)
    improving_scan_ids: list[str] = field(default_factory=list)
    last_value: float | None = None


def performance_usable(scan: ScanResult) -> bool:
    return has_content(scan) and scan.performance is not None and PERFORMANCE_ANALYZER not in scan.analysis_errors


def _relative(value: float, base: float) -> float:
    if base == 0:
        return 0.0 if value == 0 else float("inf")
    return (value - base) / abs(base) * 100.0


def replay(points: list[tuple[str, float]], threshold: float, min_delta: float, higher_is_better: bool,
           policy: DetectionPolicy) -> MetricState:
    """`points` oldest first: (scan id, value). Returns the state after the last point."""
    baseline: deque[tuple[str, float]] = deque(maxlen=policy.baseline_window)
    state = MetricState()
    good_streak = 0
    sign = -1.0 if higher_is_better else 1.0
    for scan_id, value in points:
        state.rebaselined, state.last_value = False, value
        if len(baseline) < policy.min_baseline_scans:
            baseline.append((scan_id, value))
            continue
        base = median(v for _, v in baseline)
        percent = _relative(value, base)
        worse = sign * percent > threshold and abs(value - base) >= min_delta
        better = -sign * percent > threshold and abs(value - base) >= min_delta
        state.baseline, state.baseline_scan_ids, state.change_percent = base, [i for i, _ in baseline], percent
        if worse:
            good_streak = 0
            state.improving_scan_ids, state.improved = [], False
            state.breaching_scan_ids.append(scan_id)
            if len(state.breaching_scan_ids) >= policy.consecutive_scans:
                state.regressed = True
            if len(state.breaching_scan_ids) >= policy.rebaseline_scans:
                # The site has a new normal: judge the next scans against it.
                baseline.clear()
                baseline.extend(zip(state.breaching_scan_ids[-policy.baseline_window:],
                                    _values(points, state.breaching_scan_ids[-policy.baseline_window:]),
                                    strict=True))
                state.breaching_scan_ids, state.regressed, state.rebaselined = [], False, True
            continue
        good_streak += 1
        state.breaching_scan_ids = []
        if state.regressed and good_streak >= policy.recovery_scans:
            state.regressed = False
        if not state.regressed:
            baseline.append((scan_id, value))
        if better:
            state.improving_scan_ids.append(scan_id)
            state.improved = len(state.improving_scan_ids) >= policy.consecutive_scans
        else:
            state.improving_scan_ids, state.improved = [], False
    return state


def _values(points: list[tuple[str, float]], ids: list[str]) -> list[float]:
    lookup = dict(points)
    return [lookup[i] for i in ids]


def thresholds(ctx: DetectionContext) -> dict[str, float]:
    merged = {canonical_metric(name): value for name, value in ctx.policy.default_thresholds.items()}
    merged.update({canonical_metric(n): v for n, v in ctx.config.scan_config.performance_thresholds.items()})
    return merged


def detect_performance(ctx: DetectionContext) -> list[Change]:
    current = ctx.current
    if not ctx.config.scan_config.performance or not performance_usable(current) or current.performance is None:
        return []
    policy = ctx.policy
    usable = [scan for scan in ctx.history if performance_usable(scan)][: policy.history_window]
    if not usable:
        return []
    changes: list[Change] = []
    for metric, threshold in sorted(thresholds(ctx).items()):
        value = current.performance.metrics.get(metric)
        if value is None or not math.isfinite(value):
            continue
        series = [(s.id, s.performance.metrics[metric]) for s in usable
                  if s.performance is not None and math.isfinite(s.performance.metrics.get(metric, math.nan))]
        before_points = list(reversed(series))
        after_points = list(reversed([(current.id, value), *series[: policy.history_window - 1]]))
        min_delta = policy.min_absolute_delta.get(metric, 0.0)
        higher = metric in policy.higher_is_better
        was = replay(before_points, threshold, min_delta, higher, policy)
        now = replay(after_points, threshold, min_delta, higher, policy)
        changes += _transitions(ctx, usable[0], metric, value, threshold, was, now)
    return changes


def _transitions(ctx: DetectionContext, previous: ScanResult, metric: str, value: float, threshold: float,
                 was: MetricState, now: MetricState) -> list[Change]:
    evidence = {
        "value": value, "baseline": now.baseline, "baseline_scan_ids": now.baseline_scan_ids,
        "change_percent": None if now.change_percent is None else round(now.change_percent, 2),
        "threshold_percent": threshold, "baseline_window": ctx.policy.baseline_window,
    }
    changes = []
    if now.regressed and not was.regressed:
        severe = now.change_percent is not None and abs(now.change_percent) > 2 * threshold
        changes.append(ctx.change(
            PERFORMANCE, "regressed", metric, previous=previous, before=now.baseline, after=value,
            impact=ctx.impacts.impact("performance", "regressed", [metric], ["severe"] if severe else []),
            evidence={**evidence, "breaching_scan_ids": now.breaching_scan_ids,
                      "consecutive_scans": ctx.policy.consecutive_scans},
        ))
    elif was.regressed and not now.regressed and not now.rebaselined:
        changes.append(ctx.change(
            PERFORMANCE, "recovered", metric, previous=previous, before=was.last_value, after=value,
            impact=ctx.impacts.impact("performance", "recovered", [metric]),
            evidence={**evidence, "regressed_scan_ids": was.breaching_scan_ids},
        ))
    if now.improved and not was.improved:
        changes.append(ctx.change(
            PERFORMANCE, "improved", metric, previous=previous, before=now.baseline, after=value,
            impact=ctx.impacts.impact("performance", "improved", [metric]),
            evidence={**evidence, "improving_scan_ids": now.improving_scan_ids},
        ))
    return changes

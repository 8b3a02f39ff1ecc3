"""Availability: down after K failed scans in a row, up again, status-class and redirect-target changes.

States are recomputed from history for both the previous scan and this one; a change is the difference.
That keeps detection idempotent and lets any replica process any scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from techscaniq.changes.context import DetectionContext, clip, has_content, is_failure, settled_value, status_code
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.scan import ScanResult

AVAILABILITY = ChangeKind.AVAILABILITY


def _state(scans: Sequence[ScanResult], k: int) -> str | None:
    """'down' once the newest k scans all failed, 'up' when the newest failure streak (possibly empty) is
    preceded by a success, None while the config has only a short run of failures."""
    streak = next((i for i, scan in enumerate(scans) if not is_failure(scan)), len(scans))
    if streak >= k:
        return "down"
    return "up" if streak < len(scans) else None


def _failure_summary(scan: ScanResult) -> dict[str, object]:
    return {
        "scan_id": scan.id,
        "started_at": scan.started_at.isoformat(),
        "status_code": status_code(scan),
        "error": scan.error.code.value if scan.error else None,
        "message": clip(scan.error.message) if scan.error else None,
    }


def _target(scan: ScanResult) -> str | None:
    """The final URL without query or fragment (session tokens there change on every visit)."""
    url = scan.response.final_url if scan.response else None
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.netloc or '').lower()}{parts.path or '/'}"


def detect_availability(ctx: DetectionContext) -> list[Change]:
    k = ctx.policy.availability_consecutive
    history, current = ctx.history, ctx.current
    if not history:
        return []
    now_scans = [current, *history]
    before, after = _state(history, k), _state(now_scans, k)
    changes: list[Change] = []
    if after == "down" and before != "down":
        failures = now_scans[:k]
        last_up = next((scan for scan in history if not is_failure(scan)), history[0])
        changes.append(ctx.change(
            AVAILABILITY, "down", "site", previous=last_up, before="up" if before else None, after="down",
            impact=ctx.impacts.impact("availability", "down"),
            evidence={"consecutive_failures": k, "failures": [_failure_summary(scan) for scan in failures]},
        ))
    elif before == "down" and after == "up":
        failures = _leading_failures(history)
        since = failures[-1].started_at if failures else None
        changes.append(ctx.change(
            AVAILABILITY, "up", "site", previous=history[0], before="down", after="up",
            impact=ctx.impacts.impact("availability", "up"),
            evidence={
                "status_code": status_code(current),
                "failed_scans": len(failures),
                "down_since": since.isoformat() if since else None,
                "downtime_seconds": (current.started_at - since).total_seconds() if since else None,
            },
        ))
    if not is_failure(current):
        changes += _status_class(ctx, k)
        changes += _redirect_target(ctx, k)
    return changes


def _leading_failures(scans: Sequence[ScanResult]) -> list[ScanResult]:
    result = []
    for scan in scans:
        if not is_failure(scan):
            break
        result.append(scan)
    return result


def _status_class(ctx: DetectionContext, k: int) -> list[Change]:
    answered = [scan for scan in ctx.history if not is_failure(scan)]
    classes = [f"{code // 100}xx" if (code := status_code(scan)) else None for scan in answered]
    current_class = f"{(status_code(ctx.current) or 0) // 100}xx"
    before, after = settled_value(classes, k), settled_value([current_class, *classes], k)
    if before is None or after is None or before == after:
        return []
    previous = answered[0]
    return [ctx.change(
        AVAILABILITY, "changed", "status_code", previous=previous, before=status_code(previous),
        after=status_code(ctx.current), impact=ctx.impacts.impact("availability", "changed", [after]),
        evidence={"class_before": before, "class_after": after, "consecutive_scans": k,
                  "final_url": clip(ctx.current.response.final_url if ctx.current.response else None)},
    )]


def _redirect_target(ctx: DetectionContext, k: int) -> list[Change]:
    answered = [scan for scan in ctx.history if has_content(scan)]
    if not has_content(ctx.current):
        return []
    targets = [_target(scan) for scan in answered]
    before, after = settled_value(targets, k), settled_value([_target(ctx.current), *targets], k)
    if before is None or after is None or before == after:
        return []
    old, new = urlsplit(before), urlsplit(after)
    qualifiers = []
    if old.netloc != new.netloc:
        qualifiers.append("host")
    if old.scheme == "https" and new.scheme != "https":
        qualifiers.append("insecure")
    return [ctx.change(
        AVAILABILITY, "redirect_changed", "final_url", previous=answered[0], before=before, after=after,
        impact=ctx.impacts.impact("availability", "redirect_changed", qualifiers),
        evidence={"requested_url": ctx.current.url, "consecutive_scans": k,
                  "redirects": ctx.current.response.redirects[:10] if ctx.current.response else []},
    )]

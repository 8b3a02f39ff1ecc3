"""Security changes between this scan and the previous usable one: grade, findings, security headers,
certificate (replaced, issuer, trust, expiry thresholds) and TLS protocol."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from techscaniq.changes.context import SECURITY_ANALYZER, DetectionContext, clip, has_content
from techscaniq.changes.security_headers import header_values, judge
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.fetch import TLSInfo
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.security import SecurityFinding, SecurityReport

SECURITY = ChangeKind.SECURITY
GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F")
_LETTERS = "ABCDEF"
TLS_PROTOCOLS = {"sslv2": 0, "sslv3": 1, "tlsv1": 2, "tlsv1.0": 2, "tlsv1.1": 3, "tlsv1.2": 4, "tlsv1.3": 5}


def report_of(scan: ScanResult) -> SecurityReport | None:
    return scan.security if SECURITY_ANALYZER not in scan.analysis_errors else None


def detect_security(ctx: DetectionContext) -> list[Change]:
    if not ctx.config.scan_config.security or not has_content(ctx.current):
        return []
    previous = ctx.previous_where(has_content)
    if previous is None:
        return []
    changes = _headers(ctx, previous)
    reference = ctx.previous_where(lambda scan: has_content(scan) and report_of(scan) is not None)
    old, new = (report_of(reference) if reference else None), report_of(ctx.current)
    if reference is None or old is None or new is None:
        return changes
    changes += _grade(ctx, reference, old, new)
    changes += _findings(ctx, reference, old, new)
    if old.tls is not None and new.tls is not None:
        changes += _certificate(ctx, reference, old.tls, new.tls)
        changes += _protocol(ctx, reference, old.tls, new.tls)
    return changes


def _headers(ctx: DetectionContext, previous: ScanResult) -> list[Change]:
    names = ctx.policy.security_headers
    old, new = header_values(previous, names), header_values(ctx.current, names)
    changes = []
    for name in names:
        before, after = old.get(name), new.get(name)
        if before is None and after is None:
            continue
        evidence: dict[str, Any] = {"header": name, "before": clip(before), "after": clip(after)}
        if before is not None and after is None:
            change_type = "removed"
        elif before is None:
            change_type = "added"
        else:
            verdict = judge(name, before, after or "")
            if verdict is None:
                continue
            change_type, evidence = verdict.change_type, {**evidence, **verdict.details}
        changes.append(ctx.change(
            SECURITY, change_type, name, previous=previous, before=clip(before), after=clip(after),
            impact=ctx.impacts.impact("security", change_type, [name]), evidence=evidence,
        ))
    return changes


def _grade(ctx: DetectionContext, previous: ScanResult, old: SecurityReport, new: SecurityReport) -> list[Change]:
    if old.grade == new.grade or old.grade not in GRADES or new.grade not in GRADES:
        return []
    worse = GRADES.index(new.grade) > GRADES.index(old.grade)
    steps = abs(_LETTERS.index(new.grade[0]) - _LETTERS.index(old.grade[0]))
    change_type = "degraded" if worse else "improved"
    return [ctx.change(
        SECURITY, change_type, "grade", previous=previous, before=old.grade, after=new.grade,
        impact=ctx.impacts.impact("security", change_type, ["2_steps"] if steps >= 2 else []),
        evidence={"score": {"before": old.score, "after": new.score}, "letter_steps": steps},
    )]


def _failing(report: SecurityReport, skip: tuple[str, ...]) -> dict[str, list[SecurityFinding]]:
    """Failed findings by test. Header tests are left to the header comparison (one change per cause)."""
    failing: dict[str, list[SecurityFinding]] = {}
    for finding in report.findings:
        if not finding.passed and finding.test not in skip:
            failing.setdefault(finding.test, []).append(finding)
    return failing


def _findings(ctx: DetectionContext, previous: ScanResult, old: SecurityReport, new: SecurityReport) -> list[Change]:
    before, after = _failing(old, ctx.policy.security_headers), _failing(new, ctx.policy.security_headers)
    changes = []
    for test in sorted(before.keys() | after.keys()):
        old_results = sorted({f.result for f in before.get(test, [])})
        new_results = sorted({f.result for f in after.get(test, [])})
        if old_results == new_results:
            continue
        change_type = "finding_added" if not old_results else "finding_resolved" if not new_results else (
            "finding_changed")
        shown = after.get(test) or before.get(test) or []
        severities = [str(s) for f in shown if (s := getattr(f, "severity", None))]
        changes.append(ctx.change(
            SECURITY, change_type, test, previous=previous, before=old_results or None, after=new_results or None,
            impact=ctx.impacts.impact("security", change_type, severities),
            evidence={"findings": [{"result": f.result, "description": clip(f.description), "value": clip(f.value)}
                                   for f in shown[:10]]},
        ))
    return changes


def _identity(tls: TLSInfo) -> str | None:
    return tls.fingerprint_sha256 or tls.serial_number


def _certificate_summary(tls: TLSInfo) -> dict[str, Any]:
    return {"subject": clip(tls.subject), "issuer": clip(tls.issuer), "serial_number": tls.serial_number,
            "fingerprint_sha256": tls.fingerprint_sha256, "sans": [clip(name) for name in tls.sans[:20]],
            "not_before": tls.not_before.isoformat() if tls.not_before else None,
            "not_after": tls.not_after.isoformat() if tls.not_after else None}


def days_left(tls: TLSInfo, at: datetime) -> float | None:
    """Computed from the certificate and the scan time, so re-processing a scan gives the same answer."""
    if tls.not_after is not None:
        return (tls.not_after - at).total_seconds() / 86400
    return tls.days_to_expiry


def _expiry_level(days: float | None, thresholds: tuple[int, ...]) -> int:
    """0: fine; 1..n: inside the n-th (tighter) threshold; n+1: expired."""
    if days is None:
        return 0
    if days <= 0:
        return len(thresholds) + 1
    return sum(1 for limit in thresholds if days <= limit)


def _certificate(ctx: DetectionContext, previous: ScanResult, old: TLSInfo, new: TLSInfo) -> list[Change]:
    changes = []
    summary = {"before": _certificate_summary(old), "after": _certificate_summary(new)}
    old_id, new_id = _identity(old), _identity(new)
    if old_id and new_id and old_id != new_id:
        old_issuer, new_issuer = old.issuer_organization or old.issuer, new.issuer_organization or new.issuer
        change_type = "issuer_changed" if old_issuer != new_issuer else "replaced"
        before, after = (old_issuer, new_issuer) if change_type == "issuer_changed" else (old_id, new_id)
        changes.append(ctx.change(
            SECURITY, change_type, "certificate", previous=previous, before=clip(before), after=clip(after),
            impact=ctx.impacts.impact("security", change_type), evidence=summary,
        ))
    if old.verified != new.verified:
        change_type = "trusted" if new.verified else "untrusted"
        changes.append(ctx.change(
            SECURITY, change_type, "certificate", previous=previous, before=old.verified, after=new.verified,
            impact=ctx.impacts.impact("security", change_type), evidence={**summary, "error": clip(new.error)},
        ))
    thresholds = ctx.policy.expiry_thresholds
    days_before, days_now = days_left(old, previous.started_at), days_left(new, ctx.current.started_at)
    level_before, level_now = _expiry_level(days_before, thresholds), _expiry_level(days_now, thresholds)
    if level_now > level_before and days_now is not None:
        expired = level_now > len(thresholds)
        change_type = "expired" if expired else "expiring"
        limit = None if expired else thresholds[level_now - 1]
        changes.append(ctx.change(
            SECURITY, change_type, "certificate", previous=previous,
            before=None if days_before is None else round(days_before, 1), after=round(days_now, 1),
            impact=ctx.impacts.impact("security", change_type, [str(limit)] if limit else []),
            evidence={"days_to_expiry": round(days_now, 2), "threshold_days": limit,
                      "not_after": new.not_after.isoformat() if new.not_after else None,
                      "certificate": summary["after"]},
        ))
    return changes


def _protocol(ctx: DetectionContext, previous: ScanResult, old: TLSInfo, new: TLSInfo) -> list[Change]:
    if not old.protocol or not new.protocol or old.protocol == new.protocol:
        return []
    rank_before = TLS_PROTOCOLS.get(old.protocol.lower().replace(" ", ""))
    rank_after = TLS_PROTOCOLS.get(new.protocol.lower().replace(" ", ""))
    if rank_before is None or rank_after is None or rank_before == rank_after:
        change_type = "changed"
    else:
        change_type = "upgraded" if rank_after > rank_before else "downgraded"
    return [ctx.change(
        SECURITY, change_type, "tls_protocol", previous=previous, before=old.protocol, after=new.protocol,
        impact=ctx.impacts.impact("security", change_type),
        evidence={"cipher": {"before": old.cipher, "after": new.cipher}},
    )]

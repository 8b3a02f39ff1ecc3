"""Security changes: security headers, grade, findings, certificate (replaced, issuer, trust, expiry
thresholds), TLS protocol, and the TLS rating (its grade, the protocols its probe found offered).

Each of these is a per-scan fact whose state is replayed over the history with `stable_state`, so a
change of a steady site is reported on the scan that shows it while a fact alternating between edge
servers (one node without HSTS, two certificates behind a CDN) does not raise a change every scan.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from techscaniq.changes.context import SECURITY_ANALYZER, DetectionContext, clip, has_content, stable_state
from techscaniq.changes.security_headers import header_values, judge, normalise
from techscaniq.domain.change import Change, ChangeKind
from techscaniq.domain.common import Impact
from techscaniq.domain.fetch import TLSInfo
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.security import GRADED_CATEGORY, SecurityFinding, SecurityReport

SECURITY = ChangeKind.SECURITY
GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F")
_LETTERS = "ABCDEF"
# The TLS rating's grades, best first; T (not trusted) and M (another host's certificate) rank below F.
TLS_GRADES = ("A+", "A", "A-", "B", "C", "D", "E", "F", "M", "T")
TLS_PROTOCOLS = {"sslv2": 0, "sslv3": 1, "tlsv1": 2, "tlsv1.0": 2, "tlsv1.1": 3, "tlsv1.2": 4, "tlsv1.3": 5}

Fact = Callable[[ScanResult], Hashable]


def report_of(scan: ScanResult) -> SecurityReport | None:
    return scan.security if SECURITY_ANALYZER not in scan.analysis_errors else None


def security_usable(scan: ScanResult) -> bool:
    return has_content(scan) and report_of(scan) is not None


def _report(scan: ScanResult) -> SecurityReport:
    report = report_of(scan)
    assert report is not None  # only security_usable scans reach the facts
    return report


class _Facts:
    """The windows of the previous scan and of this one, and the state of a fact in each."""

    def __init__(self, ctx: DetectionContext) -> None:
        size = ctx.policy.history_window
        self.ctx = ctx
        self.history = [scan for scan in ctx.history if security_usable(scan)][:size]
        self.before = self.history
        self.after = [ctx.current, *self.history[: size - 1]]
        names = ctx.policy.security_headers
        self._headers = {scan.id: header_values(scan, names) for scan in [ctx.current, *self.history]}

    def header(self, scan: ScanResult, name: str) -> str | None:
        return self._headers[scan.id].get(name)

    def states(self, fact: Fact, judged: Callable[[ScanResult], bool] | None = None) -> tuple[Any, Any]:
        """The fact's state before and now; (x, x) when this scan is not `judged` or has no history."""
        stable, window = self.ctx.policy.stability_scans, self.ctx.policy.stability_window
        before = [scan for scan in self.before if judged is None or judged(scan)]
        if (judged is not None and not judged(self.ctx.current)) or not before:
            return None, None
        after = [scan for scan in self.after if judged is None or judged(scan)]
        was = stable_state([fact(scan) for scan in before], stable, window)
        now = stable_state([fact(scan) for scan in after], stable, window)
        return was, now

    def scan_with(self, fact: Fact, value: Any) -> ScanResult:
        """The newest earlier scan showing `value` (its raw data makes the evidence)."""
        return next((scan for scan in self.history if fact(scan) == value), self.history[0])


def detect_security(ctx: DetectionContext) -> list[Change]:
    if not ctx.config.scan_config.security or not security_usable(ctx.current):
        return []
    facts = _Facts(ctx)
    if not facts.history:
        return []
    return [*_headers(facts), *_grade(facts), *_findings(facts), *_certificate(facts), *_protocol(facts),
            *_tls_grade(facts), *_offered_protocols(facts)]


def _headers(facts: _Facts) -> list[Change]:
    ctx, changes = facts.ctx, []
    names = ctx.policy.security_headers
    for name in names:
        def fact(scan: ScanResult, name: str = name) -> str | None:
            value = facts.header(scan, name)
            return None if value is None else normalise(name, value)

        was, now = facts.states(fact)
        if was == now:
            continue
        previous = facts.scan_with(fact, was)
        before = facts.header(previous, name)
        after = facts.header(ctx.current, name) if now is not None else None
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


def _grade_of(scan: ScanResult) -> str:
    return _report(scan).grade


def _grade(facts: _Facts) -> list[Change]:
    ctx = facts.ctx
    move = _grade_move(facts, _grade_of, complete, GRADES)
    if move is None:
        return []
    before, after = _report(move.previous), _report(ctx.current)
    return [ctx.change(
        SECURITY, move.change_type, "grade", previous=move.previous, before=move.was, after=move.now,
        impact=move.impact(ctx),
        evidence={"score": {"before": before.score, "after": after.score}, "letter_steps": move.steps,
                  "reasons": grade_reasons(before, after, move.worse)},
    )]


@dataclass(frozen=True)
class _GradeMove:
    """A grade (header or TLS) that moved between its stable states, and by how many letters."""

    previous: ScanResult  # the newest earlier scan with the old grade
    was: str
    now: str
    worse: bool
    steps: int

    @property
    def change_type(self) -> str:
        return "degraded" if self.worse else "improved"

    def impact(self, ctx: DetectionContext) -> Impact:
        return ctx.impacts.impact("security", self.change_type, ["2_steps"] if self.steps >= 2 else [])


def _grade_move(facts: _Facts, grade_of: Fact, judged: Callable[[ScanResult], bool],
                grades: tuple[str, ...]) -> _GradeMove | None:
    was, now = facts.states(grade_of, judged)
    if was == now or was not in grades or now not in grades:
        return None
    steps = abs(_LETTERS.index(_letter_of(now)) - _LETTERS.index(_letter_of(was)))
    return _GradeMove(facts.scan_with(grade_of, was), was, now, grades.index(now) > grades.index(was), steps)


def grade_reasons(before: SecurityReport, after: SecurityReport, worse: bool) -> list[str]:
    """What moved the grade, in words: the graded tests whose result now counts less (or more, when
    the grade rose), described as they are now ('CSP header not implemented')."""
    was = {f.test: f for f in before.findings if f.category == GRADED_CATEGORY}
    reasons = []
    for finding in after.findings:
        old = was.get(finding.test)
        if finding.category != GRADED_CATEGORY or old is None or old.modifier == finding.modifier:
            continue
        if (finding.modifier < old.modifier) == worse:
            reasons.append(clip(finding.description) or finding.result)
    return reasons[:5]


def _group(finding: SecurityFinding) -> str:
    """The subject a failed finding is reported under: its test, or for a vulnerable library the test and
    the library (each library's advisories come and go on their own)."""
    if finding.category == "library" and finding.value:
        return f"{finding.test}:{clip(finding.value.rsplit(' ', 1)[0])}"
    return finding.test


def _failing(scan: ScanResult, group: str) -> list[SecurityFinding]:
    return [f for f in _report(scan).findings if not f.passed and _group(f) == group]


def _finding_key(finding: SecurityFinding) -> str:
    """What identifies a failed finding within its group. Free-text values (a Set-Cookie line, a Server
    header) stay out: they change on every visit or are reported elsewhere (the technology version)."""
    if finding.category == "library":
        return f"{finding.data.get('advisory_id') or finding.result}: {clip(finding.value)}"
    return finding.result


def complete(scan: ScanResult) -> bool:
    """No optional security probe failed (redirection, CORS, legacy TLS, sensitive paths, advisories):
    a failed probe changes findings and grade without the site changing, so such scans are not judged."""
    return not any(key.startswith(f"{SECURITY_ANALYZER}.") for key in scan.analysis_errors)


def _findings(facts: _Facts) -> list[Change]:
    """Failed findings by test. Header tests are left to the header comparison, the TLS rating's grade and
    protocols to theirs (one change per cause)."""
    ctx, changes = facts.ctx, []
    skip = set(ctx.policy.security_headers) | {"tls-rating"}
    groups = sorted({_group(f) for scan in facts.after + facts.before for f in _report(scan).findings
                     if not f.passed and f.test not in skip and not f.test.startswith("tls-protocol-")})
    for test in groups:
        def fact(scan: ScanResult, test: str = test) -> tuple[str, ...]:
            return tuple(sorted({_finding_key(f) for f in _failing(scan, test)}))

        was, now = facts.states(fact, complete)
        if was == now:
            continue
        previous = facts.scan_with(fact, was)
        change_type = "finding_added" if not was else "finding_resolved" if not now else "finding_changed"
        shown = _failing(ctx.current, test) or _failing(previous, test)
        severities = [f.severity for f in shown if f.severity]
        changes.append(ctx.change(
            SECURITY, change_type, test, previous=previous, before=list(was) or None, after=list(now) or None,
            impact=ctx.impacts.impact("security", change_type, severities),
            evidence={"findings": [{"result": f.result, "description": clip(f.description), "value": clip(f.value),
                                    "category": f.category, "severity": f.severity} for f in shown[:10]]},
        ))
    return changes


def _tls(scan: ScanResult) -> TLSInfo | None:
    return _report(scan).tls


def _identity(scan: ScanResult) -> str | None:
    tls = _tls(scan)
    return (tls.fingerprint_sha256 or tls.serial_number) if tls else None


def _trusted(scan: ScanResult) -> bool | None:
    tls = _tls(scan)
    return tls.verified if tls else None


def _certificate_summary(tls: TLSInfo | None) -> dict[str, Any]:
    if tls is None:
        return {}
    return {"subject": clip(tls.subject), "issuer": clip(tls.issuer), "serial_number": tls.serial_number,
            "fingerprint_sha256": tls.fingerprint_sha256, "sans": [clip(name) for name in tls.sans[:20]],
            "not_before": tls.not_before.isoformat() if tls.not_before else None,
            "not_after": tls.not_after.isoformat() if tls.not_after else None}


def _certificate(facts: _Facts) -> list[Change]:
    ctx, changes = facts.ctx, []
    current_tls = _tls(ctx.current)
    was, now = facts.states(_identity)
    if was != now and was is not None and now is not None:
        previous = facts.scan_with(_identity, was)
        old_tls = _tls(previous)
        old_issuer = (old_tls.issuer_organization or old_tls.issuer) if old_tls else None
        new_issuer = (current_tls.issuer_organization or current_tls.issuer) if current_tls else None
        change_type = "issuer_changed" if old_issuer != new_issuer else "replaced"
        before, after = (old_issuer, new_issuer) if change_type == "issuer_changed" else (was, now)
        changes.append(ctx.change(
            SECURITY, change_type, "certificate", previous=previous, before=clip(before), after=clip(after),
            impact=ctx.impacts.impact("security", change_type),
            evidence={"before": _certificate_summary(old_tls), "after": _certificate_summary(current_tls)},
        ))
    was_trusted, now_trusted = facts.states(_trusted)
    if was_trusted is not None and now_trusted is not None and was_trusted != now_trusted:
        change_type = "trusted" if now_trusted else "untrusted"
        changes.append(ctx.change(
            SECURITY, change_type, "certificate", previous=facts.scan_with(_trusted, was_trusted),
            before=was_trusted, after=now_trusted, impact=ctx.impacts.impact("security", change_type),
            evidence={"certificate": _certificate_summary(current_tls),
                      "error": clip(current_tls.error if current_tls else None)},
        ))
    if current_tls is not None:
        changes += _expiry(facts, current_tls)
    return changes


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


def _expiry(facts: _Facts, tls: TLSInfo) -> list[Change]:
    """Each threshold crossed by a certificate is reported once: the level now is compared with the level
    of the same certificate when last seen (a new certificate starts from "fine")."""
    ctx = facts.ctx
    thresholds = ctx.policy.expiry_thresholds
    identity = _identity(ctx.current)
    same = next((scan for scan in facts.history if _identity(scan) == identity), None)
    same_tls = _tls(same) if same else None
    days_before = days_left(same_tls, same.started_at) if same and same_tls else None
    days_now = days_left(tls, ctx.current.started_at)
    level_before, level_now = _expiry_level(days_before, thresholds), _expiry_level(days_now, thresholds)
    if level_now <= level_before or days_now is None:
        return []
    expired = level_now > len(thresholds)
    change_type = "expired" if expired else "expiring"
    limit = None if expired else thresholds[level_now - 1]
    return [ctx.change(
        SECURITY, change_type, "certificate", previous=same or facts.history[0],
        before=None if days_before is None else round(days_before, 1), after=round(days_now, 1),
        impact=ctx.impacts.impact("security", change_type, [str(limit)] if limit else []),
        evidence={"days_to_expiry": round(days_now, 2), "threshold_days": limit,
                  "not_after": tls.not_after.isoformat() if tls.not_after else None,
                  "certificate": _certificate_summary(tls)},
    )]


def _protocol_of(scan: ScanResult) -> str | None:
    tls = _tls(scan)
    return tls.protocol if tls else None


def _protocol(facts: _Facts) -> list[Change]:
    ctx = facts.ctx
    was, now = facts.states(_protocol_of)
    if not was or not now or was == now:
        return []
    rank_before = TLS_PROTOCOLS.get(was.lower().replace(" ", ""))
    rank_after = TLS_PROTOCOLS.get(now.lower().replace(" ", ""))
    if rank_before is None or rank_after is None or rank_before == rank_after:
        change_type = "changed"
    else:
        change_type = "upgraded" if rank_after > rank_before else "downgraded"
    previous = facts.scan_with(_protocol_of, was)
    current_tls = _tls(ctx.current)
    return [ctx.change(
        SECURITY, change_type, "tls_protocol", previous=previous, before=was, after=now,
        impact=ctx.impacts.impact("security", change_type),
        evidence={"cipher": current_tls.cipher if current_tls else None},
    )]




def _rated(scan: ScanResult) -> bool:
    """A complete scan with a TLS rating: scans without one (rating off, probe failed) are not judged."""
    return complete(scan) and _report(scan).tls_rating is not None


def _tls_grade_of(scan: ScanResult) -> str | None:
    rating = _report(scan).tls_rating
    return rating.grade if rating else None


def _tls_grade(facts: _Facts) -> list[Change]:
    ctx = facts.ctx
    move = _grade_move(facts, _tls_grade_of, _rated, TLS_GRADES)
    if move is None:
        return []
    before, after = _report(move.previous).tls_rating, _report(ctx.current).tls_rating
    return [ctx.change(
        SECURITY, move.change_type, "tls_grade", previous=move.previous, before=move.was, after=move.now,
        impact=move.impact(ctx),
        evidence={"score": {"before": before.score if before else None, "after": after.score if after else None},
                  "letter_steps": move.steps,
                  "caps": [clip(cap.reason) for cap in (after.caps if after else [])][:10]},
    )]


def _letter_of(grade: str) -> str:
    return "F" if grade in ("M", "T") else grade[0]


def _offered_of(scan: ScanResult) -> tuple[str, ...] | None:
    rating = _report(scan).tls_rating
    return tuple(support.protocol for support in rating.probe.accepted()) if rating else None


def _offered_protocols(facts: _Facts) -> list[Change]:
    """A protocol newly offered (TLS 1.0 switched back on) or withdrawn, one change each."""
    ctx, changes = facts.ctx, []
    was, now = facts.states(_offered_of, _rated)
    if was is None or now is None or was == now:
        return []
    previous = facts.scan_with(_offered_of, was)
    for protocol in sorted(set(was) ^ set(now)):
        change_type = "protocol_offered" if protocol in now else "protocol_withdrawn"
        changes.append(ctx.change(
            SECURITY, change_type, protocol, previous=previous, before=protocol in was, after=protocol in now,
            impact=ctx.impacts.impact("security", change_type, [protocol]),
            evidence={"offered_before": list(was), "offered_after": list(now)},
        ))
    return changes

"""Security: headers judged by what they protect, grade steps, findings, certificate and TLS."""

from __future__ import annotations

import pytest
from tests.changes.builders import Replay, Site, certificate, make_config

from techscaniq.changes.security_headers import judge
from techscaniq.domain.security import SecurityFinding
from techscaniq.wording import describe_change


@pytest.mark.parametrize(("name", "before", "after", "verdict"), [
    ("strict-transport-security", "max-age=31536000; includeSubDomains", "max-age=300; includeSubDomains",
     "weakened"),
    ("strict-transport-security", "max-age=31536000; includeSubDomains", "max-age=31536000", "weakened"),
    ("strict-transport-security", "max-age=300", "max-age=63072000; preload", "strengthened"),
    ("content-security-policy", "script-src 'self'", "script-src 'self' 'unsafe-inline'", "weakened"),
    ("content-security-policy", "default-src 'self'; object-src 'none'", "default-src 'self'", "weakened"),
    ("content-security-policy", "default-src *", "default-src 'self'", "strengthened"),
    ("content-security-policy", "script-src 'self'", "script-src 'self' cdn.example.net", "changed"),
    ("content-security-policy", "script-src 'nonce-AAA'", "script-src  'nonce-BBB' ", None),
    ("x-frame-options", "DENY", "SAMEORIGIN", "weakened"),
    ("x-frame-options", "deny", "DENY", None),
    ("referrer-policy", "no-referrer", "unsafe-url", "weakened"),
    ("referrer-policy", "unsafe-url", "no-referrer, strict-origin-when-cross-origin", "strengthened"),
    ("permissions-policy", "camera=()", "camera=(self)", "changed"),
])
def test_header_verdicts(name: str, before: str, after: str, verdict: str | None) -> None:
    result = judge(name, before, after)
    assert (result.change_type if result else None) == verdict


def test_weakened_hsts_carries_before_and_after_in_evidence() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.headers["Strict-Transport-Security"] = "max-age=60"
    [change] = replay.step_changes(site)
    assert (change.change_type, change.subject, change.impact.value) == (
        "weakened", "strict-transport-security", "medium")
    assert change.evidence["max_age"] == {"before": 31536000, "after": 60}
    assert change.evidence["include_subdomains"] == {"before": True, "after": False}


def test_header_added_and_grade_drop_of_two_letters() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.headers["Permissions-Policy"] = "camera=()"
    site.grade, site.score = "C", 50
    assert replay.step(site) == {("security", "added", "permissions-policy", "low"),
                                 ("security", "degraded", "grade", "high")}
    site.grade, site.score = "A+", 105
    assert replay.step(site) == {("security", "improved", "grade", "low")}


def test_findings_added_changed_and_resolved_but_header_tests_left_to_headers() -> None:
    cookie = SecurityFinding(test="cookies", result="cookies-without-secure-flag", passed=False, modifier=-20)
    xfo = SecurityFinding(test="x-frame-options", result="x-frame-options-not-implemented", passed=False)
    site, replay = Site(), Replay()
    replay.step(site)
    site.findings = [cookie, xfo]
    assert replay.step(site) == {("security", "finding_added", "cookies", "medium")}
    site.findings = [cookie.model_copy(update={"result": "cookies-samesite-flag-invalid"}), xfo]
    assert replay.step(site) == {("security", "finding_changed", "cookies", "low")}
    site.findings = []
    # Back to a state seen a few scans ago: taken only once it holds for two scans (no flapping).
    assert replay.step(site) == set()
    assert replay.step(site) == {("security", "finding_resolved", "cookies", "low")}


def test_a_header_alternating_between_edge_servers_raises_one_change_not_one_per_scan() -> None:
    site, replay = Site(), Replay()
    for _ in range(3):
        replay.step(site)
    steps = []
    for index in range(8):
        if index % 2 == 0:
            site.headers.pop("Strict-Transport-Security")
        else:
            site.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        steps.append(replay.step(site))
    assert steps[0] == {("security", "removed", "strict-transport-security", "high")}
    assert all(step == set() for step in steps[1:])
    for _ in range(2):
        steps.append(replay.step(site))  # it settles with the header: present two scans in a row
    assert steps[-2:] == [{("security", "added", "strict-transport-security", "low")}, set()]


def _days(site: Site, left: float) -> None:
    """Keep the same certificate but make it expire `left` days after the next scan."""
    site.tls = certificate(days=left + site.scans / 24)


def test_certificate_expiry_is_reported_once_per_threshold() -> None:
    site, replay = Site(), Replay()
    steps = []
    for left in (45, 31, 29.5, 29, 20, 13.9, 13, 6.5, 6, 0.5, -0.1, -1):
        _days(site, left)
        steps.append(replay.step(site))
    reported = {i: step for i, step in enumerate(steps) if step}
    assert reported == {
        2: {("security", "expiring", "certificate", "low")},
        5: {("security", "expiring", "certificate", "medium")},
        7: {("security", "expiring", "certificate", "high")},
        10: {("security", "expired", "certificate", "critical")},
    }


def test_expiry_jumping_past_several_thresholds_is_one_change_at_the_tightest() -> None:
    site, replay = Site(), Replay()
    _days(site, 40)
    replay.step(site)
    _days(site, 5)
    [change] = replay.step_changes(site)
    assert (change.change_type, change.impact.value, change.evidence["threshold_days"]) == ("expiring", "high", 7)
    assert change.after == 5.0


def test_renewed_certificate_resets_expiry_warnings() -> None:
    site, replay = Site(), Replay()
    _days(site, 20)
    replay.step(site)
    site.tls = certificate(serial="renewed", days=90)
    assert replay.step(site) == {("security", "replaced", "certificate", "low")}
    site.tls = certificate(serial="renewed", days=29 + site.scans / 24)  # the new one nears expiry too
    assert replay.step(site) == {("security", "expiring", "certificate", "low")}


def test_untrusted_certificate_and_tls_downgrade() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.tls = site.tls.model_copy(update={"verified": False, "error": "self-signed certificate",
                                           "protocol": "TLSv1.2"})
    assert replay.step(site) == {("security", "untrusted", "certificate", "high"),
                                 ("security", "downgraded", "tls_protocol", "medium")}


def test_security_disabled_reports_nothing() -> None:
    site, replay = Site(), Replay(config=make_config(security=False))
    replay.step(site)
    site.headers.clear()
    site.grade = "F"
    assert replay.step(site) == set()


def test_two_certificates_behind_a_cdn_do_not_raise_a_change_per_scan() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    first, second = certificate(serial="edge-a"), certificate(serial="edge-b")
    steps = []
    for index in range(8):
        site.tls = first if index % 2 == 0 else second
        steps.append(replay.step(site))
    assert steps[0] == {("security", "replaced", "certificate", "low")}  # edge-a is new: reported once
    assert steps[1] == {("security", "replaced", "certificate", "low")}  # edge-b is new too
    assert all(step == set() for step in steps[2:])


def _vulnerable(library: str, advisory: str, severity: str = "high") -> SecurityFinding:
    return SecurityFinding(test="vulnerable-library", result="library-has-known-vulnerability", passed=False,
                           category="library", severity=severity, value=library,
                           description=f"{library}: XSS", data={"advisory_id": advisory})


def test_each_vulnerable_library_is_its_own_finding_with_its_severity() -> None:
    site, replay = Site(), Replay()
    replay.step(site)
    site.findings = [_vulnerable("jQuery 3.4.1", "CVE-2020-11022", "medium")]
    assert replay.step(site) == {("security", "finding_added", "vulnerable-library:jQuery", "medium")}
    site.findings.append(_vulnerable("Bootstrap 3.3.7", "CVE-2019-8331", "high"))
    assert replay.step(site) == {("security", "finding_added", "vulnerable-library:Bootstrap", "high")}
    site.findings[0] = _vulnerable("jQuery 3.5.0", "CVE-2020-23064", "medium")
    assert replay.step(site) == {("security", "finding_changed", "vulnerable-library:jQuery", "low")}


def test_a_failed_security_probe_is_not_a_site_change() -> None:
    redirect = SecurityFinding(test="redirection", result="redirection-missing", passed=False, modifier=-20)
    site, replay = Site(findings=[redirect]), Replay()
    replay.step(site)
    replay.step(site)
    probe_failed = site.scan()
    assert probe_failed.security is not None
    probe_failed.security.findings = []  # the redirection probe timed out: no finding, a better grade
    probe_failed.security.grade = "A+"
    probe_failed.analysis_errors["security.redirection"] = "ReadTimeout: timed out"
    assert replay.judge(probe_failed) == []
    assert replay.step(site) == set()


def test_a_grade_change_says_why_in_words() -> None:
    csp = "content-security-policy"
    implemented = SecurityFinding(test=csp, result="csp-implemented-with-no-unsafe", modifier=5,
                                  description="CSP implemented without 'unsafe-inline' or 'unsafe-eval'")
    missing = SecurityFinding(test=csp, result="csp-not-implemented", modifier=-25, passed=False,
                              description="CSP header not implemented")
    site, replay = Site(), Replay()
    site.grade, site.findings = "B", [implemented]
    replay.step(site)
    site.grade, site.score, site.findings = "C", 50, [missing]
    [grade] = [c for c in replay.step_changes(site) if c.subject == "grade"]
    assert grade.evidence["reasons"] == ["CSP header not implemented"]
    assert describe_change(grade.model_dump(mode="json")) == "Grade fell from B to C: CSP header not implemented"

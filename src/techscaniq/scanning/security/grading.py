"""The HTTP Observatory scoring rules (published algorithm, version 6): result codes, modifiers, grade chart.

The result codes and modifiers are those of the reference implementation's score table (mdn/mdn-http-observatory,
`ALGORITHM_VERSION = 6`, which added the COOP and COEP scores); `test_header_grading.py` pins every one of them.

Every site starts at 100. Each graded test contributes the modifier of its result. Bonuses (positive
modifiers) only count when the score from penalties alone is at least 90. The score never drops below
0 and has no maximum; the grade is looked up by rounding down to a multiple of 5 (100+ is A+).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from techscaniq.domain.security import GRADED_CATEGORY, SecurityFinding

BASELINE_SCORE = 100
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90


@dataclass(frozen=True)
class Rule:
    modifier: int
    passed: bool
    description: str


# result code -> (modifier, passes the test?, description). Codes follow the Observatory's names.
RULES: dict[str, Rule] = {
    # content-security-policy
    "csp-implemented-with-no-unsafe-default-src-none": Rule(
        10, True, "CSP implemented with default-src 'none' and no 'unsafe' sources"),
    "csp-implemented-with-no-unsafe": Rule(5, True, "CSP implemented without 'unsafe-inline' or 'unsafe-eval'"),
    "csp-implemented-with-unsafe-inline-in-style-src-only": Rule(
        0, True, "CSP implemented with unsafe sources ('unsafe-inline', data: or broad sources) in style-src only"),
    "csp-implemented-with-insecure-scheme-in-passive-content-only": Rule(
        -10, True, "CSP implemented, but a secure site allows images or media over HTTP"),
    "csp-implemented-but-duplicate-directives": Rule(0, True, "CSP implemented, but with duplicate directives"),
    "csp-implemented-with-unsafe-eval": Rule(-10, False, "CSP implemented, but allows 'unsafe-eval'"),
    "csp-implemented-with-unsafe-inline": Rule(
        -20, False, "CSP implemented unsafely: 'unsafe-inline' or data: in script-src, overly broad sources "
        "in script-src or object-src, or those not restricted"),
    "csp-implemented-with-insecure-scheme": Rule(
        -20, False, "CSP implemented, but a secure site allows resources to be loaded over HTTP"),
    "csp-header-invalid": Rule(-25, False, "CSP header cannot be parsed successfully"),
    "csp-not-implemented": Rule(-25, False, "CSP header not implemented"),
    "csp-not-implemented-but-reporting-enabled": Rule(
        -25, False, "Only Content-Security-Policy-Report-Only is set: nothing is enforced"),
    # cookies
    "cookies-secure-with-httponly-sessions-and-samesite": Rule(
        5, True, "All cookies use Secure, session cookies use HttpOnly, and SameSite is set"),
    "cookies-secure-with-httponly-sessions": Rule(
        0, True, "All cookies use Secure and session cookies use HttpOnly"),
    "cookies-not-found": Rule(0, True, "No cookies detected"),
    "cookies-without-secure-flag-but-protected-by-hsts": Rule(
        -5, False, "Cookies set without Secure, but HSTS prevents transmission over HTTP"),
    "cookies-session-without-secure-flag-but-protected-by-hsts": Rule(
        -10, False, "Session cookie set without Secure, but HSTS prevents transmission over HTTP"),
    "cookies-without-secure-flag": Rule(-20, False, "Cookies set without Secure or set over HTTP"),
    "cookies-samesite-flag-invalid": Rule(
        -20, False, "Cookies use SameSite, but with an invalid value (or None without Secure)"),
    "cookies-anticsrf-without-samesite-flag": Rule(-20, False, "Anti-CSRF token set without SameSite"),
    "cookies-session-without-httponly-flag": Rule(-30, False, "Session cookie set without HttpOnly"),
    "cookies-session-without-secure-flag": Rule(-40, False, "Session cookie set without Secure or set over HTTP"),
    # cross-origin-resource-sharing
    "cross-origin-resource-sharing-not-implemented": Rule(
        0, True, "Content is not visible via cross-origin resource sharing"),
    "cross-origin-resource-sharing-implemented-with-public-access": Rule(
        0, True, "Public content is visible via Access-Control-Allow-Origin: *"),
    "cross-origin-resource-sharing-implemented-with-restricted-access": Rule(
        0, True, "Content is visible via CORS, restricted to specific origins"),
    "cross-origin-resource-sharing-implemented-with-universal-access": Rule(
        -50, False, "Any origin is reflected with credentials allowed: the site may be open to CSRF"),
    # redirection
    "redirection-all-redirects-preloaded": Rule(0, True, "All hosts redirected to are HSTS preloaded"),
    "redirection-to-https": Rule(
        0, True, "Initial redirection is to HTTPS on the same host, final destination is HTTPS"),
    "redirection-not-needed-no-http": Rule(0, True, "Not reachable over HTTP, so no redirection is needed"),
    "redirection-off-host-from-http": Rule(
        -5, False, "Initial redirection from HTTP to HTTPS is to a different host, preventing HSTS"),
    "redirection-not-to-https-on-initial-redirection": Rule(
        -10, False, "Redirects to HTTPS eventually, but the initial redirection is to another HTTP URL"),
    "redirection-not-to-https": Rule(-20, False, "Redirects, but the final destination is not HTTPS"),
    "redirection-missing": Rule(-20, False, "Does not redirect to an HTTPS site"),
    "redirection-invalid-cert": Rule(-20, False, "Invalid certificate chain encountered during redirection"),
    # referrer-policy
    "referrer-policy-private": Rule(
        5, True, "Referrer-Policy set to no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin"),
    "referrer-policy-not-implemented": Rule(0, True, "Referrer-Policy not implemented"),
    "referrer-policy-unsafe": Rule(
        -5, False, "Referrer-Policy set unsafely to origin, origin-when-cross-origin, unsafe-url or "
        "no-referrer-when-downgrade"),
    "referrer-policy-header-invalid": Rule(-5, False, "Referrer-Policy cannot be recognized"),
    # strict-transport-security
    "hsts-preloaded": Rule(5, True, "Preloaded via the HSTS preloading process"),
    "hsts-implemented-max-age-at-least-six-months": Rule(0, True, "HSTS set with max-age of at least six months"),
    "hsts-implemented-max-age-less-than-six-months": Rule(-10, False, "HSTS set with max-age below six months"),
    "hsts-not-implemented": Rule(-20, False, "Strict-Transport-Security not implemented"),
    "hsts-header-invalid": Rule(-20, False, "Strict-Transport-Security cannot be recognized"),
    "hsts-not-implemented-no-https": Rule(-20, False, "HSTS cannot be set for sites not available over HTTPS"),
    "hsts-invalid-cert": Rule(-20, False, "HSTS cannot take effect: the certificate chain is invalid"),
    # subresource-integrity
    "sri-implemented-and-all-scripts-loaded-securely": Rule(
        5, True, "SRI implemented and all scripts are loaded from a similar origin"),
    "sri-implemented-and-external-scripts-loaded-securely": Rule(
        5, True, "SRI implemented and all external scripts are loaded securely"),
    "sri-not-implemented-response-not-html": Rule(0, True, "SRI is only needed for HTML resources"),
    "sri-not-implemented-but-no-scripts-loaded": Rule(0, True, "SRI not needed: the page loads no scripts"),
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": Rule(
        0, True, "SRI not implemented, but all scripts are loaded from a similar origin"),
    "sri-not-implemented-but-external-scripts-loaded-securely": Rule(
        -5, False, "SRI not implemented, but all external scripts are loaded over HTTPS"),
    "sri-implemented-but-external-scripts-not-loaded-securely": Rule(
        -20, False, "SRI implemented, but external scripts are loaded over HTTP or protocol-relative URLs"),
    "sri-not-implemented-and-external-scripts-not-loaded-securely": Rule(
        -50, False, "SRI not implemented, and external scripts are loaded over HTTP or protocol-relative URLs"),
    # x-content-type-options
    "x-content-type-options-nosniff": Rule(0, True, "X-Content-Type-Options set to nosniff"),
    "x-content-type-options-not-implemented": Rule(-5, False, "X-Content-Type-Options not implemented"),
    "x-content-type-options-header-invalid": Rule(-5, False, "X-Content-Type-Options cannot be recognized"),
    # x-frame-options
    "x-frame-options-implemented-via-csp": Rule(5, True, "Framing restricted via the CSP frame-ancestors directive"),
    "x-frame-options-sameorigin-or-deny": Rule(5, True, "X-Frame-Options set to SAMEORIGIN or DENY"),
    "x-frame-options-allow-from-origin": Rule(0, True, "X-Frame-Options uses the ALLOW-FROM directive"),
    "x-frame-options-not-implemented": Rule(-20, False, "X-Frame-Options not implemented"),
    "x-frame-options-header-invalid": Rule(-20, False, "X-Frame-Options cannot be recognized"),
    # cross-origin-resource-policy
    "corp-not-implemented": Rule(0, True, "Cross-Origin-Resource-Policy not implemented (defaults to cross-origin)"),
    "corp-implemented-with-same-origin": Rule(10, True, "CORP same-origin prevents leaks into cross-origin contexts"),
    "corp-implemented-with-same-site": Rule(10, True, "CORP same-site prevents leaks into cross-site contexts"),
    "corp-implemented-with-cross-origin": Rule(0, True, "CORP implemented, but allows cross-origin use"),
    "corp-header-invalid": Rule(-5, False, "Cross-Origin-Resource-Policy cannot be recognized"),
    # cross-origin-opener-policy
    "coop-not-implemented": Rule(0, True, "Cross-Origin-Opener-Policy not implemented (defaults to unsafe-none)"),
    "coop-implemented-with-same-origin": Rule(10, True, "COOP same-origin isolates the page from its opener"),
    "coop-implemented-with-same-origin-allow-popups": Rule(
        10, True, "COOP same-origin-allow-popups isolates the page but lets it open trusted popups"),
    "coop-implemented-with-noopener-allow-popups": Rule(
        10, True, "COOP noopener-allow-popups isolates the page from its opener, even a same-origin one"),
    "coop-implemented-with-unsafe-none": Rule(0, True, "COOP explicitly set to unsafe-none (the default)"),
    "coop-header-invalid": Rule(-5, False, "Cross-Origin-Opener-Policy cannot be recognized"),
    # cross-origin-embedder-policy
    "coep-not-implemented": Rule(0, True, "Cross-Origin-Embedder-Policy not implemented"),
    "coep-implemented-with-require-corp": Rule(10, True, "COEP require-corp restricts loading cross-origin resources"),
    "coep-implemented-with-credentialless": Rule(
        10, True, "COEP credentialless loads cross-origin resources without credentials"),
    "coep-implemented-with-unsafe-none": Rule(0, True, "COEP explicitly set to unsafe-none (the default)"),
    "coep-header-invalid": Rule(-5, False, "Cross-Origin-Embedder-Policy cannot be recognized"),
}

# Every graded test, in report order.
GRADED_TESTS = (
    "content-security-policy",
    "cookies",
    "cross-origin-resource-sharing",
    "redirection",
    "referrer-policy",
    "strict-transport-security",
    "subresource-integrity",
    "x-content-type-options",
    "x-frame-options",
    "cross-origin-resource-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
)

# (lowest score, grade), best first.
GRADE_CHART: tuple[tuple[int, str], ...] = (
    (100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"), (50, "C"),
    (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (0, "F"),
)


def finding(test: str, result: str, value: str | None = None, **data: object) -> SecurityFinding:
    """A graded finding whose modifier, pass/fail and description come from the rule table."""
    rule = RULES[result]
    return SecurityFinding(
        test=test, result=result, modifier=rule.modifier, passed=rule.passed, description=rule.description,
        value=value, data=dict(data),
    )


def grade_for(score: int) -> str:
    for lowest, grade in GRADE_CHART:
        if score >= lowest:
            return grade
    return "F"


def score_findings(findings: Iterable[SecurityFinding]) -> int:
    """Observatory score: penalties always, bonuses only when the penalty-only score is at least 90."""
    graded = [item for item in findings if item.category == GRADED_CATEGORY]
    with_bonuses = BASELINE_SCORE + sum(item.modifier for item in graded)
    penalties_only = BASELINE_SCORE + sum(item.modifier for item in graded if item.modifier < 0)
    score = with_bonuses if penalties_only >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else penalties_only
    return max(score, 0)

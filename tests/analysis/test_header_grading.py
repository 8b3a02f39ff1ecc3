"""Every Observatory grading rule, driven by a header set (and page HTML) that triggers it.

Grading is a pure function of the response, so these cases feed FetchResults directly; the end-to-end
tests in test_security_analyzer.py send the same kind of headers from a real local site."""

from __future__ import annotations

import itertools

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from techscaniq.domain.fetch import FetchError, FetchErrorCode, FetchResult, RedirectHop, TLSInfo
from techscaniq.scanning.security.grading import RULES, grade_for, score_findings
from techscaniq.scanning.security.observatory import CORS_PROBE_ORIGIN, grade_headers

HSTS = ("Strict-Transport-Security", "max-age=31536000")
# `.dev` is preloaded as a whole top-level domain (includeSubDomains), so its hosts are on the HSTS preload list.
PRELOADED = "https://shop.example.dev/"


def page(headers: list[tuple[str, str]] = (), html: str = "", url: str = "https://example.com/", *,
         verified: bool = True, content_type: str = "text/html; charset=utf-8") -> FetchResult:
    tls = TLSInfo(protocol="TLSv1.3", verified=verified) if url.startswith("https") else None
    return FetchResult(url=url, final_url=url, status_code=200, headers=list(headers), body=html.encode(),
                       content_type=content_type, tls=tls)


def redirected(*urls: str, error: FetchErrorCode | None = None) -> FetchResult:
    hops = [RedirectHop(url=a, status_code=301, location=b) for a, b in itertools.pairwise(urls)]
    return FetchResult(url=urls[0], final_url=urls[-1], status_code=200, redirects=hops,
                       error=FetchError(code=error, message="x") if error else None)


def run(fetch: FetchResult, *, http: FetchResult | None = None, cors: FetchResult | None = None) -> dict[str, str]:
    document = HTMLParser(fetch.text) if "html" in (fetch.content_type or "") else None
    graded = grade_headers(fetch, document=document, http_fetch=http, cors_fetch=cors)
    return {item.test: item.result for item in graded.findings}


def csp(value: str) -> FetchResult:
    return page([("Content-Security-Policy", value)])


def cookie(*values: str, hsts: bool = False) -> FetchResult:
    return page([("Set-Cookie", value) for value in values] + ([HSTS] if hsts else []))


def scripts(*tags: str) -> FetchResult:
    return page(html="<html><head>" + "".join(tags) + "</head><body></body></html>")


CASES: list[tuple[str, str, FetchResult, dict[str, FetchResult | None]]] = [
    # (test, expected result, page, extra fetches)
    ("content-security-policy", "csp-implemented-with-no-unsafe-default-src-none",
     csp("default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'"), {}),
    ("content-security-policy", "csp-implemented-with-no-unsafe", csp("default-src 'self'"), {}),
    ("content-security-policy", "csp-implemented-with-unsafe-inline-in-style-src-only",
     csp("default-src 'self'; style-src 'self' 'unsafe-inline'"), {}),
    ("content-security-policy", "csp-implemented-with-insecure-scheme-in-passive-content-only",
     csp("default-src 'self'; img-src http://images.example.com"), {}),
    ("content-security-policy", "csp-implemented-but-duplicate-directives",
     csp("default-src 'self'; report-uri /a; report-uri /b"), {}),
    ("content-security-policy", "csp-implemented-with-unsafe-eval",
     csp("default-src 'self'; script-src 'self' 'unsafe-eval'"), {}),
    ("content-security-policy", "csp-implemented-with-unsafe-inline",
     csp("default-src 'self'; script-src 'self' 'unsafe-inline'"), {}),
    ("content-security-policy", "csp-implemented-with-insecure-scheme",
     csp("default-src 'self'; connect-src http://api.example.com"), {}),
    ("content-security-policy", "csp-header-invalid", csp("default-src 'self'; default-src 'none'"), {}),
    ("content-security-policy", "csp-not-implemented", page(), {}),
    ("content-security-policy", "csp-not-implemented-but-reporting-enabled",
     page([("Content-Security-Policy-Report-Only", "default-src 'self'")]), {}),
    ("cookies", "cookies-not-found", page(), {}),
    ("cookies", "cookies-secure-with-httponly-sessions-and-samesite",
     cookie("sessionid=1; Secure; HttpOnly; SameSite=Lax"), {}),
    ("cookies", "cookies-secure-with-httponly-sessions", cookie("sessionid=1; Secure; HttpOnly"), {}),
    ("cookies", "cookies-without-secure-flag-but-protected-by-hsts", cookie("theme=dark; SameSite=Lax", hsts=True), {}),
    ("cookies", "cookies-session-without-secure-flag-but-protected-by-hsts",
     cookie("sessionid=1; HttpOnly; SameSite=Lax", hsts=True), {}),
    ("cookies", "cookies-without-secure-flag", cookie("theme=dark"), {}),
    ("cookies", "cookies-samesite-flag-invalid", cookie("theme=dark; Secure; SameSite=Bogus"), {}),
    ("cookies", "cookies-anticsrf-without-samesite-flag", cookie("csrftoken=x; Secure"), {}),
    ("cookies", "cookies-session-without-httponly-flag", cookie("sessionid=1; Secure; SameSite=Lax"), {}),
    ("cookies", "cookies-session-without-secure-flag", cookie("sessionid=1; HttpOnly"), {}),
    ("cross-origin-resource-sharing", "cross-origin-resource-sharing-not-implemented", page(), {}),
    ("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-public-access",
     page([("Access-Control-Allow-Origin", "*")]), {}),
    ("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-restricted-access",
     page([("Access-Control-Allow-Origin", "https://partner.example")]), {}),
    ("cross-origin-resource-sharing", "cross-origin-resource-sharing-implemented-with-universal-access", page(),
     {"cors": page([("Access-Control-Allow-Origin", CORS_PROBE_ORIGIN),
                    ("Access-Control-Allow-Credentials", "true")])}),
    ("redirection", "redirection-to-https", page(),
     {"http": redirected("http://example.com/", "https://example.com/")}),
    ("redirection", "redirection-not-needed-no-http", page(), {"http": None}),
    ("redirection", "redirection-off-host-from-http", page(),
     {"http": redirected("http://example.com/", "https://www.example.com/")}),
    ("redirection", "redirection-not-to-https-on-initial-redirection", page(),
     {"http": redirected("http://example.com/", "http://www.example.com/", "https://www.example.com/")}),
    ("redirection", "redirection-not-to-https", page(),
     {"http": redirected("http://example.com/", "http://www.example.com/")}),
    ("redirection", "redirection-missing", page(), {"http": redirected("http://example.com/")}),
    # A browser never requests a preloaded host over plain HTTP, so a missing redirect does not matter there.
    ("redirection", "redirection-all-redirects-preloaded", page(url=PRELOADED),
     {"http": redirected("http://shop.example.dev/")}),
    ("redirection", "redirection-invalid-cert", page(),
     {"http": redirected("http://example.com/", "https://example.com/", error=FetchErrorCode.TLS)}),
    ("referrer-policy", "referrer-policy-private", page([("Referrer-Policy", "strict-origin-when-cross-origin")]), {}),
    ("referrer-policy", "referrer-policy-not-implemented", page(), {}),
    ("referrer-policy", "referrer-policy-unsafe", page([("Referrer-Policy", "unsafe-url")]), {}),
    ("referrer-policy", "referrer-policy-header-invalid", page([("Referrer-Policy", "bogus")]), {}),
    ("strict-transport-security", "hsts-implemented-max-age-at-least-six-months",
     page([("Strict-Transport-Security", "max-age=15552000; includeSubDomains; preload")]), {}),
    ("strict-transport-security", "hsts-implemented-max-age-less-than-six-months",
     page([("Strict-Transport-Security", "max-age=86400")]), {}),
    ("strict-transport-security", "hsts-not-implemented", page(), {}),
    ("strict-transport-security", "hsts-preloaded", page(url=PRELOADED), {}),  # no header needed
    ("strict-transport-security", "hsts-header-invalid", page([("Strict-Transport-Security", "includeSubDomains")]),
     {}),
    ("strict-transport-security", "hsts-not-implemented-no-https", page(url="http://example.com/"), {}),
    ("strict-transport-security", "hsts-invalid-cert", page([HSTS], verified=False), {}),
    ("subresource-integrity", "sri-implemented-and-all-scripts-loaded-securely",
     scripts('<script src="/app.js" integrity="sha384-abc"></script>'), {}),
    ("subresource-integrity", "sri-implemented-and-external-scripts-loaded-securely",
     scripts('<script src="https://cdn.other.net/lib.js" integrity="sha384-abc" crossorigin="anonymous"></script>'),
     {}),
    ("subresource-integrity", "sri-not-implemented-response-not-html",
     page(html="{}", content_type="application/json"), {}),
    ("subresource-integrity", "sri-not-implemented-but-no-scripts-loaded", scripts(), {}),
    ("subresource-integrity", "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
     scripts('<script src="/app.js"></script>', '<script src="https://static.example.com/a.js"></script>'), {}),
    ("subresource-integrity", "sri-not-implemented-but-external-scripts-loaded-securely",
     scripts('<script src="https://cdn.other.net/lib.js"></script>'), {}),
    ("subresource-integrity", "sri-implemented-but-external-scripts-not-loaded-securely",
     scripts('<script src="http://cdn.other.net/lib.js" integrity="sha384-abc"></script>'), {}),
    ("subresource-integrity", "sri-not-implemented-and-external-scripts-not-loaded-securely",
     scripts('<script src="//cdn.other.net/lib.js"></script>'), {}),
    ("x-content-type-options", "x-content-type-options-nosniff", page([("X-Content-Type-Options", "nosniff")]), {}),
    ("x-content-type-options", "x-content-type-options-not-implemented", page(), {}),
    ("x-content-type-options", "x-content-type-options-header-invalid", page([("X-Content-Type-Options", "sniff")]),
     {}),
    ("x-frame-options", "x-frame-options-implemented-via-csp",
     csp("default-src 'self'; frame-ancestors 'none'"), {}),
    ("x-frame-options", "x-frame-options-sameorigin-or-deny", page([("X-Frame-Options", "DENY")]), {}),
    ("x-frame-options", "x-frame-options-allow-from-origin",
     page([("X-Frame-Options", "ALLOW-FROM https://example.net")]), {}),
    ("x-frame-options", "x-frame-options-not-implemented", page(), {}),
    ("x-frame-options", "x-frame-options-header-invalid", page([("X-Frame-Options", "allowall")]), {}),
    ("cross-origin-resource-policy", "corp-not-implemented", page(), {}),
    ("cross-origin-resource-policy", "corp-implemented-with-same-origin",
     page([("Cross-Origin-Resource-Policy", "same-origin")]), {}),
    ("cross-origin-resource-policy", "corp-implemented-with-same-site",
     page([("Cross-Origin-Resource-Policy", "same-site")]), {}),
    ("cross-origin-resource-policy", "corp-implemented-with-cross-origin",
     page([("Cross-Origin-Resource-Policy", "cross-origin")]), {}),
    ("cross-origin-resource-policy", "corp-header-invalid",
     page([("Cross-Origin-Resource-Policy", "bogus")]), {}),
    ("cross-origin-opener-policy", "coop-not-implemented", page(), {}),
    ("cross-origin-opener-policy", "coop-implemented-with-same-origin",
     page([("Cross-Origin-Opener-Policy", 'same-origin; report-to="coop"')]), {}),
    ("cross-origin-opener-policy", "coop-implemented-with-same-origin-allow-popups",
     page([("Cross-Origin-Opener-Policy", "same-origin-allow-popups")]), {}),
    ("cross-origin-opener-policy", "coop-implemented-with-noopener-allow-popups",
     page([("Cross-Origin-Opener-Policy", "noopener-allow-popups")]), {}),
    ("cross-origin-opener-policy", "coop-implemented-with-unsafe-none",
     page([("Cross-Origin-Opener-Policy", "unsafe-none")]), {}),
    ("cross-origin-opener-policy", "coop-header-invalid", page([("Cross-Origin-Opener-Policy", "bogus")]), {}),
    ("cross-origin-embedder-policy", "coep-not-implemented", page(), {}),
    ("cross-origin-embedder-policy", "coep-implemented-with-require-corp",
     page([("Cross-Origin-Embedder-Policy", "require-corp")]), {}),
    ("cross-origin-embedder-policy", "coep-implemented-with-credentialless",
     page([("Cross-Origin-Embedder-Policy", "credentialless")]), {}),
    ("cross-origin-embedder-policy", "coep-implemented-with-unsafe-none",
     page([("Cross-Origin-Embedder-Policy", "unsafe-none")]), {}),
    ("cross-origin-embedder-policy", "coep-header-invalid", page([("Cross-Origin-Embedder-Policy", "bogus")]), {}),
]


@pytest.mark.parametrize(("test", "expected", "fetch", "extra"), CASES, ids=[case[1] for case in CASES])
def test_rule(test: str, expected: str, fetch: FetchResult, extra: dict[str, FetchResult | None]) -> None:
    assert run(fetch, http=extra.get("http"), cors=extra.get("cors"))[test] == expected


def test_every_rule_has_a_case() -> None:
    covered = {case[1] for case in CASES}
    assert covered == set(RULES)


@pytest.mark.parametrize(("score", "grade"), [
    (140, "A+"), (100, "A+"), (99, "A"), (90, "A"), (89, "A-"), (85, "A-"), (84, "B+"), (80, "B+"), (79, "B"),
    (70, "B"), (69, "B-"), (65, "B-"), (64, "C+"), (60, "C+"), (59, "C"), (50, "C"), (49, "C-"), (45, "C-"),
    (44, "D+"), (40, "D+"), (39, "D"), (30, "D"), (29, "D-"), (25, "D-"), (24, "F"), (0, "F"),
])
def test_grade_chart(score: int, grade: str) -> None:
    assert grade_for(score) == grade


# A hardened response: HSTS that meets the preload list's rules, a strict CSP (with frame-ancestors), XFO,
# COOP, COEP, CORP, an SRI-protected script and a secure session cookie.
HARDENED = [
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ("Set-Cookie", "sessionid=1; Path=/; Secure; HttpOnly; SameSite=Strict"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    ("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Resource-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
]


def _graded(fetch: FetchResult, http: FetchResult | None = None) -> tuple[int, str]:
    document = HTMLParser(fetch.text)
    graded = grade_headers(fetch, document=document, http_fetch=http)
    return graded.score, graded.grade


@pytest.mark.parametrize(("url", "expected"), [
    # Version 6's table, by hand: 100 + csp-implemented-with-no-unsafe-default-src-none 10
    # + cookies-secure-with-httponly-sessions-and-samesite 5 + referrer-policy-private 5
    # + x-frame-options-implemented-via-csp 5 (frame-ancestors supersedes the DENY, also +5)
    # + sri-implemented-and-all-scripts-loaded-securely 5 + corp-implemented-with-same-origin 10
    # + coop-implemented-with-same-origin 10 + coep-implemented-with-require-corp 10
    # + hsts-implemented-max-age-at-least-six-months 0, redirection-to-https 0, nosniff 0, CORS 0 = 160.
    ("https://example.com/", 160),
    # The same response from a host on the HSTS preload list: hsts-preloaded +5 = 165.
    ("https://shop.example.dev/", 165),
])
def test_hardened_response_scores_what_version_6_gives_it(url: str, expected: int) -> None:
    fetch = page(HARDENED, '<script src="/app.js" integrity="sha384-abc"></script>', url=url)
    host = url.split("/")[2]
    assert _graded(fetch, redirected(f"http://{host}/", url)) == (expected, "A+")


def test_x_frame_options_deny_earns_its_bonus_without_frame_ancestors() -> None:
    headers = [HSTS, ("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", "default-src 'self'")]
    # Without XFO: x-frame-options-not-implemented -20 leaves 80 < 90, so the CSP's +5 does not count.
    assert _graded(page(headers)) == (80, "B+")
    # With it: no penalty, so csp-implemented-with-no-unsafe +5 and x-frame-options-sameorigin-or-deny +5 count
    # (version 5's table gave XFO 0, which made this 105).
    assert _graded(page([*headers, ("X-Frame-Options", "SAMEORIGIN")])) == (110, "A+")


def test_bare_https_site_gets_a_d() -> None:
    # csp -25, hsts -20, x-content-type-options -5, x-frame-options -20
    assert _graded(page()) == (30, "D")


def test_bonuses_count_when_penalties_alone_leave_ninety_or_more() -> None:
    fetch = page([("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"), HSTS])
    # penalties: x-content-type-options -5 -> 95 >= 90, so csp +10 and xfo-via-csp +5 count
    assert _graded(fetch) == (110, "A+")


def test_bonuses_ignored_below_ninety() -> None:
    fetch = page([("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"), ("X-Content-Type-Options",
                                                                                     "nosniff"), HSTS])
    # penalty csp -25 -> 75 < 90: the referrer and XFO DENY bonuses are not added (they would make 85, an A-)
    assert _graded(fetch) == (75, "B")


def test_score_never_below_zero() -> None:
    fetch = cookie("sessionid=1", "csrf=1; SameSite=Bogus")
    fetch = fetch.model_copy(update={"url": "http://example.com/", "final_url": "http://example.com/", "tls": None})
    score, grade = _graded(fetch, redirected("http://example.com/"))
    assert (score, grade) == (0, "F")
    assert score_findings([]) == 100


def test_findings_keep_raw_value_modifier_and_description() -> None:
    findings = grade_headers(page([("Strict-Transport-Security", "max-age=86400")]), document=None,
                             http_fetch=None).findings
    hsts = next(item for item in findings if item.test == "strict-transport-security")
    assert (hsts.value, hsts.modifier, hsts.passed) == ("max-age=86400", -10, False)
    assert "six months" in hsts.description
    assert hsts.data["max_age"] == 86400


def test_preload_only_covers_hosts_whose_whole_route_is_preloaded() -> None:
    # One hop through a host that is not preloaded: a browser would make that plain-HTTP request.
    mixed = redirected("http://shop.example.dev/", "http://example.com/", "https://shop.example.dev/")
    assert run(page(url=PRELOADED), http=mixed)["redirection"] == "redirection-not-to-https-on-initial-redirection"
    # The preload list does not excuse an invalid certificate: browsers refuse it all the more.
    assert run(page([HSTS], url=PRELOADED, verified=False))["strict-transport-security"] == "hsts-invalid-cert"

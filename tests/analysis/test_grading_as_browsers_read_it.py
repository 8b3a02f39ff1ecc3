"""What the grade reads is what a browser honours: values browsers ignore are invalid, <meta> only where it
counts, several CSP policies enforced together, cookies only when a browser's jar stores them, sites by the
Public Suffix List, and the places where we follow a standard over the reference implementation (each one
listed in docs/security-grading.md)."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from techscaniq.domain.fetch import FetchResult, TLSInfo
from techscaniq.domain.security import SecurityFinding
from techscaniq.scanning.security.grading import RULES
from techscaniq.scanning.security.observatory import grade_headers
from techscaniq.scanning.security.sites import registrable_domain

# The reference's score table (mdn/mdn-http-observatory, src/grader/charts.js, ALGORITHM_VERSION = 6),
# result code -> modifier, written out by hand from that table.
VERSION_6 = {
    "csp-implemented-with-no-unsafe-default-src-none": 10, "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10, "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20, "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25, "csp-not-implemented": -25, "csp-not-implemented-but-reporting-enabled": -25,
    "csp-implemented-but-duplicate-directives": 0,
    "cookies-secure-with-httponly-sessions-and-samesite": 5, "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0, "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10, "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20, "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30, "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "redirection-all-redirects-preloaded": 0, "redirection-to-https": 0, "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5, "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20, "redirection-missing": -20, "redirection-invalid-cert": -20,
    "referrer-policy-private": 5, "referrer-policy-not-implemented": 0, "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "hsts-preloaded": 5, "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10, "hsts-not-implemented": -20, "hsts-header-invalid": -20,
    "hsts-not-implemented-no-https": -20, "hsts-invalid-cert": -20,
    "sri-implemented-and-all-scripts-loaded-securely": 5, "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0, "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0, "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5, "x-frame-options-sameorigin-or-deny": 5,
    "x-frame-options-allow-from-origin": 0, "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    "corp-not-implemented": 0, "corp-implemented-with-same-origin": 10, "corp-implemented-with-same-site": 10,
    "corp-implemented-with-cross-origin": 0, "corp-header-invalid": -5,
    "coop-not-implemented": 0, "coop-implemented-with-same-origin": 10,
    "coop-implemented-with-same-origin-allow-popups": 10, "coop-implemented-with-noopener-allow-popups": 10,
    "coop-implemented-with-unsafe-none": 0, "coop-header-invalid": -5,
    "coep-not-implemented": 0, "coep-implemented-with-require-corp": 10, "coep-implemented-with-credentialless": 10,
    "coep-implemented-with-unsafe-none": 0, "coep-header-invalid": -5,
}


def page(headers: list[tuple[str, str]] = (), html: str = "", url: str = "https://www.example.com/", *,
         content_type: str | None = "text/html; charset=utf-8") -> FetchResult:
    return FetchResult(url=url, final_url=url, status_code=200, headers=list(headers), body=html.encode(),
                       content_type=content_type, tls=TLSInfo(protocol="TLSv1.3", verified=True))


def graded(fetch: FetchResult, *, site_host: str | None = None) -> dict[str, SecurityFinding]:
    # The document is parsed whatever the type, as the scan's shared parser does for text/plain and XML too.
    findings = grade_headers(fetch, document=HTMLParser(fetch.text), http_fetch=None, site_host=site_host).findings
    return {finding.test: finding for finding in findings}


def result(fetch: FetchResult, test: str, **kwargs: str) -> str:
    return graded(fetch, **kwargs)[test].result


def test_every_modifier_is_version_6s() -> None:
    assert {code: rule.modifier for code, rule in RULES.items()} == VERSION_6


# --- values browsers ignore -------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "value", "expected"), [
    ("Cross-Origin-Opener-Policy", '"same-origin"', "coop-header-invalid"),  # a string, not a token
    ("Cross-Origin-Opener-Policy", "Same-Origin", "coop-header-invalid"),  # a token naming no policy
    ("Cross-Origin-Opener-Policy", "same-origin same-origin", "coop-header-invalid"),  # not one item
    ("Cross-Origin-Opener-Policy", 'same-origin-allow-popups; report-to="r"', "coop-implemented-with-"
                                                                               "same-origin-allow-popups"),
    ("Cross-Origin-Embedder-Policy", '"require-corp"', "coep-header-invalid"),
    ("Cross-Origin-Embedder-Policy", "REQUIRE-CORP", "coep-header-invalid"),
    ("Cross-Origin-Embedder-Policy", "credentialless;report-to=\"r\"", "coep-implemented-with-credentialless"),
])
def test_coop_and_coep_values_browsers_ignore_are_invalid(header: str, value: str, expected: str) -> None:
    finding = graded(page([(header, value)]))[header.lower()]
    assert finding.result == expected
    assert finding.modifier == (-5 if expected.endswith("invalid") else 10)


def test_coop_sent_twice_is_invalid() -> None:
    twice = page([("Cross-Origin-Opener-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin")])
    assert result(twice, "cross-origin-opener-policy") == "coop-header-invalid"


def test_corp_sent_twice_is_invalid_and_an_empty_one_is_not_implemented() -> None:
    different = page([("Cross-Origin-Resource-Policy", "same-origin"), ("Cross-Origin-Resource-Policy", "same-site")])
    assert result(different, "cross-origin-resource-policy") == "corp-header-invalid"
    # The reference joins repeated headers too, so even two equal values are one value matching no policy.
    same = page([("Cross-Origin-Resource-Policy", "same-site"), ("Cross-Origin-Resource-Policy", "same-site")])
    assert result(same, "cross-origin-resource-policy") == "corp-header-invalid"
    assert result(page([("Cross-Origin-Resource-Policy", " ")]), "cross-origin-resource-policy") == \
        "corp-not-implemented"


# --- <meta http-equiv> only where browsers honour it ---------------------------------------------------------

def test_meta_csp_counts_and_an_empty_one_is_ignored() -> None:
    meta = page(html="<html><head><meta http-equiv=Content-Security-Policy content=\"default-src 'self'\">"
                     "</head></html>")
    assert result(meta, "content-security-policy") == "csp-implemented-with-no-unsafe"
    empty = page(html='<html><head><meta http-equiv="Content-Security-Policy" content=" "></head></html>')
    assert result(empty, "content-security-policy") == "csp-not-implemented"  # not csp-header-invalid


def test_corp_and_referrer_policy_as_http_equiv_are_never_read() -> None:
    html = ('<html><head><meta http-equiv="Cross-Origin-Resource-Policy" content="same-origin">'
            '<meta http-equiv="Referrer-Policy" content="no-referrer"></head></html>')
    found = graded(page(html=html))
    assert found["cross-origin-resource-policy"].result == "corp-not-implemented"
    assert found["referrer-policy"].result == "referrer-policy-not-implemented"
    # <meta name="referrer"> is how a page sets its policy, and the last one wins over the header.
    named = page([("Referrer-Policy", "unsafe-url")],
                 html='<meta name="referrer" content="origin"><meta name="referrer" content="no-referrer">')
    assert result(named, "referrer-policy") == "referrer-policy-private"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/xml; charset=utf-8"])
def test_only_html_documents_are_read_for_meta_and_sri(content_type: str) -> None:
    body = ("<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
            '<script src="http://cdn.other.net/a.js"></script></head></html>')
    found = graded(page(html=body, content_type=content_type))
    assert found["content-security-policy"].result == "csp-not-implemented"
    assert found["subresource-integrity"].result == "sri-not-implemented-response-not-html"
    html = graded(page(html=body, content_type="application/xhtml+xml"))
    assert html["content-security-policy"].result == "csp-implemented-with-no-unsafe-default-src-none"
    assert html["subresource-integrity"].result == "sri-not-implemented-and-external-scripts-not-loaded-securely"


# --- several CSP policies enforced together -----------------------------------------------------------------

def test_each_policys_default_src_applies_within_that_policy() -> None:
    # Policy 1 allows no script at all (default-src 'none'); policy 2's 'unsafe-inline' cannot undo that,
    # because a script must pass both. The reference merges directives first and sees only policy 2's
    # script-src (csp-implemented-with-unsafe-inline).
    two_headers = page([("Content-Security-Policy", "default-src 'none'"),
                        ("Content-Security-Policy", "script-src 'self' 'unsafe-inline'")])
    finding = graded(two_headers)["content-security-policy"]
    assert finding.result == "csp-implemented-with-no-unsafe-default-src-none"
    assert finding.data["policy"]["script-src"] == ["'none'"]
    header_and_meta = page([("Content-Security-Policy", "default-src 'self'")],
                           html="<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'unsafe-inline'\">")
    assert result(header_and_meta, "content-security-policy") == "csp-implemented-with-no-unsafe"
    # And the other way round: a directive one policy leaves open is still limited by the other.
    open_one = page([("Content-Security-Policy", "img-src 'self', script-src 'unsafe-inline' 'self'")])
    assert result(open_one, "content-security-policy") == "csp-implemented-with-unsafe-inline"


def test_path_bearing_sources_keep_their_paths() -> None:
    fetch = page([("Content-Security-Policy", "default-src 'self'; script-src https://cdn.example.net/js/, "
                                              "default-src 'self'; script-src https://cdn.example.net")])
    assert graded(fetch)["content-security-policy"].data["policy"]["script-src"] == ["https://cdn.example.net/js/"]
    other_path = page([("Content-Security-Policy", "script-src https://cdn.example.net/js/a.js, "
                                                   "script-src https://cdn.example.net/css/")])
    assert graded(other_path)["content-security-policy"].data["policy"]["script-src"] == ["'none'"]


# --- cookies a browser's jar would not store ---------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "sessionid=1; Domain=other.com",  # a Domain the page's host is not in
    "sessionid=1; Domain=com",  # a public suffix
    "sessionid=1; Domain=.co.uk",
    "__Secure-sessionid=1; HttpOnly",  # __Secure- without Secure
    "__Host-sessionid=1; Secure; HttpOnly; Path=/; Domain=example.com",  # __Host- with a Domain
    "__Host-sessionid=1; Secure; HttpOnly; Path=/app",  # __Host- not on Path=/
    "=1; Path=/",  # no name
    "sessionid",  # no name either: a bare value
])
def test_cookies_the_jar_rejects_are_not_penalised(header: str) -> None:
    finding = graded(page([("Set-Cookie", header)]))["cookies"]
    assert finding.result == "cookies-not-found" and finding.modifier == 0
    assert finding.data["rejected"]


def test_cookies_the_jar_stores_are_judged() -> None:
    stored = page([("Set-Cookie", "sessionid=1; Domain=.example.com"),
                   ("Set-Cookie", "__Host-id=1; Secure; HttpOnly; Path=/; SameSite=Lax"),
                   ("Set-Cookie", "theme=dark; Domain=other.com")])
    finding = graded(stored)["cookies"]
    assert finding.result == "cookies-session-without-secure-flag"
    assert set(finding.data["cookies"]) == {"sessionid", "__Host-id"} and set(finding.data["rejected"]) == {"theme"}


# --- sites by the Public Suffix List ------------------------------------------------------------------------

@pytest.mark.parametrize(("host", "site"), [
    ("www.trust.nhs.uk", "trust.nhs.uk"), ("shop.smith.me.uk", "smith.me.uk"),
    ("www.district.k12.ca.us", "district.k12.ca.us"), ("a.b.example.co.uk", "example.co.uk"),
    ("alice.github.io", "alice.github.io"), ("WWW.Example.COM.", "example.com"), ("127.0.0.1", "127.0.0.1"),
])
def test_registrable_domains_come_from_the_public_suffix_list(host: str, site: str) -> None:
    assert registrable_domain(host) == site


@pytest.mark.parametrize(("page_url", "script"), [
    ("https://www.trust.nhs.uk/", "https://cdn.other.nhs.uk/a.js"),
    ("https://shop.smith.me.uk/", "https://jones.me.uk/a.js"),
    ("https://www.district.k12.ca.us/", "https://other.k12.ca.us/a.js"),
    ("https://alice.github.io/", "https://mallory.github.io/a.js"),
])
def test_registrants_under_one_public_suffix_are_different_sites(page_url: str, script: str) -> None:
    # The old two-label heuristic took nhs.uk, me.uk, k12.ca.us as the site: these scripts counted as own.
    fetch = page(html=f'<script src="{script}"></script>', url=page_url)
    assert result(fetch, "subresource-integrity") == "sri-not-implemented-but-external-scripts-loaded-securely"


def test_sri_compares_scripts_with_the_scanned_host() -> None:
    # The scan of example.com ended on www.example.net; the reference compares with the site scanned.
    fetch = page(html='<script src="https://static.example.com/a.js"></script>', url="https://www.example.net/")
    assert result(fetch, "subresource-integrity", site_host="example.com") == \
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
    assert result(fetch, "subresource-integrity") == "sri-not-implemented-but-external-scripts-loaded-securely"


# --- where we follow a standard over the reference (docs/security-grading.md lists each) ---------------------

@pytest.mark.parametrize(("value", "expected"), [
    # RFC 6797 allows whitespace around "=" (the reference's startsWith("max-age=") calls this invalid).
    ("max-age = 31536000; includeSubDomains", "hsts-implemented-max-age-at-least-six-months"),
    ('max-age="31536000"', "hsts-implemented-max-age-at-least-six-months"),  # a quoted-string value
    # delta-seconds is 1*DIGIT (the reference's parseInt reads "31536000abc" as 31536000).
    ("max-age=31536000abc", "hsts-header-invalid"),
    # Every directive at most once (the reference lets the last max-age win).
    ("max-age=60; max-age=31536000", "hsts-header-invalid"),
    ("max-age=31536000; preload; preload", "hsts-header-invalid"),
])
def test_hsts_is_parsed_per_rfc_6797(value: str, expected: str) -> None:
    assert result(page([("Strict-Transport-Security", value)]), "strict-transport-security") == expected


def test_frame_ancestors_in_a_meta_policy_is_ignored() -> None:
    # Browsers ignore frame-ancestors in <meta>; the reference's XFO test reads it from the merged policy.
    fetch = page(html="<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; "
                      "frame-ancestors 'none'\">")
    assert result(fetch, "x-frame-options") == "x-frame-options-not-implemented"
    header = page([("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")])
    assert result(header, "x-frame-options") == "x-frame-options-implemented-via-csp"


def test_a_duplicate_report_uri_only_counts_where_report_uri_does() -> None:
    # In a header a repeated report-uri is reported (csp-implemented-but-duplicate-directives, as the reference).
    header = page([("Content-Security-Policy", "default-src 'self'; report-uri /a; report-uri /b")])
    assert result(header, "content-security-policy") == "csp-implemented-but-duplicate-directives"
    # In <meta> browsers ignore report-uri altogether, so its repeat is nothing (the reference still reports it).
    meta = page(html="<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; "
                     "report-uri /a; report-uri /b\">")
    assert result(meta, "content-security-policy") == "csp-implemented-with-no-unsafe"

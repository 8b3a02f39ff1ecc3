"""The security step end to end against real local HTTP(S) sites with certificates the tests create."""

from __future__ import annotations

import asyncio
import ssl
import time
import warnings
from collections.abc import AsyncIterator

import pytest
from tests.analysis.conftest import ContextFactory
from tests.support.certificates import TestCA
from tests.support.fixtures import SiteFactory
from tests.support.testsite import LocalSite, ReceivedRequest, Route

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.security import SecurityReport
from techscaniq.domain.technology import Detection
from techscaniq.scanning.analysis import Analyzer
from techscaniq.scanning.security import SecurityAnalyzer
from techscaniq.scanning.security.tls_probe import ProbeOutcome, probe_legacy_tls, probe_protocol

HARDENED = [
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ("Set-Cookie", "sessionid=abc; Path=/; Secure; HttpOnly; SameSite=Strict"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    ("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Resource-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
]


def results(report: SecurityReport | None) -> dict[str, str]:
    assert report is not None
    return {finding.test: finding.result for finding in report.findings}


async def analyze(ctx_factory: ContextFactory, url: str, analyzer: SecurityAnalyzer | None = None,
                  **config: object) -> SecurityReport:
    ctx = await ctx_factory(url, **config)
    await (analyzer or SecurityAnalyzer()).analyze(ctx)
    assert ctx.result.security is not None
    return ctx.result.security


def test_is_an_analyzer_enabled_by_the_security_flag() -> None:
    analyzer = SecurityAnalyzer()
    assert isinstance(analyzer, Analyzer) and analyzer.name == "security"
    assert analyzer.enabled(ScanConfig()) and not analyzer.enabled(ScanConfig(security=False))


async def test_hardened_https_site_gets_a_plus(site_factory: SiteFactory, scan_context: ContextFactory) -> None:
    site = await site_factory(tls=True)
    plain = await site_factory()
    site.route("/", body='<html><script src="/app.js" integrity="sha384-x"></script></html>', headers=HARDENED)
    plain.redirect("/", site.url("/"), status=301)
    report = await analyze(scan_context, site.url("/"), SecurityAnalyzer(http_port=plain.port))
    found = results(report)
    assert found["redirection"] == "redirection-to-https"
    assert found["strict-transport-security"] == "hsts-implemented-max-age-at-least-six-months"
    assert found["x-frame-options"] == "x-frame-options-implemented-via-csp"
    # Version 6: 100 + CSP default-src 'none' 10 + cookies 5 + referrer 5 + XFO via CSP 5 + SRI 5 + CORP 10
    # + COOP 10 + COEP 10 (HSTS, redirection, nosniff, CORS: 0; 127.0.0.1 is not on the preload list).
    assert (report.score, report.grade, report.tests_failed) == (160, "A+", 0)
    assert found["tls-certificate"] == "tls-certificate-trusted" and found["tls-hostname"] == "tls-hostname-match"
    assert found["tls-protocol"] == "tls-protocol-current"
    csp = report.finding("content-security-policy")
    assert csp is not None and csp.value == HARDENED[0][1] and csp.modifier == 10
    assert report.tls is not None and report.tls.verified


async def test_plain_site_fails_https_tests(local_site: LocalSite, scan_context: ContextFactory) -> None:
    local_site.route("/", body="<html><p>hello</p></html>", headers=[("Set-Cookie", "PHPSESSID=1")])
    report = await analyze(scan_context, local_site.url("/"))
    found = results(report)
    assert found["redirection"] == "redirection-missing"
    assert found["strict-transport-security"] == "hsts-not-implemented-no-https"
    assert found["cookies"] == "cookies-session-without-secure-flag"
    assert found["tls"] == "tls-not-used"
    # csp -25, cookies -40, redirection -20, hsts -20, xcto -5, xfo -20
    assert (report.score, report.grade) == (0, "F")


async def test_secure_cookies_set_over_plain_http_are_dropped_as_browsers_drop_them(
        local_site: LocalSite, scan_context: ContextFactory) -> None:
    # A real http site: browsers ignore a Secure cookie it sets (RFC 6265bis 5.7), so only `theme` is judged;
    # the Observatory's cookie jar would keep `sessionid` and call the cookies secure.
    local_site.route("/", body="<html><p>hello</p></html>", headers=[
        ("Set-Cookie", "sessionid=1; Secure; HttpOnly; SameSite=Lax"), ("Set-Cookie", "theme=dark; SameSite=Lax")])
    cookies = (await analyze(scan_context, local_site.url("/"))).finding("cookies")
    assert cookies is not None and cookies.result == "cookies-without-secure-flag"
    assert set(cookies.data["cookies"]) == {"theme"}
    assert cookies.data["rejected"] == {"sessionid": "a Secure cookie set over plain HTTP (browsers drop it)"}
    local_site.route("/only-secure", body="<html></html>", headers=[("Set-Cookie", "sessionid=1; Secure; HttpOnly")])
    only = (await analyze(scan_context, local_site.url("/only-secure"))).finding("cookies")
    assert only is not None and only.result == "cookies-not-found" and only.modifier == 0


async def test_http_scan_follows_its_own_redirect_route(site_factory: SiteFactory,
                                                         scan_context: ContextFactory) -> None:
    site, plain, other = await site_factory(tls=True), await site_factory(), await site_factory()
    site.route("/", body="<html></html>")
    plain.redirect("/", other.url("/hop"))
    other.redirect("/hop", site.url("/"))
    found = results(await analyze(scan_context, plain.url("/")))
    assert found["redirection"] == "redirection-not-to-https-on-initial-redirection"


@pytest.mark.parametrize(("kind", "expected"), [
    ("expired", {"tls-certificate": "tls-certificate-untrusted", "tls-expiry": "tls-certificate-expired"}),
    ("wrong_host", {"tls-certificate": "tls-certificate-untrusted", "tls-hostname": "tls-hostname-mismatch"}),
    ("self_signed", {"tls-certificate": "tls-certificate-untrusted", "tls-hostname": "tls-hostname-match"}),
    ("valid", {"tls-certificate": "tls-certificate-trusted", "tls-expiry": "tls-certificate-valid-period"}),
])
async def test_certificate_kinds(site_factory: SiteFactory, scan_context: ContextFactory, kind: str,
                                 expected: dict[str, str]) -> None:
    site = await site_factory(tls=True, certificate=kind)
    site.route("/", body="<html></html>", headers=[("Strict-Transport-Security", "max-age=31536000")])
    report = await analyze(scan_context, site.url("/"))
    found = results(report)
    assert {test: found.get(test) for test in expected} == expected
    if kind == "valid":
        assert found["strict-transport-security"] == "hsts-implemented-max-age-at-least-six-months"
    else:  # the fetch refused the certificate: no headers were seen, so nothing else is graded
        assert (report.score, report.grade, report.details["graded"]) == (0, "F", False)
        assert "strict-transport-security" not in found and "rejected" in report.details["reason"]
    failed = {finding.severity for finding in report.findings if finding.category == "tls" and not finding.passed}
    assert ("critical" in failed) is (kind != "valid")


async def test_cors_probe_catches_origin_reflection_with_credentials(
        tls_site: LocalSite, scan_context: ContextFactory) -> None:
    def reflect(request: ReceivedRequest) -> Route:
        origin = request.headers.get("origin")
        if not origin:
            return Route(body="<html></html>")
        headers = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        return Route(body="<html></html>", headers=headers)

    tls_site.set("/", reflect)
    report = await analyze(scan_context, tls_site.url("/"))
    cors = report.finding("cross-origin-resource-sharing")
    assert cors is not None and cors.result.endswith("universal-access") and cors.modifier == -50
    assert any(request.headers.get("origin") for request in tls_site.requests)


async def test_exposure_version_disclosure_and_mixed_content(tls_site: LocalSite,
                                                             scan_context: ContextFactory) -> None:
    tls_site.route("/", headers=[("Server", "nginx/1.18.0 (Ubuntu)"), ("X-Powered-By", "PHP/7.4.3")],
                   body='<html><script src="http://cdn.example.net/a.js"></script><img src="http://x.example/i.png">'
                        '<a href="http://example.org/">a link is not a subresource</a></html>')
    report = await analyze(scan_context, tls_site.url("/"))
    disclosure, mixed = report.finding("version-disclosure"), report.finding("mixed-content")
    assert disclosure is not None and disclosure.data["headers"] == {
        "server": "nginx/1.18.0 (Ubuntu)", "x-powered-by": "PHP/7.4.3"}
    assert mixed is not None and mixed.result == "mixed-content-active"
    assert mixed.data["active"] == ["http://cdn.example.net/a.js"] and mixed.data["passive"] == ["http://x.example/i.png"]


async def test_sensitive_paths_only_probed_when_opted_in(tls_site: LocalSite, scan_context: ContextFactory) -> None:
    tls_site.route("/", body="<html></html>")
    tls_site.route("/.git/HEAD", body="ref: refs/heads/main\n", content_type="text/plain")
    tls_site.route("/uploads/", body="<html><head><title>Index of /uploads</title></head></html>")
    tls_site.route("/.env", body="<html>not found, but 200</html>")
    report = await analyze(scan_context, tls_site.url("/"))
    assert report.finding("sensitive-path") is None
    assert not any(request.path == "/.git/HEAD" for request in tls_site.requests)

    report = await analyze(scan_context, tls_site.url("/"), probe_sensitive_paths=True)
    exposed = {f.data["path"]: f.severity for f in report.findings if f.result == "sensitive-path-exposed"}
    assert exposed == {"/.git/HEAD": "critical", "/uploads/": "medium"}


class _CatchAll(dict[str, object]):
    """Routes of a soft-404 site: every unknown path answers 200 with the same page."""

    def __init__(self, page: Route) -> None:
        super().__init__()
        self.page = page

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        return super().get(key, self.page)


async def test_soft_404_site_is_not_reported_as_exposed(tls_site: LocalSite, scan_context: ContextFactory) -> None:
    # Every path (the random one too) returns the same env-looking text: nothing is really exposed.
    tls_site.routes = _CatchAll(Route(body="APP_NAME=shop\nDEBUG=false\n", content_type="text/plain"))  # type: ignore[assignment]
    tls_site.route("/", body="<html></html>")
    report = await analyze(scan_context, tls_site.url("/"), probe_sensitive_paths=True)
    verdict = report.finding("sensitive-path")
    assert verdict is not None and verdict.result == "sensitive-paths-not-exposed" and verdict.data["soft_404"]


async def test_known_vulnerable_library_is_reported(tls_site: LocalSite, scan_context: ContextFactory) -> None:
    tls_site.route("/", body="<html></html>")
    ctx = await scan_context(tls_site.url("/"))
    ctx.result.technologies = [Detection(name="jQuery", version="1.12.4"), Detection(name="React", version="18.2.0")]
    await SecurityAnalyzer().analyze(ctx)
    report = ctx.result.security
    assert report is not None
    assert {v.advisory_id for v in report.vulnerabilities} >= {"CVE-2020-11022", "CVE-2019-11358"}
    assert {v.library for v in report.vulnerabilities} == {"jQuery"}
    library = [f for f in report.findings if f.category == "library"]
    assert len(library) == len(report.vulnerabilities) and library[0].value == "jQuery 1.12.4"
    assert report.score == (await _score_without_libraries(scan_context, tls_site))


async def _score_without_libraries(scan_context: ContextFactory, site: LocalSite) -> int:
    ctx = await scan_context(site.url("/"))
    await SecurityAnalyzer().analyze(ctx)
    assert ctx.result.security is not None
    return ctx.result.security.score  # library findings are reported, not graded


async def test_without_a_fetcher_grades_from_the_page_alone(tls_site: LocalSite,
                                                            scan_context: ContextFactory) -> None:
    tls_site.route("/", body="<html></html>", headers=[("X-Content-Type-Options", "nosniff")])
    ctx = await scan_context(tls_site.url("/"), with_fetcher=False)
    await SecurityAnalyzer().analyze(ctx)
    found = results(ctx.result.security)
    assert found["redirection"] == "redirection-not-needed-no-http"
    assert found["x-content-type-options"] == "x-content-type-options-nosniff"


# ---- legacy TLS ---------------------------------------------------------------------------------


@pytest.fixture
async def legacy_tls_server(test_ca: TestCA) -> AsyncIterator[int]:
    """An HTTPS listener that still speaks TLS 1.0 (what an outdated server does)."""
    context = test_ca.server_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_legacy_probe_tells_old_from_modern_servers(legacy_tls_server: int, tls_site: LocalSite) -> None:
    old = await probe_legacy_tls("127.0.0.1", legacy_tls_server, handshake_timeout=3)
    modern = await probe_legacy_tls("127.0.0.1", tls_site.port, handshake_timeout=3)
    assert [probe.outcome for probe in old] == [ProbeOutcome.ACCEPTED, ProbeOutcome.ACCEPTED]
    assert [probe.outcome for probe in modern] == [ProbeOutcome.REJECTED, ProbeOutcome.REJECTED]


async def test_protocol_this_openssl_cannot_offer_is_not_testable(tls_site: LocalSite) -> None:
    # A protocol the local library does not know stands for one compiled out or forbidden by policy.
    outcome = await probe_protocol("127.0.0.1", tls_site.port, "SSLv1", server_hostname=None, handshake_timeout=3)
    assert isinstance(outcome, tuple) and outcome[0] is ProbeOutcome.NOT_TESTABLE


async def test_legacy_tls_check_runs_only_when_configured(tls_site: LocalSite, scan_context: ContextFactory) -> None:
    tls_site.route("/", body="<html></html>")
    assert "tls-legacy-tlsv1.0" not in results(await analyze(scan_context, tls_site.url("/")))
    found = results(await analyze(scan_context, tls_site.url("/"), check_legacy_tls=True))
    assert found["tls-legacy-tlsv1.0"] == "tls-legacy-protocol-rejected"
    assert found["tls-legacy-tlsv1.1"] == "tls-legacy-protocol-rejected"


async def test_large_pages_keep_the_cors_probe_and_listing_checks(tls_site: LocalSite,
                                                                  scan_context: ContextFactory) -> None:
    # The CORS probe reads at most 64 KiB; a bigger page is cut, but its headers still count. Listings are
    # read under the scan's normal limit.
    big = "<html><head><title>Index of /backup</title></head>" + "<p>file</p>" * 40_000 + "</html>"
    tls_site.set("/", lambda request: Route(body="<html></html>" + "x" * 200_000, headers=[
        ("Access-Control-Allow-Origin", request.headers.get("origin") or "https://a.example"),
        ("Access-Control-Allow-Credentials", "true")]))
    tls_site.route("/backup/", body=big)
    report = await analyze(scan_context, tls_site.url("/"), probe_sensitive_paths=True)
    assert results(report)["cross-origin-resource-sharing"].endswith("universal-access")
    exposed = [f.data["path"] for f in report.findings if f.result == "sensitive-path-exposed"]
    assert exposed == ["/backup/"]


async def test_hostile_headers_are_graded_quickly(tls_site: LocalSite, scan_context: ContextFactory) -> None:
    # Just under the fetcher's limit for a response head (it refuses larger ones outright).
    headers = [("Set-Cookie", f"sess{index}=x" + "; SameSite" * 2) for index in range(600)]
    headers += [("Content-Security-Policy", "script-src " + "'self' " * 2_000),
                ("Strict-Transport-Security", "max-age=" + "9" * 2_000), ("Referrer-Policy", ",".join(["x"] * 5_000))]
    tls_site.route("/", body="<html>" + "<script src=//evil.example/a.js></script>" * 20_000 + "</html>",
                   headers=headers)
    started = time.perf_counter()
    report = await analyze(scan_context, tls_site.url("/"))
    assert time.perf_counter() - started < 5
    found = results(report)
    assert found["cookies"] == "cookies-session-without-httponly-flag"  # the worst of the 600
    assert found["subresource-integrity"] == "sri-not-implemented-and-external-scripts-not-loaded-securely"
    assert found["referrer-policy"] == "referrer-policy-header-invalid"


async def test_legacy_probe_only_reaches_the_address_the_fetch_connected_to(
        tls_site: LocalSite, scan_context: ContextFactory) -> None:
    tls_site.route("/", body="<html></html>")
    ctx = await scan_context(tls_site.url("/"), check_legacy_tls=True)
    ctx.fetch.remote_ip = None  # a fetch that recorded no connected address (the guard vetted none)
    await SecurityAnalyzer().analyze(ctx)
    assert results(ctx.result.security)["tls-legacy-tlsv1.0"] == "tls-legacy-protocol-not_testable"


@pytest.mark.parametrize("answer", ["refused", "garbage"])
async def test_no_http_service_means_no_redirection_needed(site_factory: SiteFactory, scan_context: ContextFactory,
                                                           answer: str) -> None:
    site, plain = await site_factory(tls=True), await site_factory()
    site.route("/", body="<html></html>")
    plain.route("/", raw=b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    port = plain.port
    if answer == "refused":
        await plain.close()
    report = await analyze(scan_context, site.url("/"), SecurityAnalyzer(http_port=port))
    assert results(report)["redirection"] == "redirection-not-needed-no-http"


async def test_site_that_does_not_answer_is_not_graded(local_site: LocalSite, scan_context: ContextFactory) -> None:
    url = local_site.url("/")
    await local_site.close()
    ctx = await scan_context(url)
    await SecurityAnalyzer().analyze(ctx)
    assert ctx.result.security is None
    assert ctx.result.analysis_errors["security"].startswith("no response to grade")

"""The security step of a scan: Observatory-style header grade, TLS, exposure and vulnerable libraries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.security import SecurityFinding, SecurityReport
from techscaniq.domain.tls_rating import TLSProbe, TLSRating
from techscaniq.scanning.analysis import ScanContext
from techscaniq.scanning.security.advisories import AdvisoryStore
from techscaniq.scanning.security.exposure import mixed_content, probe_sensitive_paths, version_disclosure
from techscaniq.scanning.security.observatory import CORS_PROBE_ORIGIN, grade_headers
from techscaniq.scanning.security.probe_cache import ProbeCache
from techscaniq.scanning.security.retire import Sighting
from techscaniq.scanning.security.scripts import page_scripts, script_texts
from techscaniq.scanning.security.tls_checks import tls_findings
from techscaniq.scanning.security.tls_probe import LegacyProbe, ProbeOutcome, legacy_findings, probe_legacy_tls
from techscaniq.scanning.security.tls_rater import TLSRater
from techscaniq.scanning.security.tls_rating import rate, rating_findings

T = TypeVar("T")

_CORS_PROBE_MAX_BYTES = 64 * 1024  # only the response headers matter
_PROBE_MAX_BYTES = 256 * 1024
_HSTS_MAX_AGE = re.compile(r"(?:^|;)\s*max-age\s*=\s*\"?(\d{1,12})\"?\s*(?:;|$)", re.IGNORECASE)


class SecurityAnalyzer:
    """Fills `ctx.result.security`. Runs after technology detection (its versions feed the advisories).

    `advisories`: where the advisory database comes from (built-in set plus any installed Retire.js
    repository); `http_port`: the port of the plain-HTTP probe for the redirection test (None: 80);
    `legacy_tls_timeout`: seconds per TLS 1.0/1.1 handshake probe; `tls_rater`: rates the site's TLS
    (scan_config.tls_rating; None: no TLS rating).
    """

    name = "security"

    def __init__(self, advisories: AdvisoryStore | None = None, *, http_port: int | None = None,
                 legacy_tls_timeout: float = 5.0, tls_rater: TLSRater | None = None,
                 probe_cache_seconds: float = 0.0) -> None:
        self.advisories = advisories or AdvisoryStore()
        self.http_port = http_port
        self.legacy_tls_timeout = legacy_tls_timeout
        self.tls_rater = tls_rater
        self.probes = ProbeCache(probe_cache_seconds)

    def enabled(self, scan_config: ScanConfig) -> bool:
        return scan_config.security

    async def analyze(self, ctx: ScanContext) -> None:
        fetch = ctx.fetch
        page_url = fetch.final_url or ctx.url
        parts = urlsplit(page_url)
        https = parts.scheme == "https"
        if fetch.status_code is None:
            await self._ungraded(ctx, https)
            return
        if fetch.status_code >= 400:
            # An error page's headers are not the site's (an outage, a CDN's default page): no grade, so the
            # site keeps its last one and change detection compares nothing.
            ctx.result.analysis_errors["security"] = f"not graded: HTTP {fetch.status_code}"
            return
        document = ctx.document
        errors: dict[str, str] = {}
        timeout = ctx.scan_config.timeout_seconds

        async def guarded(label: str, work: Awaitable[T]) -> T | None:
            try:
                return await work
            except Exception as exc:  # one optional probe failing must not lose the whole grade
                errors[label] = f"{type(exc).__name__}: {exc}"[:500]
                return None

        http_fetch: Awaitable[FetchResult | None] | None = None
        fetcher = ctx.fetcher
        if urlsplit(ctx.url).scheme == "http":
            http_fetch = _ready(fetch)  # the scan itself started on http://: its redirects are the route
        elif fetcher is not None:
            http_url = self._http_url(ctx.url)
            http_fetch = guarded("redirection", self.probes.get("redirection", http_url, lambda: fetcher.fetch(
                http_url, timeout=timeout, max_bytes=_PROBE_MAX_BYTES)))
        cors_fetch: Awaitable[FetchResult | None] | None = None
        if fetcher is not None:
            cors_fetch = guarded("cors", self.probes.get("cors", page_url, lambda: fetcher.fetch(
                page_url, timeout=timeout, max_bytes=_CORS_PROBE_MAX_BYTES, headers={"Origin": CORS_PROBE_ORIGIN})))
        tls_probe: Awaitable[tuple[TLSProbe, bool] | None] | None = None
        if self._rates_tls(ctx, https):
            assert self.tls_rater is not None and parts.hostname
            tls_probe = guarded("tls_rating", self.tls_rater.probe(parts.hostname, parts.port or 443,
                                                                   fetch.remote_ip))
        legacy: Awaitable[Any] | None = None
        if tls_probe is not None:
            pass  # the rating's probe answers the legacy question too (below)
        elif ctx.scan_config.check_legacy_tls and https and fetch.remote_ip:
            # The address the fetcher connected to, so the probe never reaches one its guard refused.
            legacy = guarded("legacy_tls", probe_legacy_tls(
                fetch.remote_ip, parts.port or 443, server_hostname=parts.hostname,
                handshake_timeout=self.legacy_tls_timeout))
        elif ctx.scan_config.check_legacy_tls and https:
            legacy = _ready([LegacyProbe(protocol, ProbeOutcome.NOT_TESTABLE, "the fetch connected to no address")
                             for protocol in ("TLSv1.0", "TLSv1.1")])
        sensitive: Awaitable[list[SecurityFinding] | None] | None = None
        if ctx.scan_config.probe_sensitive_paths and fetcher is not None:
            sensitive_fetcher = fetcher

            async def fetch_path(url: str) -> FetchResult:
                # The scan's normal size limit: a listing page can be large, and the fetcher drops a body
                # whose declared length is over the limit.
                result: FetchResult = await sensitive_fetcher.fetch(url, timeout=timeout)
                return result

            root = fetch if parts.path in ("", "/") else None
            sensitive = guarded("sensitive_paths", probe_sensitive_paths(page_url, fetch_path, root=root))

        http_result, cors_result, legacy_result, sensitive_result, probed = await asyncio.gather(
            _maybe(http_fetch), _maybe(cors_fetch), _maybe(legacy), _maybe(sensitive), _maybe(tls_probe))
        rating = rate(probed[0], hsts_max_age=hsts_max_age(fetch), cached=probed[1]) if probed else None
        if probed and ctx.scan_config.check_legacy_tls:
            legacy_result = _legacy_from(probed[0])

        graded = grade_headers(fetch, document=document, http_fetch=http_result, cors_fetch=cors_result,
                               site_host=urlsplit(ctx.url).hostname)
        findings = list(graded.findings)
        findings += tls_findings(fetch.tls, https=https)
        if legacy_result:
            findings += legacy_findings(legacy_result)
        if rating is not None:
            findings += rating_findings(rating)
        elif probed:
            errors["tls_rating"] = probed[0].error or "no TLS handshake succeeded"
        findings += [version_disclosure(fetch), mixed_content(document, page_url)]
        if sensitive_result:
            findings += sensitive_result
        vulnerabilities = []
        try:
            database = await asyncio.to_thread(self.advisories.database)  # the first use compiles
            sightings: list[Sighting] = []
            if database.extractors is not None:
                outcome = await asyncio.to_thread(
                    database.extractors.scan, page_scripts(document, page_url), script_texts(ctx, document))
                sightings = outcome.sightings
                if outcome.incomplete:
                    errors["advisories"] = outcome.incomplete
            vulnerabilities = database.match(ctx.result.technologies, sightings)
        except Exception as exc:  # a broken installed advisory file must not hide the header grade
            errors["advisories"] = f"{type(exc).__name__}: {exc}"[:500]
        for vulnerability in vulnerabilities:
            fixed = f"fixed in {vulnerability.fixed_version}" if vulnerability.fixed_version else "no fixed release"
            findings.append(SecurityFinding(
                test="vulnerable-library", result="library-has-known-vulnerability", passed=False,
                description=f"{vulnerability.library} {vulnerability.version}: {vulnerability.summary} ({fixed})",
                category="library", severity=vulnerability.severity,
                value=f"{vulnerability.library} {vulnerability.version}",
                data={"advisory_id": vulnerability.advisory_id, "identifiers": vulnerability.identifiers,
                      "cve": vulnerability.cve, "ghsa": vulnerability.ghsa,
                      "fixed_version": vulnerability.fixed_version, "component": vulnerability.component,
                      "detection": vulnerability.detection, "evidence": vulnerability.evidence},
            ))

        details: dict[str, Any] = {"page_url": page_url, "https": https}
        if errors:
            details["errors"] = errors
            ctx.result.analysis_errors.update({f"security.{label}": why for label, why in errors.items()})
        ctx.result.security = SecurityReport(
            score=graded.score, grade=graded.grade, findings=findings, tls=fetch.tls, details=details,
            tests_passed=graded.tests_passed, tests_failed=graded.tests_failed, vulnerabilities=vulnerabilities,
            tls_rating=rating,
        )

    def _rates_tls(self, ctx: ScanContext, https: bool) -> bool:
        return self.tls_rater is not None and https and ctx.scan_config.tls_rating and bool(urlsplit(
            ctx.fetch.final_url or ctx.url).hostname)

    async def _ungraded(self, ctx: ScanContext, https: bool) -> None:
        """No response to grade. A certificate or handshake the fetch refused is itself the finding (grade F:
        browsers refuse the site too), and the TLS rating still probes the server; with neither TLS facts nor
        a rating, there is nothing to report."""
        fetch = ctx.fetch
        reason = fetch.error.message if fetch.error else "no response"
        rating: TLSRating | None = None
        details: dict[str, Any] = {"page_url": fetch.final_url or ctx.url, "https": https, "graded": False,
                                   "reason": reason}
        if self._rates_tls(ctx, https):
            assert self.tls_rater is not None
            parts = urlsplit(fetch.final_url or ctx.url)
            try:
                probe, cached = await self.tls_rater.probe(parts.hostname or "", parts.port or 443, None)
                rating = rate(probe, cached=cached)
                if rating is None:
                    details["errors"] = {"tls_rating": probe.error or "no TLS handshake succeeded"}
            except Exception as exc:  # the probe is what is left to report: say why it failed
                details["errors"] = {"tls_rating": f"{type(exc).__name__}: {exc}"[:500]}
        for label, why in details.get("errors", {}).items():
            ctx.result.analysis_errors[f"security.{label}"] = why
        if fetch.tls is None and rating is None:
            ctx.result.analysis_errors["security"] = f"no response to grade: {reason}"[:500]
            return
        findings = tls_findings(fetch.tls, https=https) if fetch.tls is not None else []
        if rating is not None:
            findings += rating_findings(rating)
        ctx.result.security = SecurityReport(score=0, grade="F", findings=findings, tls=fetch.tls, details=details,
                                             tls_rating=rating)

    def _http_url(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host if self.http_port in (None, 80) else f"{host}:{self.http_port}"
        return urlunsplit(("http", netloc, parts.path or "/", parts.query, ""))


def hsts_max_age(fetch: FetchResult) -> int | None:
    """max-age of the first Strict-Transport-Security header, for A+ (None: no valid header)."""
    value = fetch.header("strict-transport-security") if (fetch.final_url or fetch.url).startswith("https") else None
    match = _HSTS_MAX_AGE.search(value or "")
    return int(match.group(1)) if match else None


def _legacy_from(probe: TLSProbe) -> list[LegacyProbe]:
    legacy = []
    for protocol in ("TLSv1.0", "TLSv1.1"):
        support = probe.support(protocol)
        outcome = ProbeOutcome(support.outcome) if support else ProbeOutcome.UNREACHABLE
        legacy.append(LegacyProbe(protocol, outcome, support.detail[:300] if support else probe.error or ""))
    return legacy


async def _ready(value: T) -> T:
    return value


async def _maybe(work: Awaitable[T] | None) -> T | None:
    return None if work is None else await work

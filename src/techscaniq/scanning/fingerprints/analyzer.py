"""The scan pipeline's technology step: gather what the fingerprints can look at, run the engine.

Extra inputs cost requests, so each is gathered only when some fingerprint needs it: robots.txt
(fetched through the scan's fetcher, small and cached per origin), DNS records (only with
FINGERPRINTS_DNS, through dnspython's async resolver with a short timeout) and linked stylesheets
(only with FINGERPRINTS_STYLESHEETS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from techscaniq.domain.config import ScanConfig
from techscaniq.scanning.analysis import ScanContext
from techscaniq.scanning.browser import BrowserMeasurement, BrowserRenderer, BrowserUnavailableError, render_once
from techscaniq.scanning.fingerprints.engine import FingerprintEngine
from techscaniq.scanning.fingerprints.page import DomElement, PageData
from techscaniq.scanning.fingerprints.patterns import Pattern

log = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 64 * 1024
ROBOTS_TTL_SECONDS = 3600.0
STYLESHEET_MAX_BYTES = 256 * 1024
MAX_STYLESHEETS = 4
EXTRA_FETCH_TIMEOUT = 5.0
DNS_TIMEOUT = 2.0
DNS_RECORD_TYPES = ("TXT", "MX", "NS", "CNAME", "SOA")
CACHE_SIZE = 10_000

# Told of an organization's patterns that went over their budget during a scan (to share with other replicas).
DisabledHandler = Callable[[str, list[Pattern]], Awaitable[None]]


class EngineProvider(Protocol):
    def engine(self, organization_id: str | None = None) -> FingerprintEngine: ...


class _FixedEngine:
    def __init__(self, engine: FingerprintEngine) -> None:
        self._engine = engine

    def engine(self, organization_id: str | None = None) -> FingerprintEngine:
        return self._engine


class TechnologyAnalyzer:
    name = "technologies"

    def __init__(
        self,
        engine_provider: EngineProvider | FingerprintEngine,
        *,
        dns: bool = False,
        stylesheets: bool = False,
        nameservers: Sequence[str] | None = None,
        dns_port: int = 53,
        renderer: BrowserRenderer | None = None,
        on_disabled: DisabledHandler | None = None,
    ) -> None:
        self._provider: EngineProvider = (
            _FixedEngine(engine_provider) if isinstance(engine_provider, FingerprintEngine) else engine_provider
        )
        self._dns = dns
        self._stylesheets = stylesheets
        self._nameservers = list(nameservers) if nameservers else None
        self._dns_port = dns_port
        self._renderer = renderer
        self._on_disabled = on_disabled
        self._robots: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    @classmethod
    def from_settings(cls, engine_provider: EngineProvider | FingerprintEngine, settings: Any,
                      renderer: BrowserRenderer | None = None,
                      on_disabled: DisabledHandler | None = None) -> TechnologyAnalyzer:
        return cls(engine_provider, dns=settings.fingerprints_dns, stylesheets=settings.fingerprints_stylesheets,
                   renderer=renderer, on_disabled=on_disabled)

    def enabled(self, scan_config: ScanConfig) -> bool:
        return scan_config.technologies

    async def analyze(self, ctx: ScanContext) -> None:
        provider = self._provider
        engine = await asyncio.to_thread(provider.engine, ctx.organization_id)  # first use compiles
        url = ctx.fetch.final_url or ctx.url
        tls = ctx.fetch.tls
        robots, dns, css, rendered = await asyncio.gather(
            self._robots_txt(ctx, url) if "robots" in engine.sources else _none(),
            self._dns_records(url) if self._dns and "dns" in engine.sources else _none(),
            self._stylesheet_text(ctx, url) if self._stylesheets and "css" in engine.sources else _none(),
            self._render(ctx, url, engine) if ctx.scan_config.browser and self._renderer else _none(),
        )
        page = PageData(
            url=url,
            headers=ctx.fetch.headers,
            html=ctx.html,
            robots=robots,
            dns=dns or {},
            cert_issuer=(tls.issuer_organization or tls.issuer) if tls else None,
            css=css,
            js=rendered.js if rendered else None,
            dom={selector: [DomElement(text=str(e.get("text", "")), attributes=dict(e.get("attributes") or {}),
                                       properties=dict(e.get("properties") or {})) for e in elements]
                 for selector, elements in rendered.dom.items()} if rendered else None,
            xhr=rendered.xhr if rendered else (),
        )
        # An organization's own patterns run in a worker thread, where their budgeted searches release the GIL:
        # however they backtrack, the event loop (health checks, the API, other scans) keeps running.
        running = [p for p in engine.tenant_patterns if p.disabled is None]
        ctx.result.technologies = await asyncio.to_thread(engine.analyze, page) if engine.tenant_patterns \
            else engine.analyze(page)
        ctx.result.fingerprint_version = engine.version
        over_budget = [p for p in running if p.disabled is not None]
        if over_budget and self._on_disabled is not None and ctx.organization_id:
            await self._on_disabled(ctx.organization_id, over_budget)
        disabled = sorted({p.technology for p in engine.tenant_patterns if p.disabled is not None})
        if disabled:  # the scan is complete without them; the API says why each one is off
            ctx.result.analysis_errors["technologies.custom"] = (
                f"custom fingerprints disabled for this organization: {', '.join(disabled)} "
                "(GET /api/v1/fingerprints/custom says why)")

    async def _render(self, ctx: ScanContext, url: str, engine: FingerprintEngine) -> BrowserMeasurement | None:
        """Browser mode: the `js`, `dom` and `xhr` patterns need the rendered page (shared with performance)."""
        assert self._renderer is not None
        chains, _ = engine.browser_queries()
        try:
            return await render_once(ctx.shared, self._renderer, url, js_chains=chains,
                                     dom_queries=engine.dom_queries())
        except BrowserUnavailableError as exc:
            ctx.result.analysis_errors["technologies.browser"] = str(exc)
            return None

    async def _robots_txt(self, ctx: ScanContext, url: str) -> str | None:
        fetcher: Any = ctx.fetcher
        parts = urlsplit(url)
        if fetcher is None or parts.scheme not in ("http", "https"):
            return None
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is not None and time.monotonic() - cached[0] < ROBOTS_TTL_SECONDS:
            return cached[1]
        result = await fetcher.fetch(origin + "/robots.txt", timeout=EXTRA_FETCH_TIMEOUT, max_bytes=ROBOTS_MAX_BYTES)
        text = None
        if result.ok and result.status_code == 200 and "html" not in (result.content_type or "").lower():
            text = result.text
        self._robots[origin] = (time.monotonic(), text)
        self._robots.move_to_end(origin)
        while len(self._robots) > CACHE_SIZE:
            self._robots.popitem(last=False)
        return text

    async def _stylesheet_text(self, ctx: ScanContext, url: str) -> str | None:
        fetcher: Any = ctx.fetcher
        if fetcher is None:
            return None
        from selectolax.lexbor import LexborHTMLParser

        links = LexborHTMLParser(ctx.html).css('link[rel~="stylesheet" i][href]')
        hrefs = [node.attributes.get("href") for node in links]
        targets = [urljoin(url, href) for href in hrefs if href][:MAX_STYLESHEETS]
        results = await asyncio.gather(
            *(fetcher.fetch(t, timeout=EXTRA_FETCH_TIMEOUT, max_bytes=STYLESHEET_MAX_BYTES) for t in targets)
        )
        texts = [r.text for r in results if r.ok and r.status_code == 200]
        return "\n".join(texts) or None

    async def _dns_records(self, url: str) -> dict[str, list[str]]:
        import dns.asyncresolver
        import dns.exception
        import dns.resolver

        host = urlsplit(url).hostname
        if not host or host.replace(".", "").isdigit() or ":" in host:
            return {}
        resolver = dns.asyncresolver.Resolver(configure=self._nameservers is None)
        if self._nameservers is not None:
            resolver.nameservers = self._nameservers
            resolver.port = self._dns_port
        resolver.lifetime = DNS_TIMEOUT
        apex = host[4:] if host.startswith("www.") else host

        async def lookup(kind: str) -> tuple[str, list[str]]:
            name = host if kind == "CNAME" else apex
            try:
                answer = await resolver.resolve(name, kind)
            except (dns.exception.DNSException, OSError) as exc:
                log.debug("dns %s %s: %s", kind, name, exc)
                return kind, []
            return kind, [record.to_text().strip('"') for record in answer]

        return {kind: values for kind, values in await asyncio.gather(*(lookup(k) for k in DNS_RECORD_TYPES)) if values}


async def _none() -> None:
    return None

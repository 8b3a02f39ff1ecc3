"""Browser mode: load the page once in headless Chromium (Debian's `chromium`, driven by Playwright) and
read what only a rendered page shows: navigation timing and Core Web Vitals from the page's own Performance
API, and for technology detection the JS properties, DOM elements and XHR requests fingerprints ask for.

The technology and performance steps share one rendering per scan (`render_once`).

Chromium fetches pages and subresources itself, so all of its traffic is forced through one guarded
path: a local proxy (browser_proxy.py) that resolves, vets against the scan's address policy and pins
every address, with Chromium's own name resolution switched off. Service workers are blocked and WebRTC
may not send UDP around the proxy. Chromium keeps its sandbox unless it runs as root, where it cannot.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.scanning.browser_proxy import GuardedProxy
from techscaniq.scanning.browser_trust import TrustStoreError, home_trusting


class BrowserUnavailableError(Exception):
    """Browser mode could not measure: Playwright or Chromium missing, or the page did not load."""


@dataclass
class BrowserMeasurement:
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    js: dict[str, str] = field(default_factory=dict)  # property chain -> value ("" for objects)
    dom: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # selector -> elements (text, attributes...)
    xhr: list[str] = field(default_factory=list)  # URLs requested by XHR/fetch


# Registered before any page script runs, so buffered entries and early long tasks are all seen.
_OBSERVERS = """
window.__techscaniq = {lcp: null, cls: 0, longTasks: []};
(() => {
  const observe = (type, onEntry) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(onEntry)).observe({type, buffered: true});
    } catch (e) {}
  };
  observe('largest-contentful-paint', (e) => { window.__techscaniq.lcp = e.renderTime || e.loadTime || e.startTime; });
  observe('layout-shift', (e) => { if (!e.hadRecentInput) window.__techscaniq.cls += e.value; });
  observe('longtask', (e) => { window.__techscaniq.longTasks.push([e.startTime, e.duration]); });
})();
"""

_COLLECT = """
() => {
  const nav = performance.getEntriesByType('navigation')[0] || {};
  const fcpEntry = performance.getEntriesByName('first-contentful-paint')[0];
  const fcp = fcpEntry ? fcpEntry.startTime : null;
  const state = window.__techscaniq || {lcp: null, cls: 0, longTasks: []};
  // Total blocking time: the part of each long task beyond 50 ms, after first contentful paint.
  let tbt = 0;
  for (const [start, duration] of state.longTasks) {
    if (fcp === null || start + duration > fcp) tbt += Math.max(0, duration - 50);
  }
  const resources = performance.getEntriesByType('resource');
  return {
    fcp, lcp: state.lcp, cls: state.cls, tbt, longTasks: state.longTasks.length,
    ttfb: nav.responseStart ?? null, domInteractive: nav.domInteractive ?? null,
    domContentLoaded: nav.domContentLoadedEventEnd ?? null, load: nav.loadEventEnd ?? null,
    navTransfer: nav.transferSize ?? 0, resourceTransfer: resources.reduce((sum, r) => sum + (r.transferSize || 0), 0),
    resourceEntries: resources.length, protocol: nav.nextHopProtocol || null,
  };
}
"""

# Reads the property chains and DOM selectors technology fingerprints ask for (bounded, never throws).
_INSPECT = """
([chains, queries]) => {
  const js = {};
  for (const chain of chains) {
    try {
      let value = window;
      for (const part of chain.split('.')) {
        if (value === null || value === undefined) break;
        value = value[part];
      }
      if (value === undefined || value === null) continue;
      const kind = typeof value;
      js[chain] = (kind === 'string' || kind === 'number' || kind === 'boolean') ? String(value).slice(0, 500) : '';
    } catch (e) {}
  }
  const dom = {};
  for (const [selector, properties] of Object.entries(queries)) {
    let nodes = [];
    try { nodes = Array.from(document.querySelectorAll(selector)).slice(0, 5); } catch (e) { continue; }
    if (!nodes.length) continue;
    dom[selector] = nodes.map((node) => {
      const attributes = {};
      for (const attribute of Array.from(node.attributes || []).slice(0, 50)) {
        attributes[attribute.name] = String(attribute.value).slice(0, 1000);
      }
      const props = {};
      for (const name of properties) {
        try {
          const value = node[name];
          if (value === undefined || value === null) continue;
          props[name] = typeof value === 'object' ? '' : String(value).slice(0, 500);
        } catch (e) {}
      }
      return {text: (node.textContent || '').slice(0, 1000), attributes, properties: props};
    });
  }
  return {js, dom};
}
"""

_METRIC_NAMES = {
    "fcp": "fcp_ms", "lcp": "lcp_ms", "cls": "cls", "tbt": "tbt_ms", "ttfb": "browser_ttfb_ms",
    "domInteractive": "dom_interactive_ms", "domContentLoaded": "dom_content_loaded_ms", "load": "load_event_ms",
}


def sandboxed() -> bool:
    """Chromium's sandbox needs an unprivileged user; as root it refuses to start with it."""
    return os.geteuid() != 0


def browser_status(executable_path: str) -> str:
    """For /health: whether browser mode can run here, and whether Chromium keeps its sandbox."""
    if not os.access(executable_path, os.X_OK):
        return f"Chromium not found at {executable_path}: configs with browser mode get a failed browser step"
    if sandboxed():
        return "Chromium sandboxed; all browser traffic through the address guard's proxy"
    return ("Chromium without its sandbox (running as root; run as a non-root user to keep it); all browser "
            "traffic through the address guard's proxy")


def _chromium_args(proxy: GuardedProxy) -> list[str]:
    return [
        "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        f"--proxy-server={proxy.url}",
        "--proxy-bypass-list=<-loopback>",  # loopback too goes through the proxy (Chromium bypasses it by default)
        # Every name fails to resolve inside Chromium: it only ever asks the proxy, which resolves and vets.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-quic",
    ]


async def measure_in_browser(url: str, *, executable_path: str = "/usr/bin/chromium", timeout_seconds: float = 30.0,
                             policy: AddressPolicy | None = None, ignore_https_errors: bool = False,
                             settle_seconds: float = 0.5, js_chains: Sequence[str] = (),
                             dom_queries: Mapping[str, Sequence[str]] | None = None,
                             home: Path | None = None) -> BrowserMeasurement:
    """Load `url` once in a fresh headless Chromium and return its navigation timing and web vitals, plus
    the values of `js_chains` and the elements of `dom_queries` (selector -> properties to read). `home`:
    the HOME Chromium runs with (browser_trust.py builds one that trusts EXTRA_CA_BUNDLE). `policy`: what the
    browser may connect to (default: public addresses only)."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError:
        raise BrowserUnavailableError("browser mode needs the 'playwright' package (pip install playwright)") from None
    if not os.access(executable_path, os.X_OK):
        raise BrowserUnavailableError(f"Chromium not found at {executable_path} (apt-get install chromium)")
    requests: list[str] = []
    navigations: list[str] = []
    xhr: list[str] = []
    proxy = GuardedProxy(policy or AddressPolicy(), connect_timeout_seconds=min(10.0, timeout_seconds))
    try:
        async with proxy.serving(), async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable_path, headless=True, timeout=timeout_seconds * 1000,
                chromium_sandbox=sandboxed(), args=_chromium_args(proxy),
                env={**os.environ, "HOME": str(home)} if home is not None else None,
            )
            try:
                context = await browser.new_context(ignore_https_errors=ignore_https_errors, service_workers="block")
                page = await context.new_page()
                def on_request(request: Any) -> None:
                    requests.append(request.url)
                    if request.is_navigation_request() and request.frame == page.main_frame:
                        navigations.append(request.url)
                    if request.resource_type in ("xhr", "fetch") and len(xhr) < 200:
                        xhr.append(request.url[:500])

                page.on("request", on_request)
                await page.add_init_script(_OBSERVERS)
                try:
                    response = await page.goto(url, wait_until="load", timeout=timeout_seconds * 1000)
                except PlaywrightError:
                    # The page itself, or a redirect of it, toward a guarded address.
                    if refused := _refused(proxy, navigations):
                        raise BrowserUnavailableError(f"browser measurement refused: {refused[-1]}") from None
                    raise
                if response is not None and (refusal := proxy.refusal_of(response.url)):
                    raise BrowserUnavailableError(f"browser measurement refused: {response.url[:300]}: {refusal}")
                await page.wait_for_timeout(settle_seconds * 1000)  # let LCP and late layout shifts land
                figures: dict[str, Any] = await page.evaluate(_COLLECT)
                inspected: dict[str, Any] = {"js": {}, "dom": {}}
                if js_chains or dom_queries:
                    inspected = await page.evaluate(
                        _INSPECT, [list(js_chains), {k: list(v) for k, v in (dom_queries or {}).items()}]
                    )
                status = response.status if response is not None else None
            finally:
                await browser.close()
    except PlaywrightError as exc:
        raise BrowserUnavailableError(f"browser measurement failed: {str(exc).splitlines()[0][:300]}") from None
    metrics = {name: round(float(figures[key]), 4) for key, name in _METRIC_NAMES.items()
               if isinstance(figures.get(key), int | float)}
    metrics["browser_request_count"] = float(len(requests))
    transferred = (figures.get("navTransfer") or 0) + (figures.get("resourceTransfer") or 0)
    metrics["browser_transfer_bytes"] = float(transferred)
    details = {"status_code": status, "protocol": figures.get("protocol"), "long_tasks": figures.get("longTasks"),
               "blocked_requests": _refused(proxy, requests), "resource_entries": figures.get("resourceEntries")}
    return BrowserMeasurement(metrics=metrics, details=details, js=dict(inspected.get("js") or {}),
                              dom=dict(inspected.get("dom") or {}), xhr=xhr)


MAX_RECORDED = 50  # refusals listed in a scan's details


def _refused(proxy: GuardedProxy, urls: Sequence[str]) -> list[str]:
    """`url: reason` for the page's requests the proxy refused (not Chromium's own background requests)."""
    found = [f"{url[:300]}: {reason}" for url in dict.fromkeys(urls) if (reason := proxy.refusal_of(url))]
    return found[:MAX_RECORDED]


class BrowserRenderer:
    """The browser settings of a deployment and a bound on concurrent Chromium instances (each takes a
    few hundred MB)."""

    def __init__(self, *, executable_path: str = "/usr/bin/chromium", timeout_seconds: float = 30.0,
                 policy: AddressPolicy | None = None, ignore_https_errors: bool = False, concurrency: int = 2,
                 extra_ca_bundle: Path | None = None) -> None:
        """`extra_ca_bundle`: CAs to trust besides the system's (EXTRA_CA_BUNDLE), as the fetcher does."""
        self.executable_path = executable_path
        self.timeout_seconds = timeout_seconds
        self.policy = policy or AddressPolicy()
        self.ignore_https_errors = ignore_https_errors
        self.extra_ca_bundle = extra_ca_bundle
        self._slots = asyncio.Semaphore(concurrency)
        self._home: Path | None = None
        self._home_lock = asyncio.Lock()

    async def render(self, url: str, *, js_chains: Sequence[str] = (),
                     dom_queries: Mapping[str, Sequence[str]] | None = None) -> BrowserMeasurement:
        home = await self._trusting_home()
        async with self._slots:
            return await measure_in_browser(
                url, executable_path=self.executable_path, timeout_seconds=self.timeout_seconds,
                policy=self.policy, ignore_https_errors=self.ignore_https_errors,
                js_chains=js_chains, dom_queries=dom_queries, home=home,
            )

    async def _trusting_home(self) -> Path | None:
        """Built once, the first time a page is rendered (a failure is retried on the next rendering)."""
        if self.extra_ca_bundle is None:
            return None
        async with self._home_lock:
            if self._home is None:
                try:
                    self._home = await home_trusting(self.extra_ca_bundle)
                except TrustStoreError as exc:
                    raise BrowserUnavailableError(str(exc)) from None
            return self._home


async def render_once(shared: dict[str, Any], renderer: BrowserRenderer, url: str, *, js_chains: Sequence[str] = (),
                      dom_queries: Mapping[str, Sequence[str]] | None = None) -> BrowserMeasurement:
    """One rendering per scan, shared by the steps that need it (`shared` is the scan's ScanContext.shared).
    The first caller's queries are the ones evaluated, so the technology step (which runs first) asks."""
    task: asyncio.Task[BrowserMeasurement] | None = shared.get("browser")
    if task is None:
        task = asyncio.ensure_future(renderer.render(url, js_chains=js_chains, dom_queries=dom_queries))
        shared["browser"] = task
    return await task

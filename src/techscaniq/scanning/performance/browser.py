"""Browser mode: load the page in headless Chromium (Debian's `chromium`, driven by Playwright) and read
navigation timing and Core Web Vitals from the page's own Performance API.

Chromium fetches subresources itself, outside the fetcher's address guard, so every request it makes
is checked here against the same guard before it leaves (unless private targets are allowed).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from techscaniq.scanning.address_guard import blocked_reason


class BrowserUnavailableError(Exception):
    """Browser mode could not measure: Playwright or Chromium missing, or the page did not load."""


@dataclass
class BrowserMeasurement:
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


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

_METRIC_NAMES = {
    "fcp": "fcp_ms", "lcp": "lcp_ms", "cls": "cls", "tbt": "tbt_ms", "ttfb": "browser_ttfb_ms",
    "domInteractive": "dom_interactive_ms", "domContentLoaded": "dom_content_loaded_ms", "load": "load_event_ms",
}


async def _blocked(url: str) -> str | None:
    """Why the browser may not request `url` (its host resolves to a guarded address), or None."""
    host = urlsplit(url).hostname
    if not host:
        return None
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return None  # the browser will fail to resolve it too
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if reason := blocked_reason(address):
            return f"{host} resolves to {reason}"
    return None


async def measure_in_browser(url: str, *, executable_path: str = "/usr/bin/chromium", timeout_seconds: float = 30.0,
                             allow_private_targets: bool = False, ignore_https_errors: bool = False,
                             settle_seconds: float = 0.5) -> BrowserMeasurement:
    """Load `url` once in a fresh headless Chromium and return its navigation timing and web vitals."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import Route, async_playwright
    except ImportError:
        raise BrowserUnavailableError("browser mode needs the 'playwright' package (pip install playwright)") from None
    if not os.access(executable_path, os.X_OK):
        raise BrowserUnavailableError(f"Chromium not found at {executable_path} (apt-get install chromium)")
    requests: list[str] = []
    blocked: list[str] = []
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable_path, headless=True, timeout=timeout_seconds * 1000,
                args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
            )
            try:
                context = await browser.new_context(ignore_https_errors=ignore_https_errors)
                page = await context.new_page()
                page.on("request", lambda request: requests.append(request.url))
                if not allow_private_targets:
                    async def guard(route: Route) -> None:
                        if reason := await _blocked(route.request.url):
                            blocked.append(f"{route.request.url[:300]}: {reason}")
                            await route.abort("blockedbyclient")
                        else:
                            await route.continue_()

                    await page.route("**/*", guard)
                await page.add_init_script(_OBSERVERS)
                response = await page.goto(url, wait_until="load", timeout=timeout_seconds * 1000)
                await page.wait_for_timeout(settle_seconds * 1000)  # let LCP and late layout shifts land
                figures: dict[str, Any] = await page.evaluate(_COLLECT)
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
               "blocked_requests": blocked[:50], "resource_entries": figures.get("resourceEntries")}
    return BrowserMeasurement(metrics=metrics, details=details)

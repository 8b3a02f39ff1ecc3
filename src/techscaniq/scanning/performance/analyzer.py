"""The performance step of a scan: timings and sizes of the page fetch, referenced resources, and
(per config) full-page weight and a headless-browser measurement."""

from __future__ import annotations

from typing import Any

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.performance import PerformanceReport
from techscaniq.egress.address_guard import AddressPolicy
from techscaniq.scanning.analysis import ScanContext
from techscaniq.scanning.browser import BrowserRenderer, BrowserUnavailableError, render_once
from techscaniq.scanning.performance.fetch_metrics import (
    caching_details,
    compression_details,
    fetch_metrics,
    redirect_chain,
)
from techscaniq.scanning.performance.page_weight import measure_page_weight
from techscaniq.scanning.performance.resources import count_metrics, page_resources
from techscaniq.scanning.script_bodies import keep_script_body


class PerformanceAnalyzer:
    """Fills `ctx.result.performance`.

    `resource_concurrency`: resource fetches in flight in full-page mode; `max_resources`: resources
    fetched at most per page; `full_page_deadline_seconds`: time allowed for the resource phase;
    `browser_executable`: the Chromium binary for browser mode; `allow_private_targets`: whether the
    browser may load resources from private addresses (mirrors the fetcher's address guard);
    `browser_concurrency`: Chromium instances running at once (each takes a few hundred MB).
    """

    name = "performance"

    def __init__(self, *, resource_concurrency: int = 6, max_resources: int = 200,
                 full_page_deadline_seconds: float = 30.0, browser_executable: str = "/usr/bin/chromium",
                 allow_private_targets: bool = False, browser_timeout_seconds: float = 30.0,
                 ignore_https_errors: bool = False, browser_concurrency: int = 2,
                 renderer: BrowserRenderer | None = None) -> None:
        self.resource_concurrency = resource_concurrency
        self.max_resources = max_resources
        self.full_page_deadline_seconds = full_page_deadline_seconds
        # One renderer per deployment, shared with the technology step (one Chromium run per scan).
        self.renderer = renderer or BrowserRenderer(
            executable_path=browser_executable, timeout_seconds=browser_timeout_seconds,
            policy=AddressPolicy(allow_private=allow_private_targets), ignore_https_errors=ignore_https_errors,
            concurrency=browser_concurrency,
        )

    def enabled(self, scan_config: ScanConfig) -> bool:
        return scan_config.performance

    async def analyze(self, ctx: ScanContext) -> None:
        fetch = ctx.fetch
        page_url = fetch.final_url or ctx.url
        metrics = fetch_metrics(fetch)
        details: dict[str, Any] = {
            "http_version": fetch.http_version,
            "status_code": fetch.status_code,
            "compression": compression_details(fetch),
            "caching": caching_details(fetch),
            "redirects": redirect_chain(fetch),
            "timings": fetch.timings.model_dump(),
        }
        resources = page_resources(ctx.document, page_url)
        metrics.update(count_metrics(resources, page_url))
        errors: dict[str, str] = {}

        if ctx.scan_config.full_page and ctx.fetcher is None:
            errors["full_page"] = "no fetcher in the scan context: resources not fetched"
        if ctx.scan_config.full_page and ctx.fetcher is not None and fetch.ok:
            fetcher = ctx.fetcher
            timeout = ctx.scan_config.timeout_seconds

            script_urls = {resource.url for resource in resources if resource.kind == "script"}

            async def fetch_resource(url: str) -> FetchResult:
                result: FetchResult = await fetcher.fetch(url, timeout=timeout)
                if url in script_urls:  # the security step's library extractors read them too
                    keep_script_body(ctx.shared, url, result)
                return result

            weight = await measure_page_weight(
                resources, fetch_resource, concurrency=self.resource_concurrency, max_resources=self.max_resources,
                deadline_seconds=self.full_page_deadline_seconds)
            metrics["page_weight_bytes"] = float(fetch.transfer_bytes + weight.transfer_bytes)
            metrics["page_decoded_bytes"] = float(fetch.decoded_bytes + weight.decoded_bytes)
            # The document first, then its resources: a waterfall with bounded parallelism.
            metrics["full_load_ms"] = round((fetch.timings.total_ms or 0.0) + weight.elapsed_ms, 3)
            metrics["resources_fetched"] = float(weight.fetched)
            metrics["resources_failed"] = float(len(weight.failed))
            for kind, size in weight.by_kind.items():
                metrics[f"{kind}_bytes"] = float(size)
            if weight.discovered:
                metrics["font_count"] += sum(1 for item in weight.discovered if item.kind == "font")
                metrics["stylesheet_count"] += sum(1 for item in weight.discovered if item.kind == "stylesheet")
                metrics["resource_count"] += len(weight.discovered)
            details["page_weight"] = {
                "failed": weight.failed[:50], "skipped": weight.skipped, "largest": weight.largest,
                "concurrency": self.resource_concurrency,
            }

        if ctx.scan_config.browser:
            try:
                measured = await render_once(ctx.shared, self.renderer, page_url)
            except BrowserUnavailableError as exc:
                errors["browser"] = str(exc)
                ctx.result.analysis_errors["performance.browser"] = str(exc)
            else:
                metrics.update(measured.metrics)
                details["browser"] = measured.details

        if errors:
            details["errors"] = errors
        ctx.result.performance = PerformanceReport(metrics=metrics, details=details)

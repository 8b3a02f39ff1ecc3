"""The performance step against real local sites: timing figures, sizes, caching, resources, page weight."""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import urlsplit

import pytest
from tests.analysis.conftest import ContextFactory
from tests.support.testsite import LocalSite

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.performance import PerformanceReport
from techscaniq.scanning.analysis import Analyzer
from techscaniq.scanning.performance import PerformanceAnalyzer
from techscaniq.scanning.performance.page_weight import measure_page_weight
from techscaniq.scanning.performance.resources import Resource

CHROMIUM = "/usr/bin/chromium"
DELAY = 0.2
# Stated tolerance: our time to first byte and a reference client's agree within 50 ms on loopback.
TOLERANCE_MS = 50.0


async def analyze(scan_context: ContextFactory, url: str, analyzer: PerformanceAnalyzer | None = None,
                  **config: object) -> tuple[PerformanceReport, dict[str, str]]:
    ctx = await scan_context(url, **config)
    await (analyzer or PerformanceAnalyzer()).analyze(ctx)
    assert ctx.result.performance is not None
    return ctx.result.performance, ctx.result.analysis_errors


async def reference_ttfb_ms(url: str) -> float:
    """A bare asyncio socket client: connect, send a GET, time until the first response byte."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    started = time.perf_counter()
    writer.write(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    await reader.readexactly(1)
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    return elapsed


def test_is_an_analyzer_enabled_by_the_performance_flag() -> None:
    analyzer = PerformanceAnalyzer()
    assert isinstance(analyzer, Analyzer) and analyzer.name == "performance"
    assert analyzer.enabled(ScanConfig()) and not analyzer.enabled(ScanConfig(performance=False))


async def test_ttfb_of_a_delayed_server_matches_a_reference_client(local_site: LocalSite,
                                                                   scan_context: ContextFactory) -> None:
    local_site.route("/slow", body="<html>late</html>", delay=DELAY)
    report, _ = await analyze(scan_context, local_site.url("/slow"))
    reference = await reference_ttfb_ms(local_site.url("/slow"))
    ttfb = report.metrics["ttfb_ms"]
    assert DELAY * 1000 <= ttfb < DELAY * 1000 + 150
    assert abs(ttfb - reference) <= TOLERANCE_MS, (ttfb, reference)
    assert report.metrics["load_time_ms"] >= ttfb
    # The metrics carry the fetch's own figures, phase by phase.
    timings = report.details["timings"]
    for metric, phase in (("dns_ms", "dns_ms"), ("connect_ms", "connect_ms"), ("ttfb_ms", "ttfb_ms"),
                          ("download_ms", "download_ms"), ("load_time_ms", "total_ms")):
        if timings[phase] is not None:
            assert report.metrics[metric] == pytest.approx(timings[phase], abs=0.001)


async def test_sizes_compression_and_caching(local_site: LocalSite, scan_context: ContextFactory) -> None:
    local_site.route("/", body="<html>" + "compress me " * 2000 + "</html>", gzip=True, headers=[
        ("Cache-Control", "public, max-age=600"), ("ETag", '"v1"'), ("Age", "42"),
        ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")])
    report, _ = await analyze(scan_context, local_site.url("/"))
    metrics, details = report.metrics, report.details
    assert metrics["decoded_bytes"] == len("<html>" + "compress me " * 2000 + "</html>")
    assert metrics["transfer_bytes"] < metrics["decoded_bytes"] / 10
    assert metrics["compression_ratio"] > 10
    assert details["compression"]["content_encoding"] == "gzip" and not details["compression"]["missed_compression"]
    caching = details["caching"]
    assert (caching["max_age"], caching["etag"], caching["age"], caching["cacheable"]) == (600, '"v1"', 42, True)
    assert caching["directives"] == {"public": True, "max-age": "600"}


async def test_uncompressed_text_is_flagged_and_redirects_counted(local_site: LocalSite,
                                                                  scan_context: ContextFactory) -> None:
    local_site.redirect("/old", "/new", status=301)
    local_site.route("/new", body="<html>" + "x" * 5000 + "</html>", headers=[("Cache-Control", "no-store")])
    report, _ = await analyze(scan_context, local_site.url("/old"))
    assert report.metrics["redirect_count"] == 1
    assert report.details["redirects"][0]["status_code"] == 301
    assert report.details["compression"]["missed_compression"] is True
    assert report.details["caching"]["cacheable"] is False


PAGE = """<html><head>
<base href="/assets/">
<link rel="stylesheet" href="site.css"><link rel="stylesheet" href="https://cdn.other.net/x.css">
<link rel="preload" as="font" href="/fonts/a.woff2" crossorigin><link rel="icon" href="/favicon.ico">
<style>@font-face { font-family: B; src: url('/fonts/b.woff2') format('woff2'); }</style>
<script src="app.js"></script><script src="app.js"></script><script>inline()</script>
</head><body>
<img src="/img/1.png"><img src="/img/missing.png"><img src="data:image/png;base64,AAAA">
<video poster="/img/poster.jpg"><source src="/media/clip.mp4"></video>
<iframe src="https://video.other.net/embed"></iframe><a href="/not-a-resource">x</a>
</body></html>"""


async def test_referenced_resources_are_counted(local_site: LocalSite, scan_context: ContextFactory) -> None:
    local_site.route("/", body=PAGE)
    report, _ = await analyze(scan_context, local_site.url("/"))
    counts = {name: report.metrics[f"{name}_count"] for name in
              ("script", "stylesheet", "image", "font", "media", "iframe", "resource", "third_party_resource")}
    assert counts == {"script": 1, "stylesheet": 2, "image": 4, "font": 2, "media": 1, "iframe": 1, "resource": 11,
                      "third_party_resource": 2}
    assert "page_weight_bytes" not in report.metrics  # only measured with full_page


async def test_full_page_weight_and_load_time(local_site: LocalSite, scan_context: ContextFactory) -> None:
    local_site.route("/", body=PAGE.replace("https://cdn.other.net/x.css", "/other.css").replace(
        "https://video.other.net/embed", "/frame.html"))
    local_site.route("/assets/site.css", body="@import url('/extra.css'); body{}", content_type="text/css")
    local_site.route("/extra.css", body="@font-face{src:url(/fonts/c.woff2)}", content_type="text/css")
    local_site.route("/other.css", body="p{}", content_type="text/css")
    local_site.route("/assets/app.js", body="x" * 3000, content_type="text/javascript", delay=0.1)
    for path, size in (("/fonts/a.woff2", 400), ("/fonts/b.woff2", 500), ("/fonts/c.woff2", 600),
                       ("/favicon.ico", 100), ("/img/1.png", 2000), ("/img/poster.jpg", 700),
                       ("/media/clip.mp4", 5000), ("/frame.html", 50)):
        local_site.route(path, body=b"\0" * size, content_type="application/octet-stream")
    ctx = await scan_context(local_site.url("/"), full_page=True)
    await PerformanceAnalyzer().analyze(ctx)
    report = ctx.result.performance
    assert report is not None
    metrics = report.metrics
    css = len("@import url('/extra.css'); body{}") + len("@font-face{src:url(/fonts/c.woff2)}") + len("p{}")
    resources = css + 3000 + 400 + 500 + 600 + 100 + 2000 + 700 + 5000 + 50
    assert metrics["page_weight_bytes"] == ctx.fetch.transfer_bytes + resources
    assert metrics["resources_fetched"] == 12 and metrics["resources_failed"] == 1  # /img/missing.png is a 404
    assert report.details["page_weight"]["failed"][0]["url"].endswith("/img/missing.png")
    assert metrics["font_count"] == 3 and metrics["stylesheet_count"] == 3  # found inside the stylesheets too
    assert metrics["font_bytes"] == 1500 and metrics["script_bytes"] == 3000
    assert metrics["full_load_ms"] >= metrics["load_time_ms"] + 100  # app.js answers 100 ms late
    assert report.details["page_weight"]["largest"][0]["url"].endswith("/media/clip.mp4")


async def test_resource_fetching_is_bounded() -> None:
    in_flight = peak = 0

    async def fetch(url: str) -> FetchResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return FetchResult(url=url, status_code=200, transfer_bytes=10, decoded_bytes=10)

    resources = [Resource(f"https://example.com/{index}.png", "image") for index in range(40)]
    weight = await measure_page_weight(resources, fetch, concurrency=3, max_resources=25)
    assert peak == 3
    assert (weight.fetched, weight.skipped, weight.transfer_bytes) == (25, 15, 250)


async def test_resource_phase_has_a_deadline() -> None:
    async def never(url: str) -> FetchResult:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    started = time.perf_counter()
    weight = await measure_page_weight([Resource("https://example.com/a.js", "script")], never, deadline_seconds=0.1)
    assert time.perf_counter() - started < 1 and weight.skipped == 1 and weight.fetched == 0


async def test_browser_mode_degrades_when_chromium_is_missing(local_site: LocalSite,
                                                             scan_context: ContextFactory) -> None:
    local_site.route("/", body="<html></html>")
    analyzer = PerformanceAnalyzer(browser_executable="/nonexistent/chromium")
    report, errors = await analyze(scan_context, local_site.url("/"), analyzer, browser=True)
    assert "Chromium not found" in errors["performance.browser"]
    assert "ttfb_ms" in report.metrics and "fcp_ms" not in report.metrics


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (apt-get install chromium)")
async def test_browser_mode_measures_web_vitals(local_site: LocalSite, scan_context: ContextFactory) -> None:
    local_site.route("/", body="<html><head><link rel=stylesheet href=/s.css></head><body><h1>Hello</h1>"
                               "<img src=/i.png></body></html>", delay=0.05)
    local_site.route("/s.css", body="h1{color:red}", content_type="text/css", delay=0.1)
    local_site.route("/i.png", body=b"\x89PNG", content_type="image/png")
    analyzer = PerformanceAnalyzer(allow_private_targets=True)
    report, errors = await analyze(scan_context, local_site.url("/"), analyzer, browser=True)
    metrics = report.metrics
    assert errors == {}
    assert metrics["browser_request_count"] == 3
    assert metrics["fcp_ms"] >= metrics["browser_ttfb_ms"] >= 50  # the page answers 50 ms late
    assert metrics["load_event_ms"] >= metrics["dom_content_loaded_ms"] >= metrics["browser_ttfb_ms"]
    assert metrics["load_event_ms"] >= 150  # the load event waits for the stylesheet, 100 ms later still
    assert metrics["cls"] == 0 and metrics["tbt_ms"] >= 0 and metrics["lcp_ms"] >= metrics["fcp_ms"]


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium (apt-get install chromium)")
async def test_browser_requests_obey_the_address_guard(local_site: LocalSite, scan_context: ContextFactory) -> None:
    local_site.route("/", body="<html></html>")
    report, errors = await analyze(scan_context, local_site.url("/"), PerformanceAnalyzer(), browser=True)
    assert "loopback address" in errors["performance.browser"]  # 127.0.0.1
    assert "ttfb_ms" in report.metrics


async def test_hostile_page_is_cut_not_choked_on(local_site: LocalSite, scan_context: ContextFactory) -> None:
    body = "<html>" + '<img src="/i{}.png">' * 100_000 + "<style>" + "@font-face{src:url(/f.woff)}" * 20_000
    local_site.route("/", body=body.replace("{}", "") + "</style></html>")
    # CPU seconds of this process, not wall-clock: other processes on a loaded machine do not count, while an
    # uncut parse (minutes of CPU for 120,000 references) still fails by a wide margin.
    started = time.process_time()
    report, _ = await analyze(scan_context, local_site.url("/"))
    assert time.process_time() - started < 5
    assert report.metrics["image_count"] == 1 and report.metrics["font_count"] == 1  # deduplicated


def test_metric_aliases_of_the_guide() -> None:
    report = PerformanceReport(metrics={"load_time_ms": 812.0, "ttfb_ms": 95.5, "transfer_bytes": 2048.0})
    assert (report.metric("load_time"), report.metric("ttfb"), report.metric("size")) == (812.0, 95.5, 2048.0)
    assert report.metric("fcp") is None

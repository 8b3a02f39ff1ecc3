"""Scheduling benchmark (embedded mode): N configs on one-minute intervals against local sites.

    .venv/bin/python -m bench.bench_scheduler [--configs 1000] [--minutes 3] [--sites 20]

Reports scheduling lag (scan start minus due time) p50/p99 and scans per second, next to a
reference measured in the same run: a bare httpx client fetching the same URLs at the same
concurrency (the ceiling for fetch alone on this machine). Pages come from ../shared/corpus/pages
when present (real HTML), otherwise a synthetic 40 KB page."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.support.testsite import LocalSite

from techscaniq.settings import Settings
from techscaniq.system import MonitoringSystem

# ../shared of a checkout, or TECHSCANIQ_SHARED (a worktree's parent has none)
SHARED = Path(os.environ.get("TECHSCANIQ_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
CORPUS = SHARED / "corpus" / "pages"


def load_pages(count: int) -> list[str]:
    files = sorted(CORPUS.glob("*/*.html.gz"))[:count] if CORPUS.is_dir() else []
    pages = [gzip.decompress(f.read_bytes()).decode("utf-8", "replace") for f in files]
    while len(pages) < count:
        pages.append(
            "<html><head><title>synthetic</title></head><body>" + "<p>lorem ipsum</p>" * 2200 + "</body></html>"
        )
    return pages


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def reference_fetch(urls: list[str], concurrency: int) -> float:
    """Fetches per second of a bare httpx client over the same URLs."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(url: str) -> None:
            async with limit:
                (await client.get(url)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(url) for url in urls))
        return len(urls) / (time.perf_counter() - started)


async def main(configs: int, minutes: float, site_count: int, concurrency: int) -> None:
    pages = load_pages(site_count)
    sites = [await LocalSite().start() for _ in range(site_count)]
    for site, page in zip(sites, pages, strict=True):
        site.route("/", body=page)
    urls = [sites[i % site_count].url("/") + f"?c={i}" for i in range(configs)]
    reference = await reference_fetch(urls, concurrency)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=None,
            kafka_servers=None,
            redis_url=None,
            metrics_database_url=None,
            data_dir=Path(tmp) / "data",
            log_dir=Path(tmp) / "logs",
            log_file=Path(tmp) / "m.log",
            allow_private_targets=True,
            scan_concurrency=concurrency,
            per_host_concurrency=concurrency,
            log_level="WARNING",
        )
        system = MonitoringSystem(settings, serve_http=False)
        await system.start()
        for i, url in enumerate(urls):
            await system.add_monitoring_config(
                {
                    "organization_id": f"org-{i % 50}",
                    "name": f"site {i}",
                    "url": url,
                    "schedule": {"type": "interval", "expression": "60s"},
                }
            )
        started = time.perf_counter()
        await asyncio.sleep(minutes * 60)
        elapsed = time.perf_counter() - started
        scans = await system.storage.scans.find(limit=10**7)
        await system.stop()
    for site in sites:
        await site.close()

    lags = [(s.started_at - s.scheduled_for).total_seconds() for s in scans if s.scheduled_for]
    first_minute = min(s.started_at for s in scans)
    steady = [
        (s.started_at - s.scheduled_for).total_seconds()
        for s in scans
        if s.scheduled_for and (s.started_at - first_minute).total_seconds() > 60
    ]
    failed = sum(1 for s in scans if not s.succeeded)
    durations = [s.duration_ms or 0 for s in scans]
    expected = configs * (1 + int(minutes))
    print(f"configs={configs} minutes={minutes} sites={site_count} concurrency={concurrency}")
    print(f"scans stored={len(scans)} (expected about {expected}), failed={failed}")
    print(f"scan throughput over the run: {len(scans) / elapsed:.1f} scans/s (needed: {configs / 60:.1f}/s)")
    print(f"reference bare-httpx fetch rate: {reference:.1f} fetches/s")
    burst = configs / max(lags) if lags and max(lags) > 0 else float("nan")
    print(f"burst drain rate (configs / worst lag): {burst:.1f} scans/s = {burst / reference:.2f}x reference")
    print(f"lag all: p50 {percentile(lags, 0.5):.3f}s p99 {percentile(lags, 0.99):.3f}s max {max(lags):.3f}s")
    if steady:
        print(f"lag after the first minute: p50 {percentile(steady, 0.5):.3f}s p99 {percentile(steady, 0.99):.3f}s")
    print(f"scan duration: mean {statistics.mean(durations):.1f} ms p99 {percentile(durations, 0.99):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.configs, args.minutes, args.sites, args.concurrency))

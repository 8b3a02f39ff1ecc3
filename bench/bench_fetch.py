"""Fetch benchmark: what the Fetcher's guard, timing and limits cost, against plain httpx in the same run.

    .venv/bin/python -m bench.bench_fetch [--fetches 400] [--concurrency 20] [--repeat 3]

Local sites (HTTP and HTTPS with a test CA) serve real pages from ../shared/corpus/pages when present,
otherwise a synthetic 40 KB page, gzip-compressed like most real sites. Reported:
- fetches per second (median of --repeat interleaved runs) for the Fetcher (a fresh connection per
  fetch, as every scan measures a cold connection) next to httpx with keep-alive off (also a fresh
  connection each time: the fair reference) and httpx with keep-alive on (the usual ceiling);
- a decompression bomb (100 KB on the wire, 200 MB decoded): peak memory and time until the Fetcher
  gives up, next to httpx reading it whole.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite, gzip_bomb

from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "pages"


def load_pages(count: int) -> list[bytes]:
    files = sorted(CORPUS.glob("*/*.html.gz"))[:count] if CORPUS.is_dir() else []
    pages = [gzip.decompress(f.read_bytes()) for f in files]
    return pages or [b"<html><body>" + b"<p>lorem ipsum dolor sit amet</p>" * 1200 + b"</body></html>"]


async def rate(fetches: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def limited(index: int) -> None:
        async with limit:
            await one(index)

    started = time.perf_counter()
    await asyncio.gather(*(limited(index) for index in range(fetches)))
    return fetches / (time.perf_counter() - started)


async def throughput(
    site: LocalSite, paths: list[str], ca: TestCA, fetches: int, concurrency: int, repeat: int
) -> None:
    settings = Settings(_env_file=None, allow_private_targets=True, scan_concurrency=concurrency,  # type: ignore[call-arg]
                        per_host_concurrency=concurrency, extra_ca_bundle=ca.pem_path)
    fetcher = Fetcher(settings)
    verify = str(ca.pem_path)

    async def ours(index: int) -> None:
        result = await fetcher.fetch(site.url(paths[index % len(paths)]))
        assert result.ok, result.error

    cold_client = httpx.AsyncClient(verify=verify, limits=httpx.Limits(max_keepalive_connections=0))
    warm_client = httpx.AsyncClient(verify=verify, limits=httpx.Limits(max_connections=concurrency))

    def plain(client: httpx.AsyncClient) -> Callable[[int], Awaitable[None]]:
        async def one(index: int) -> None:
            (await client.get(site.url(paths[index % len(paths)]))).raise_for_status()
        return one

    await rate(concurrency, concurrency, ours)  # warm-up (imports, first handshakes)
    runs: dict[str, list[float]] = {"ours": [], "cold": [], "warm": []}
    for _ in range(repeat):  # interleaved, so a burst of load elsewhere on the machine hits all three alike
        runs["ours"].append(await rate(fetches, concurrency, ours))
        runs["cold"].append(await rate(fetches, concurrency, plain(cold_client)))
        runs["warm"].append(await rate(fetches, concurrency, plain(warm_client)))
    fetcher_rate, cold_rate, warm_rate = (statistics.median(runs[key]) for key in ("ours", "cold", "warm"))
    await cold_client.aclose()
    await warm_client.aclose()
    scheme = "https" if site.tls else "http"
    print(f"{scheme:5} Fetcher {fetcher_rate:7.0f}/s | httpx fresh connection {cold_rate:7.0f}/s "
          f"(ratio {fetcher_rate / cold_rate:.2f}) | httpx keep-alive {warm_rate:7.0f}/s "
          f"(ratio {fetcher_rate / warm_rate:.2f})")


async def measure_memory(action: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    await action()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6, elapsed


async def bomb(site: LocalSite) -> None:
    site.route("/bomb", body=gzip_bomb(200_000_000), headers=[("Content-Encoding", "gzip")])
    fetcher = Fetcher(Settings(_env_file=None, allow_private_targets=True))  # type: ignore[call-arg]

    async def plain() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            await client.get(site.url("/bomb"))

    await report_bomb(lambda: fetcher.fetch(site.url("/bomb")), plain)


async def report_bomb(ours: Callable[[], Awaitable[object]], plain: Callable[[], Awaitable[object]]) -> None:
    """Peak memory and time of the Fetcher and of plain httpx reading the same decompression bomb."""
    ours_mb, ours_s = await measure_memory(ours)
    plain_mb, plain_s = await measure_memory(plain)
    print(f"bomb  Fetcher peak {ours_mb:6.1f} MB in {ours_s * 1000:5.0f} ms (stops at the 20 MB decoded limit) | "
          f"httpx peak {plain_mb:6.1f} MB in {plain_s * 1000:5.0f} ms (ratio {ours_mb / plain_mb:.3f})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fetches", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    args = parser.parse_args()
    pages = load_pages(50)
    print(f"{len(pages)} pages, mean {sum(map(len, pages)) / len(pages) / 1000:.0f} KB, gzip on the wire; "
          f"{args.fetches} fetches at concurrency {args.concurrency}")
    ca = TestCA()
    async with LocalSite() as plain_site, LocalSite(tls=ca) as tls_site:
        paths = []
        for index, page in enumerate(pages):
            for site in (plain_site, tls_site):
                site.route(f"/{index}", body=gzip.compress(page), headers=[("Content-Encoding", "gzip")])
            paths.append(f"/{index}")
        await throughput(plain_site, paths, ca, args.fetches, args.concurrency, args.repeat)
        await throughput(tls_site, paths, ca, args.fetches, args.concurrency, args.repeat)
        await bomb(plain_site)


if __name__ == "__main__":
    asyncio.run(main())

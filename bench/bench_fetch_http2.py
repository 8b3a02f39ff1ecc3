"""HTTP/2 + brotli fetch benchmark: the Fetcher over h2 against httpx over h2 in the same run.

    .venv/bin/python -m bench.bench_fetch_http2 [--fetches 200] [--concurrency 20] [--repeat 3]

One hypercorn site over TLS (test CA) offering h2 by ALPN, and the same server offering only http/1.1,
serve real pages from ../shared/corpus/pages when present (else a synthetic 40 KB page), brotli-compressed.
Reported (median of --repeat interleaved runs): fetches per second for the Fetcher (fresh connection per
fetch) over h2 and over HTTP/1.1, next to httpx with http2=True and a fresh connection per fetch (the fair
reference) and one pooled client multiplexing over kept-alive connections (the usual ceiling); then a
brotli bomb (about 150 bytes -> 200 MB): peak memory and time until the Fetcher gives up, next to httpx
reading it whole.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
from collections.abc import Awaitable, Callable

import brotli
import httpx
from tests.support.certificates import TestCA
from tests.support.h2site import H2Site

from bench.bench_fetch import load_pages, rate, report_bomb
from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings


def fetcher_for(ca: TestCA, concurrency: int) -> Fetcher:
    return Fetcher(Settings(_env_file=None, allow_private_targets=True, scan_concurrency=concurrency,  # type: ignore[call-arg]
                            per_host_concurrency=concurrency, extra_ca_bundle=ca.pem_path))


async def throughput(h2: H2Site, h1: H2Site, paths: list[str], ca: TestCA, fetches: int, concurrency: int,
                     repeat: int) -> None:
    fetcher = fetcher_for(ca, concurrency)

    def ours(site: H2Site, version: str) -> Callable[[int], Awaitable[None]]:
        async def one(index: int) -> None:
            result = await fetcher.fetch(site.url(paths[index % len(paths)]))
            assert result.ok and result.http_version == version and result.content_encoding == "br", result.error
        return one

    trust = ssl.create_default_context(cafile=str(ca.pem_path))
    warm = httpx.AsyncClient(verify=trust, http2=True, limits=httpx.Limits(max_connections=concurrency))

    async def check(client: httpx.AsyncClient, index: int) -> None:
        response = await client.get(h2.url(paths[index % len(paths)]))
        assert response.http_version == "HTTP/2" and response.content

    async def cold(index: int) -> None:
        # A client per fetch: over h2 one pooled client would multiplex concurrent fetches onto shared
        # connections even with keep-alive off, so it would not be a fresh connection per fetch.
        async with httpx.AsyncClient(verify=trust, http2=True) as client:
            await check(client, index)

    async def pooled(index: int) -> None:
        await check(warm, index)

    await rate(concurrency, concurrency, ours(h2, "HTTP/2"))  # warm-up
    runners = {"ours_h2": ours(h2, "HTTP/2"), "ours_h1": ours(h1, "HTTP/1.1"), "cold": cold, "warm": pooled}
    runs: dict[str, list[float]] = {key: [] for key in runners}
    for _ in range(repeat):  # interleaved, so load elsewhere on the machine hits all alike
        for key, runner in runners.items():
            runs[key].append(await rate(fetches, concurrency, runner))
    median = {key: statistics.median(values) for key, values in runs.items()}
    await warm.aclose()
    print(f"h2    Fetcher {median['ours_h2']:6.0f}/s | httpx h2 fresh connection {median['cold']:6.0f}/s "
          f"(ratio {median['ours_h2'] / median['cold']:.2f}) | httpx h2 pooled {median['warm']:6.0f}/s "
          f"(ratio {median['ours_h2'] / median['warm']:.2f})")
    print(f"h1    Fetcher over HTTP/1.1 on the same server {median['ours_h1']:6.0f}/s "
          f"(h2/h1 ratio {median['ours_h2'] / median['ours_h1']:.2f})")


async def bomb(site: H2Site, ca: TestCA) -> None:
    packed = bytes(brotli.compress(bytes(200_000_000), quality=5))
    site.route("/bomb", body=packed, headers=[("content-encoding", "br")])
    fetcher = fetcher_for(ca, 1)

    async def plain() -> None:
        async with httpx.AsyncClient(verify=str(ca.pem_path), http2=True, timeout=60) as client:
            await client.get(site.url("/bomb"))

    await report_bomb(lambda: fetcher.fetch(site.url("/bomb")), plain)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fetches", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    args = parser.parse_args()
    pages = load_pages(50)
    print(f"{len(pages)} pages, mean {sum(map(len, pages)) / len(pages) / 1000:.0f} KB, brotli on the wire; "
          f"{args.fetches} fetches at concurrency {args.concurrency}")
    ca = TestCA()
    async with H2Site(ca) as h2, H2Site(ca, alpn=("http/1.1",)) as h1:
        paths = []
        for index, page in enumerate(pages):
            packed = bytes(brotli.compress(page, quality=9))
            for site in (h2, h1):
                site.route(f"/{index}", body=packed, headers=[("content-encoding", "br")])
            paths.append(f"/{index}")
        await throughput(h2, h1, paths, ca, args.fetches, args.concurrency, args.repeat)
        await bomb(h2, ca)


if __name__ == "__main__":
    asyncio.run(main())

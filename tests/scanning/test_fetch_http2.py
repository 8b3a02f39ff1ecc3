"""HTTP/2 (negotiated by ALPN) and brotli, against real loopback servers: hypercorn over TLS for h2
(tests/support/h2site.py) and the HTTP/1.1 LocalSite. What the fetcher guarantees over HTTP/1.1 must hold
over HTTP/2 too: timings, redirects, the size and decompression limits, TLS facts, the address guard."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import brotli
import pytest
from tests.support.certificates import TestCA
from tests.support.h2site import H2Site
from tests.support.testsite import LocalSite

from techscaniq.domain.fetch import FetchErrorCode
from techscaniq.scanning.decoding import ACCEPT_ENCODING
from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings


@pytest.fixture
async def h2_site(test_ca: TestCA) -> AsyncIterator[H2Site]:
    async with H2Site(test_ca) as site:
        yield site


def brotli_bomb(decoded_size: int) -> bytes:
    """A few hundred bytes of brotli that decode to `decoded_size` zero bytes."""
    return bytes(brotli.compress(bytes(decoded_size), quality=5))


async def test_https_site_offering_h2_is_fetched_over_http2_with_its_timings(
    tls_settings: Settings, h2_site: H2Site
) -> None:
    h2_site.route("/", body=b"a" * 4000, delay=0.2, chunk_size=1000, chunk_delay=0.05,
                  headers=[("content-type", "text/html; charset=utf-8"), ("set-cookie", "a=1"), ("set-cookie", "b=2")])

    result = await Fetcher(tls_settings).fetch(h2_site.url("/"))

    assert result.ok and result.http_version == "HTTP/2" and result.body == b"a" * 4000
    assert [request.http_version for request in h2_site.requests] == ["2"]
    assert result.header_values("set-cookie") == ["a=1", "b=2"]
    timings = result.timings
    assert timings.dns_ms is not None and timings.connect_ms is not None and timings.connect_ms > 0
    assert timings.tls_ms is not None and timings.tls_ms > 0
    assert timings.ttfb_ms is not None and 195 <= timings.ttfb_ms <= 350  # the site waits 200 ms
    assert timings.download_ms is not None and 140 <= timings.download_ms <= 400  # three 50 ms pauses
    assert timings.total_ms is not None
    assert timings.total_ms >= timings.connect_ms + timings.tls_ms + timings.ttfb_ms + timings.download_ms
    assert result.tls is not None and result.tls.verified and result.tls.issuer_organization == "TechScanIQ Test CA"
    assert result.remote_ip == "127.0.0.1"


async def test_tls_site_without_h2_falls_back_to_http11(tls_settings: Settings, test_ca: TestCA) -> None:
    async with H2Site(test_ca, alpn=("http/1.1",)) as site:
        site.route("/", body=b"old school")
        result = await Fetcher(tls_settings).fetch(site.url("/"))
        assert result.ok and result.text == "old school" and result.http_version == "HTTP/1.1"
        assert [request.http_version for request in site.requests] == ["1.1"]


async def test_redirect_chain_over_h2_and_on_to_an_http11_site(
    tls_settings: Settings, h2_site: H2Site, local_site: LocalSite
) -> None:
    h2_site.route("/old", status=301, headers=[("location", "/middle")])
    h2_site.route("/middle", status=307, headers=[("location", h2_site.url("/moved", host="localhost"))])
    h2_site.route("/moved", status=302, headers=[("location", local_site.url("/new"))])
    local_site.route("/new", body="arrived")

    result = await Fetcher(tls_settings).fetch(h2_site.url("/old"))

    assert result.ok and result.text == "arrived" and result.http_version == "HTTP/1.1"
    assert [(hop.url, hop.status_code) for hop in result.redirects] == [
        (h2_site.url("/old"), 301), (h2_site.url("/middle"), 307), (h2_site.url("/moved", host="localhost"), 302)
    ]
    assert [(request.http_version, request.path) for request in h2_site.requests] == [
        ("2", "/old"), ("2", "/middle"), ("2", "/moved")
    ]
    assert result.timings.redirect_ms is not None and result.timings.redirect_ms > 0


async def test_same_origin_redirect_reuses_the_h2_connection_and_keeps_its_setup_timings(
    tls_settings: Settings, h2_site: H2Site
) -> None:
    h2_site.route("/", status=302, headers=[("location", "/en/")])
    h2_site.route("/en/", body=b"hello", delay=0.05)

    result = await Fetcher(tls_settings).fetch(h2_site.url("/"))

    assert result.ok and result.text == "hello" and result.http_version == "HTTP/2"
    assert len({request.client_port for request in h2_site.requests}) == 1  # two streams, one connection
    # The final response reports the setup of the connection it came over (as over HTTP/1.1), and its own TTFB.
    timings = result.timings
    assert timings.connect_ms is not None and timings.connect_ms > 0 and timings.tls_ms is not None
    assert timings.tls_ms > 0 and timings.ttfb_ms is not None and timings.ttfb_ms >= 45


async def test_redirect_loop_over_h2(tls_settings: Settings, h2_site: H2Site) -> None:
    h2_site.route("/a", status=302, headers=[("location", "/b")])
    h2_site.route("/b", status=302, headers=[("location", "/a")])
    result = await Fetcher(tls_settings).fetch(h2_site.url("/a"))
    assert result.error is not None and result.error.code is FetchErrorCode.REDIRECT_LOOP
    assert "/a -> " in result.error.message


async def test_endless_h2_body_is_cut_at_the_size_limit(tls_settings: Settings, h2_site: H2Site) -> None:
    h2_site.route("/huge", infinite=True)
    fetcher = Fetcher(tls_settings.model_copy(update={"max_body_bytes": 200_000}))
    started = time.perf_counter()
    result = await fetcher.fetch(h2_site.url("/huge"))
    assert result.error is not None and result.error.code is FetchErrorCode.TOO_LARGE
    assert "passed the limit of 200000 bytes on the wire" in result.error.message
    assert result.http_version == "HTTP/2" and 200_000 < result.transfer_bytes < 400_000
    assert time.perf_counter() - started < 2


async def test_declared_huge_h2_body_is_refused_before_reading(tls_settings: Settings, h2_site: H2Site) -> None:
    h2_site.route("/big", body=b"x" * 300_000)
    result = await Fetcher(tls_settings.model_copy(update={"max_body_bytes": 200_000})).fetch(h2_site.url("/big"))
    assert result.error is not None and result.error.code is FetchErrorCode.TOO_LARGE
    assert "the body is 300000 bytes; the limit is 200000 bytes" in result.error.message


async def test_brotli_is_asked_for_and_decoded_over_h2(tls_settings: Settings, h2_site: H2Site) -> None:
    page = b"<html><body>" + b"<p>brotli keeps this small</p>" * 500 + b"</body></html>"
    h2_site.route("/", body=brotli.compress(page), headers=[("content-encoding", "br")])

    result = await Fetcher(tls_settings).fetch(h2_site.url("/"))

    assert "br" in ACCEPT_ENCODING.split(", ")
    assert h2_site.requests[0].headers["accept-encoding"] == "gzip, deflate, br"
    assert result.ok and result.body == page and result.content_encoding == "br"
    assert result.decoded_bytes == len(page) and result.transfer_bytes < len(page) // 20


async def test_brotli_bomb_stops_at_the_decoded_limit(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/bomb", body=brotli_bomb(100_000_000), headers=[("Content-Encoding", "br")])
    fetcher = Fetcher(settings.model_copy(update={"max_decoded_bytes": 1_000_000}))
    started = time.perf_counter()
    result = await fetcher.fetch(local_site.url("/bomb"))
    assert result.error is not None and result.error.code is FetchErrorCode.TOO_LARGE
    assert "passed the 1000000-byte limit once br-decoded" in result.error.message
    assert result.decoded_bytes <= 1_000_000 and result.transfer_bytes < 1000  # cut off, not inflated in full
    assert time.perf_counter() - started < 1


async def test_brotli_bomb_over_h2(tls_settings: Settings, h2_site: H2Site) -> None:
    h2_site.route("/bomb", body=brotli_bomb(50_000_000), headers=[("content-encoding", "br")])
    result = await Fetcher(tls_settings.model_copy(update={"max_decoded_bytes": 500_000})).fetch(h2_site.url("/bomb"))
    assert result.error is not None and result.error.code is FetchErrorCode.TOO_LARGE
    assert "500000-byte limit once br-decoded" in result.error.message and result.http_version == "HTTP/2"


async def test_corrupt_brotli_body(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body=b"this is not brotli at all", headers=[("Content-Encoding", "br")])
    result = await Fetcher(settings).fetch(local_site.url("/"))
    assert result.error is not None and result.error.code is FetchErrorCode.INVALID_RESPONSE
    assert "br body is corrupt" in result.error.message


async def test_address_guard_refuses_an_h2_site_before_connecting(tls_settings: Settings, h2_site: H2Site) -> None:
    guarded = Fetcher(tls_settings.model_copy(update={"allow_private_targets": False}))
    result = await guarded.fetch(h2_site.url("/", host="localhost"))
    assert result.error is not None and result.error.code is FetchErrorCode.BLOCKED_ADDRESS
    assert "loopback" in result.error.message and not h2_site.requests


async def test_silent_h2_stream_hits_the_read_timeout(tls_settings: Settings, h2_site: H2Site) -> None:
    h2_site.route("/slow", body=b"late", delay=2.0)
    fetcher = Fetcher(tls_settings.model_copy(update={"read_timeout_seconds": 0.3, "total_timeout_seconds": 0.8}))
    started = time.perf_counter()
    result = await fetcher.fetch(h2_site.url("/slow"))
    assert result.error is not None and result.error.code is FetchErrorCode.TIMEOUT
    assert "sent nothing for 0.3 s" in result.error.message and time.perf_counter() - started < 0.8

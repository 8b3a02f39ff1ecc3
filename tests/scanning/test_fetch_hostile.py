"""Hostile and broken sites: each gives a failed FetchResult with the right code, a clear message and
within a bounded time, while other fetches keep working."""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.support.fixtures import SiteFactory
from tests.support.testsite import LocalSite, gzip_bomb, unaccepting_port

from techscaniq.domain.fetch import FetchErrorCode, FetchResult
from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings


@pytest.fixture
def strict(settings: Settings) -> Settings:
    """Short limits so every hostile case ends fast."""
    return settings.model_copy(
        update={
            "connect_timeout_seconds": 0.5,
            "read_timeout_seconds": 0.3,
            "total_timeout_seconds": 0.8,
            "max_body_bytes": 200_000,
            "max_decoded_bytes": 1_000_000,
        }
    )


async def timed_fetch(fetcher: Fetcher, url: str) -> tuple[FetchResult, float]:
    started = time.perf_counter()
    result = await fetcher.fetch(url)
    return result, time.perf_counter() - started


def assert_failed(result: FetchResult, code: FetchErrorCode, *words: str) -> None:
    assert result.error is not None, "expected a failed fetch"
    assert result.error.code is code, result.error
    for word in words:
        assert word in result.error.message, result.error.message


async def test_server_that_never_answers_times_out(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", hang=True)
    result, elapsed = await timed_fetch(Fetcher(strict), local_site.url("/"))
    assert_failed(result, FetchErrorCode.TIMEOUT, "sent nothing for 0.3 s")
    assert 0.25 < elapsed < 0.6


async def test_server_that_never_accepts_hits_the_connect_timeout(strict: Settings) -> None:
    with unaccepting_port() as port:
        result, elapsed = await timed_fetch(Fetcher(strict), f"http://127.0.0.1:{port}/")
    assert_failed(result, FetchErrorCode.TIMEOUT, f"connecting to 127.0.0.1:{port} took longer than 0.5 s")
    assert 0.45 < elapsed < 0.8


async def test_slow_trickle_is_cut_at_the_total_deadline(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", infinite=True, chunk_size=1, chunk_delay=0.05)  # never idle long enough for the read timeout
    result, elapsed = await timed_fetch(Fetcher(strict), local_site.url("/"))
    assert_failed(result, FetchErrorCode.TIMEOUT, "0.8 s time limit")
    assert 0.75 < elapsed < 1.2
    assert result.status_code == 200 and 0 < len(result.body) < 100  # what arrived is kept as evidence


async def test_endless_body_is_cut_at_the_size_limit(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", infinite=True, chunk_size=65536)
    result, elapsed = await timed_fetch(Fetcher(strict), local_site.url("/"))
    assert_failed(result, FetchErrorCode.TOO_LARGE, "200000 bytes")
    assert elapsed < 0.5 and result.transfer_bytes < 200_000 + 70_000


async def test_declared_huge_body_is_refused_before_reading(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body=b"x" * 300_000)
    result = await Fetcher(strict).fetch(local_site.url("/"))
    assert_failed(result, FetchErrorCode.TOO_LARGE, "300000 bytes")
    assert result.transfer_bytes == 0


async def test_decompression_bomb_stops_at_the_decoded_limit(strict: Settings, local_site: LocalSite) -> None:
    bomb = gzip_bomb(100_000_000)  # ~100 KB on the wire, 100 MB decoded
    local_site.route("/", body=bomb, headers=[("Content-Encoding", "gzip")])
    result, elapsed = await timed_fetch(Fetcher(strict), local_site.url("/"))
    assert_failed(result, FetchErrorCode.TOO_LARGE, "1000000-byte limit once gzip-decoded")
    assert elapsed < 0.5 and result.decoded_bytes <= 1_000_000


async def test_corrupt_gzip_body(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body=b"this is not gzip", headers=[("Content-Encoding", "gzip")])
    result = await Fetcher(strict).fetch(local_site.url("/"))
    assert_failed(result, FetchErrorCode.INVALID_RESPONSE, "gzip body is corrupt")


async def test_redirect_loop(strict: Settings, local_site: LocalSite) -> None:
    local_site.redirect("/a", "/b")
    local_site.redirect("/b", "/a")
    result = await Fetcher(strict).fetch(local_site.url("/a"))
    assert_failed(result, FetchErrorCode.REDIRECT_LOOP, "/a -> ", "/b -> ")
    assert len(result.redirects) == 2


async def test_malformed_response(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", raw=b"SURPRISE this is not HTTP\r\n\r\n")
    result = await Fetcher(strict).fetch(local_site.url("/"))
    assert_failed(result, FetchErrorCode.INVALID_RESPONSE, "malformed HTTP response")


async def test_endless_headers(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", raw=b"HTTP/1.1 200 OK\r\n" + b"X-Filler: yyyyyyyyyyyyyyyyyyyy\r\n" * 50_000)
    result, elapsed = await timed_fetch(Fetcher(strict), local_site.url("/"))
    assert_failed(result, FetchErrorCode.INVALID_RESPONSE, "malformed HTTP response")
    assert elapsed < 0.5


async def test_connection_closed_without_an_answer(strict: Settings, local_site: LocalSite) -> None:
    local_site.route("/", raw=b"")
    result = await Fetcher(strict).fetch(local_site.url("/"))
    assert_failed(result, FetchErrorCode.INVALID_RESPONSE, "disconnected")


async def test_refused_connection(strict: Settings, local_site: LocalSite) -> None:
    url = local_site.url("/")
    await local_site.close()  # nothing listens on that port any more
    result = await Fetcher(strict).fetch(url)
    assert_failed(result, FetchErrorCode.CONNECTION, "Connection refused")


@pytest.mark.parametrize(
    ("certificate", "reason", "hostname_match"),
    [("expired", "certificate has expired", True), ("wrong_host", "mismatch", False),
     ("self_signed", "self-signed certificate", True)],
)
async def test_invalid_certificates_fail_but_keep_the_certificate_facts(
    tls_settings: Settings, site_factory: SiteFactory, certificate: str, reason: str, hostname_match: bool
) -> None:
    site = await site_factory(tls=True, certificate=certificate)
    result = await Fetcher(tls_settings).fetch(site.url("/"))
    assert_failed(result, FetchErrorCode.TLS, reason)
    assert result.status_code is None and not site.requests  # no request is sent over an untrusted connection
    tls = result.tls
    assert tls is not None and not tls.verified and tls.error and reason in tls.error
    assert tls.hostname_match is hostname_match and tls.fingerprint_sha256 and tls.protocol
    if certificate == "expired":
        assert tls.days_to_expiry is not None and tls.days_to_expiry < 0
    if certificate == "self_signed":
        assert tls.subject == tls.issuer


async def test_untrusted_ca_without_the_extra_bundle(settings: Settings, tls_site: LocalSite) -> None:
    result = await Fetcher(settings).fetch(tls_site.url("/"))  # `settings` does not trust the test CA
    assert_failed(result, FetchErrorCode.TLS, "unable to get local issuer certificate")


@pytest.mark.parametrize(
    ("url", "words"),
    [("ftp://example.com/", "only http and https"), ("javascript:alert(1)", "only http and https"),
     ("example.com", "no scheme"), ("http://", "no host"), ("http://exa mple.com/", "not a valid URL"),
     ("http://127.0.0.1:99999/", "not a valid URL")],
)
async def test_invalid_urls(settings: Settings, url: str, words: str) -> None:
    result = await Fetcher(settings).fetch(url)
    assert_failed(result, FetchErrorCode.INVALID_URL, words)


async def test_redirect_to_a_non_http_scheme(settings: Settings, local_site: LocalSite) -> None:
    local_site.redirect("/", "file:///etc/passwd")
    result = await Fetcher(settings).fetch(local_site.url("/"))
    assert_failed(result, FetchErrorCode.INVALID_URL, "file:///etc/passwd")


async def test_loopback_is_refused_without_allow_private_targets(settings: Settings, local_site: LocalSite) -> None:
    guarded = Fetcher(settings.model_copy(update={"allow_private_targets": False}))
    for url in (local_site.url("/"), f"http://localhost:{local_site.port}/"):
        result = await guarded.fetch(url)
        assert_failed(result, FetchErrorCode.BLOCKED_ADDRESS, "127.0.0.1", "loopback", "ALLOW_PRIVATE_TARGETS")
    assert local_site.connections == 0  # refused before any packet reached the site


async def test_hostile_sites_do_not_slow_down_other_fetches(strict: Settings, site_factory: SiteFactory) -> None:
    hostile, healthy = await site_factory(), await site_factory()
    hostile.route("/hang", hang=True)
    hostile.route("/trickle", infinite=True, chunk_size=1, chunk_delay=0.05)
    hostile.route("/huge", infinite=True, chunk_size=65536)
    healthy.route("/", body="fine")
    fetcher = Fetcher(strict.model_copy(update={"per_host_concurrency": 3}))
    hostile_tasks = [asyncio.create_task(fetcher.fetch(hostile.url(path))) for path in ("/hang", "/trickle", "/huge")]
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    results = [await fetcher.fetch(healthy.url("/")) for _ in range(5)]
    assert time.perf_counter() - started < 0.5  # the hostile fetches take 0.8 s each
    assert all(result.ok and result.text == "fine" for result in results)
    codes = [result.error.code for result in await asyncio.gather(*hostile_tasks) if result.error]
    assert codes == [FetchErrorCode.TIMEOUT, FetchErrorCode.TIMEOUT, FetchErrorCode.TOO_LARGE]


async def test_per_host_and_global_concurrency_limits(settings: Settings, site_factory: SiteFactory) -> None:
    first, second = await site_factory(), await site_factory()
    for site in (first, second):
        site.route("/", body="ok", delay=0.2)

    async def wall_time(fetcher: Fetcher, urls: list[str]) -> float:
        started = time.perf_counter()
        results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
        assert all(result.ok for result in results)
        return time.perf_counter() - started

    four_on_one_host = [first.url("/")] * 4
    per_host_two = Fetcher(settings.model_copy(update={"per_host_concurrency": 2}))
    per_host_four = Fetcher(settings.model_copy(update={"per_host_concurrency": 4}))
    assert 0.4 <= await wall_time(per_host_two, four_on_one_host) < 0.6  # two waves of two
    assert await wall_time(per_host_four, four_on_one_host) < 0.38  # one wave
    one_at_a_time = Fetcher(settings.model_copy(update={"per_host_concurrency": 4, "scan_concurrency": 1}))
    assert 0.4 <= await wall_time(one_at_a_time, [first.url("/"), second.url("/")]) < 0.6
    # Waiting for a free slot does not count against the fetch's own time limit.
    queued = Fetcher(settings.model_copy(update={"per_host_concurrency": 1, "total_timeout_seconds": 0.25}))
    assert await wall_time(queued, four_on_one_host[:2]) >= 0.4


async def test_a_reset_mid_response_fails_with_a_reason(strict: Settings) -> None:
    import socket
    import struct

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await Fetcher(strict).fetch(f"http://127.0.0.1:{port}/")
    finally:
        server.close()
    assert result.error is not None
    message = result.error.message
    assert not message.rstrip().endswith(":"), message  # was "the connection to ... broke: "
    assert message.split(": ", 1)[1].strip(), message

"""Fetcher against real local sites: timings, redirects, headers, decoding and TLS facts."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from datetime import UTC, datetime

import httpx
from tests.support.certificates import TestCA
from tests.support.testsite import LocalSite, ReceivedRequest, Route

from techscaniq.domain.fetch import FetchErrorCode
from techscaniq.scanning.fetch import Fetcher
from techscaniq.settings import Settings


async def test_timing_breakdown_matches_what_the_server_does(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", body="a" * 4000, delay=0.2, chunk_size=1000, chunk_delay=0.05)
    # Reference: a plain client's wall time for the same route in the same run.
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        await client.get(local_site.url("/"))
        reference_ms = (time.perf_counter() - started) * 1000

    result = await Fetcher(settings).fetch(local_site.url("/"))

    timings = result.timings
    assert result.ok and result.body == b"a" * 4000
    assert timings.dns_ms is not None and 0 <= timings.dns_ms < 50  # an IP literal needs no lookup
    assert timings.connect_ms is not None and 0 < timings.connect_ms < 100
    assert timings.tls_ms is None  # plain HTTP
    assert timings.ttfb_ms is not None and 195 <= timings.ttfb_ms <= 350  # the site waits 200 ms
    assert timings.download_ms is not None and 140 <= timings.download_ms <= 400  # three 50 ms pauses
    assert timings.total_ms is not None and timings.total_ms >= timings.ttfb_ms + timings.download_ms
    assert abs(timings.total_ms - reference_ms) < 150
    assert timings.redirect_ms == 0
    assert result.remote_ip == "127.0.0.1" and result.http_version == "HTTP/1.1"


async def test_redirects_are_followed_and_recorded(settings: Settings, local_site: LocalSite) -> None:
    local_site.redirect("/old", "/middle", status=301)
    local_site.redirect("/middle", local_site.url("/new"), status=307)
    local_site.route("/new", body="arrived", delay=0.05)

    result = await Fetcher(settings).fetch(local_site.url("/old"))

    assert result.ok and result.text == "arrived"
    assert result.final_url == local_site.url("/new")
    assert [(hop.url, hop.status_code, hop.location) for hop in result.redirects] == [
        (local_site.url("/old"), 301, local_site.url("/middle")),
        (local_site.url("/middle"), 307, local_site.url("/new")),
    ]
    assert result.timings.redirect_ms is not None and result.timings.redirect_ms > 0
    assert result.timings.total_ms is not None and result.timings.total_ms >= result.timings.redirect_ms + 50


async def test_cookie_setting_redirect_to_the_same_url_is_no_loop(settings: Settings, local_site: LocalSite) -> None:
    def gate(request: ReceivedRequest) -> Route:
        if "visited=1" in request.headers.get("cookie", ""):
            return Route(body="welcome")
        return Route(status=302, headers=[("Set-Cookie", "visited=1; Path=/"), ("Location", "/gate")])

    local_site.set("/gate", gate)
    result = await Fetcher(settings).fetch(local_site.url("/gate"))
    assert result.ok and result.text == "welcome" and len(result.redirects) == 1


async def test_too_many_redirects(settings: Settings, local_site: LocalSite) -> None:
    for step in range(5):
        local_site.redirect(f"/{step}", f"/{step + 1}")
    result = await Fetcher(settings.model_copy(update={"max_redirects": 3})).fetch(local_site.url("/0"))
    assert result.error is not None and result.error.code is FetchErrorCode.TOO_MANY_REDIRECTS
    assert "more than 3 redirects" in result.error.message
    assert len(result.redirects) == 4


async def test_headers_keep_repeats_and_order(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", headers=[("Set-Cookie", "a=1"), ("X-Frame-Options", "DENY"), ("Set-Cookie", "b=2")])
    result = await Fetcher(settings).fetch(local_site.url("/"))
    assert result.header_values("set-cookie") == ["a=1", "b=2"]
    assert result.header("x-frame-options") == "DENY"
    sent = local_site.requests[-1].headers
    assert sent["user-agent"] == settings.user_agent and "gzip" in sent["accept-encoding"]


async def test_extra_request_headers_replace_ours(settings: Settings, local_site: LocalSite) -> None:
    await Fetcher(settings).fetch(local_site.url("/"), headers={"user-agent": "probe/1", "X-Test": "yes"})
    sent = local_site.requests[-1].headers
    assert sent["user-agent"] == "probe/1" and sent["x-test"] == "yes"


async def test_gzip_body_is_decoded_and_both_sizes_reported(settings: Settings, local_site: LocalSite) -> None:
    page = "<html>" + "hello world " * 2000 + "</html>"
    local_site.route("/", body=page, gzip=True)
    result = await Fetcher(settings).fetch(local_site.url("/"))
    assert result.text == page and result.content_encoding == "gzip"
    assert result.decoded_bytes == len(page) and 0 < result.transfer_bytes < len(page) / 10


async def test_encoding_from_header_or_meta_charset(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/header", body="caf\xe9".encode("latin-1"), content_type="text/html; charset=ISO-8859-1")
    page = '<meta charset="windows-1252"><p>caf\xe9</p>'.encode("cp1252")
    local_site.route("/meta", body=page, content_type="text/html")
    fetcher = Fetcher(settings)
    by_header, by_meta = await fetcher.fetch(local_site.url("/header")), await fetcher.fetch(local_site.url("/meta"))
    assert by_header.encoding == "iso8859-1" and by_header.text == "café"
    assert by_meta.encoding == "cp1252" and "café" in by_meta.text


async def test_server_error_is_a_successful_fetch(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/", status=503, body="down for maintenance")
    result = await Fetcher(settings).fetch(local_site.url("/"))
    assert result.ok and result.status_code == 503 and result.text == "down for maintenance"


async def test_max_bytes_caps_one_fetch(settings: Settings, local_site: LocalSite) -> None:
    local_site.route("/robots.txt", body="x" * 5000, content_type="text/plain")
    fetcher = Fetcher(settings)
    assert (await fetcher.fetch(local_site.url("/robots.txt"))).ok
    capped = await fetcher.fetch(local_site.url("/robots.txt"), max_bytes=1000)
    assert capped.error is not None and capped.error.code is FetchErrorCode.TOO_LARGE


async def test_tls_facts_of_a_valid_certificate(tls_settings: Settings, tls_site: LocalSite, test_ca: TestCA) -> None:
    tls_site.route("/", body="secure")
    result = await Fetcher(tls_settings).fetch(tls_site.url("/"))

    # The certificate as a plain TLS client sees it, to check the fingerprint against.
    context = ssl.create_default_context(cafile=str(test_ca.pem_path))
    _, writer = await asyncio.open_connection("127.0.0.1", tls_site.port, ssl=context, server_hostname="127.0.0.1")
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()

    tls = result.tls
    assert result.ok and result.text == "secure" and tls is not None
    assert tls.verified and tls.hostname_match and tls.error is None
    assert tls.protocol in ("TLSv1.2", "TLSv1.3") and tls.cipher
    assert tls.issuer_organization == "TechScanIQ Test CA" and "TechScanIQ Test Site" in (tls.subject or "")
    assert set(tls.sans) == {"127.0.0.1", "localhost"}
    assert tls.fingerprint_sha256 and tls.fingerprint_sha256.replace(":", "") == hashlib.sha256(der).hexdigest().upper()
    assert tls.serial_number and tls.not_before and tls.not_after
    assert tls.not_before < datetime.now(UTC) < tls.not_after and (tls.days_to_expiry or 0) > 0
    assert result.timings.tls_ms is not None and result.timings.tls_ms > 0


async def test_host_names_resolve_and_keep_sni_and_host_header(tls_settings: Settings, tls_site: LocalSite) -> None:
    # `localhost` comes from /etc/hosts: a real lookup through our resolver, without leaving the machine.
    tls_site.route("/", body="by name")
    result = await Fetcher(tls_settings).fetch(f"https://localhost:{tls_site.port}/")
    assert result.ok and result.text == "by name" and result.remote_ip == "127.0.0.1"
    assert result.tls is not None and result.tls.verified and result.tls.hostname_match  # SNI/name check: localhost
    assert result.timings.dns_ms is not None
    assert tls_site.requests[-1].headers["host"] == f"localhost:{tls_site.port}"

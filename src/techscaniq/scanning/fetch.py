"""Fetching one URL the way a monitoring scan needs it, never raising for anything a site does.

`Fetcher.fetch` returns a `FetchResult` for every outcome: a response with its full timing breakdown
and TLS facts, or a `FetchError` whose code and message say what went wrong (timeout, DNS, TLS,
too large, redirect loop, blocked address, malformed response...). Hostile sites are cut off by
limits: connect/read timeouts, a hard total deadline (a server that trickles one byte a second still
ends), a cap on bytes on the wire and on bytes after decompression, and a bounded redirect chain.

Built on httpcore with our own network backend (network.py), which resolves names itself, applies
the address guard to every address it is about to connect to and times DNS, TCP and TLS per connection;
each request's TTFB and download come from httpcore's trace hooks (right for one HTTP/2 stream among
others too). HTTPS speaks HTTP/2 when the site offers it by ALPN and HTTP/1.1 otherwise; plain http is always
HTTP/1.1 (no h2c). Each fetch owns its connections (closed when it returns), so every scan measures a cold
connection like a first-time visitor would, and nothing from one site lingers for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from techscaniq.domain.fetch import FetchError, FetchErrorCode, FetchResult, RedirectHop
from techscaniq.egress.address_guard import BlockedAddressError
from techscaniq.egress.backend import DNSResolutionError, GuardedBackend, TimedStream
from techscaniq.observability.metrics import FETCH_BYTES
from techscaniq.scanning.charset import detect_charset
from techscaniq.scanning.decoding import ACCEPT_ENCODING, BodyDecodeError, BoundedDecoder, DecodedTooLargeError
from techscaniq.scanning.host_slots import HostSlots
from techscaniq.scanning.tls_facts import legacy_verifying_context, probe_certificate, tls_info, verifying_context
from techscaniq.settings import Settings

log = logging.getLogger(__name__)

# Host names as DNS allows (plus the underscore some sites use) or an IP literal (IPv6 without brackets).
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?|[0-9A-Fa-f:.]+(?:%[\w.-]+)?")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": ACCEPT_ENCODING,
}


class _BelowProtocolFloor(Exception):
    """The handshake failed on protocol or cipher (not on the certificate): worth one try with the legacy floor."""


class FetchFailed(Exception):
    """Carries a FetchError out of the nested steps of one fetch (never leaves `Fetcher.fetch`)."""

    def __init__(self, code: FetchErrorCode, message: str) -> None:
        super().__init__(message)
        self.error = FetchError(code=code, message=message)


@dataclass
class _Limits:
    total: float
    connect: float
    read: float
    wire_bytes: int
    decoded_bytes: int
    max_redirects: int
    spent: float = 0.0  # seconds spent talking to sites (waiting for a free slot does not count)

    @property
    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)


class _RequestClock:
    """The moments of one request, from httpcore's trace hooks (the same for HTTP/1.1 and for one HTTP/2 stream
    among others on its connection): TTFB runs from the request sent to its response headers."""

    def __init__(self) -> None:
        self.request_sent_at: float | None = None
        self.headers_at: float | None = None

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith(".send_request_body.complete"):
            self.request_sent_at = time.perf_counter()
        elif event.endswith(".receive_response_headers.complete"):
            self.headers_at = time.perf_counter()


class Fetcher:
    """Fetches URLs under the limits of `settings`; share one per process (it holds the concurrency limits)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        extra_ca = str(settings.extra_ca_bundle) if settings.extra_ca_bundle else None
        self._ssl_context = verifying_context(extra_ca)
        self._legacy_ssl_context = legacy_verifying_context(extra_ca)
        self._backend = GuardedBackend(settings.scan_address_policy)
        self._slots = HostSlots(settings.per_host_concurrency, settings.scan_concurrency)

    async def aclose(self) -> None:
        """Nothing stays open between fetches; kept so owners can treat the Fetcher like any resource."""

    async def fetch(
        self,
        url: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a limit passed down, not a cancellation scope)
        max_bytes: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> FetchResult:
        """GET `url`, following redirects. `timeout` replaces the total time limit; `max_bytes` caps both
        the bytes on the wire and the decoded bytes (e.g. for robots.txt); `headers` add to or replace ours."""
        settings = self._settings
        total = timeout if timeout is not None else settings.total_timeout_seconds
        limits = _Limits(
            total=total,
            connect=min(settings.connect_timeout_seconds, total),
            read=min(settings.read_timeout_seconds, total),
            wire_bytes=max_bytes or settings.max_body_bytes,
            decoded_bytes=min(max_bytes, settings.max_decoded_bytes) if max_bytes else settings.max_decoded_bytes,
            max_redirects=settings.max_redirects,
        )
        result = FetchResult(url=url)
        try:
            await self._follow(_parse_url(url), result, limits, headers or {})
        except FetchFailed as failed:
            result.error = failed.error
        except Exception as exc:  # a bug of ours must not take the scan down: report it like a site failure
            log.exception("unexpected error fetching %s", url)
            message = f"unexpected {type(exc).__name__}: {reason_of(exc)}"
            result.error = FetchError(code=FetchErrorCode.CONNECTION, message=message)
        result.timings.total_ms = round(limits.spent * 1000, 3)
        FETCH_BYTES.inc(result.transfer_bytes)
        return result

    def _pool(self, legacy: bool) -> httpcore.AsyncConnectionPool:
        context = self._legacy_ssl_context if legacy else self._ssl_context
        return httpcore.AsyncConnectionPool(
            ssl_context=context, network_backend=self._backend, retries=0, http1=True, http2=True
        )

    async def _follow(self, target: httpx.URL, result: FetchResult, limits: _Limits, headers: dict[str, str]) -> None:
        pool = self._pool(legacy=False)
        cookies: dict[str, dict[str, str]] = {}  # host -> name -> value, set by redirect responses
        seen = {_visit_key(target, cookies)}
        result.timings.redirect_ms = 0.0
        try:
            while True:
                try:
                    next_target = await self._exchange(pool, target, result, limits, headers, cookies)
                except _BelowProtocolFloor:
                    # Only TLS 1.0 or only non-forward-secret suites: read the page anyway (the certificate still
                    # has to verify), so the scan and its TLS rating report the weakness instead of vanishing.
                    result.tls_fallback = True
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(2):
                            await pool.aclose()
                    pool = self._pool(legacy=True)
                    continue
                if next_target is None:
                    return
                if _visit_key(next_target, cookies) in seen:
                    chain = " -> ".join([hop.url for hop in result.redirects] + [str(next_target)])
                    raise FetchFailed(FetchErrorCode.REDIRECT_LOOP, f"redirect loop: {chain}")
                if len(result.redirects) > limits.max_redirects:
                    raise FetchFailed(
                        FetchErrorCode.TOO_MANY_REDIRECTS,
                        f"more than {limits.max_redirects} redirects (last to {next_target})",
                    )
                seen.add(_visit_key(next_target, cookies))
                target = next_target
                result.timings.redirect_ms = round(limits.spent * 1000, 3)
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await pool.aclose()

    async def _exchange(
        self,
        pool: httpcore.AsyncConnectionPool,
        target: httpx.URL,
        result: FetchResult,
        limits: _Limits,
        headers: dict[str, str],
        cookies: dict[str, dict[str, str]],
    ) -> httpx.URL | None:
        """One request under the host's concurrency slot and what is left of the deadline.
        Returns where a redirect points, or None once the final response is read into `result`."""
        host = target.raw_host.decode("ascii")
        async with self._slots.slot(host):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(limits.remaining):
                    return await self._request(pool, target, result, limits, headers, cookies)
            except TimeoutError:
                raise FetchFailed(
                    FetchErrorCode.TIMEOUT, f"{host} did not finish answering within the {limits.total:g} s time limit"
                ) from None
            finally:
                limits.spent += time.perf_counter() - started

    async def _request(
        self,
        pool: httpcore.AsyncConnectionPool,
        target: httpx.URL,
        result: FetchResult,
        limits: _Limits,
        headers: dict[str, str],
        cookies: dict[str, dict[str, str]],
    ) -> httpx.URL | None:
        host = target.raw_host.decode("ascii")
        clock = _RequestClock()
        request = httpcore.Request(
            b"GET",
            httpcore.URL(scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path),
            headers=self._request_headers(target, headers, cookies.get(host)),
            extensions={"timeout": {"connect": limits.connect, "read": limits.read, "write": limits.read,
                                    "pool": limits.connect}, "trace": clock},
        )
        try:
            response = await pool.handle_async_request(request)
        except Exception as exc:
            error = _failure(exc, target, limits)
            if (error.error.code is FetchErrorCode.TLS and not result.tls_fallback
                    and _cause(exc, ssl.SSLCertVerificationError) is None):
                raise _BelowProtocolFloor from None
            if error.error.code is FetchErrorCode.TLS:
                port = target.port or 443
                result.tls = await probe_certificate(self._backend, host, port, limits.connect, error.error.message)
            raise error from None
        try:
            location = _header(response, b"location")
            if response.status in REDIRECT_STATUSES and location:
                next_target = _redirect_target(target, location)
                result.redirects.append(RedirectHop(url=str(target), status_code=response.status,
                                                    location=str(next_target)))
                _remember_cookies(response, cookies.setdefault(host, {}))
                return next_target
            await self._read_final(response, target, result, limits, clock)
            return None
        except FetchFailed:
            raise
        except Exception as exc:
            raise _failure(exc, target, limits) from None
        finally:
            await response.aclose()

    def _request_headers(
        self, target: httpx.URL, extra: dict[str, str], cookies: dict[str, str] | None
    ) -> list[tuple[str, str]]:
        merged = {"Host": target.netloc.decode("ascii"), "User-Agent": self._settings.user_agent, **DEFAULT_HEADERS}
        if cookies:
            merged["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        lowered = {name.lower(): name for name in merged}
        for name, value in extra.items():
            merged.pop(lowered.get(name.lower(), name), None)
            merged[name] = value
        return list(merged.items())

    async def _read_final(
        self, response: httpcore.Response, target: httpx.URL, result: FetchResult, limits: _Limits, clock: _RequestClock
    ) -> None:
        result.final_url = str(target)
        result.status_code = response.status
        result.http_version = response.extensions.get("http_version", b"HTTP/1.1").decode("ascii", "replace")
        result.headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers]
        result.content_type = result.header("content-type")
        result.content_encoding = result.header("content-encoding")
        stream = response.extensions.get("network_stream")
        if isinstance(stream, TimedStream):
            result.remote_ip = stream.timings.remote_ip
            result.timings.dns_ms = _ms(stream.timings.dns_ms)
            result.timings.connect_ms = _ms(stream.timings.connect_ms)
            result.timings.tls_ms = _ms(stream.timings.tls_ms)
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is not None:
            result.tls = tls_info(ssl_object, target.raw_host.decode("ascii"), verified=True)

        declared = _header(response, b"content-length")
        if declared and declared.isdigit() and int(declared) > limits.wire_bytes:
            raise FetchFailed(
                FetchErrorCode.TOO_LARGE, f"the body is {int(declared)} bytes; the limit is {limits.wire_bytes} bytes"
            )
        decoder = BoundedDecoder(result.content_encoding, limits.decoded_bytes)
        parts: list[bytes] = []
        try:
            async for chunk in response.aiter_stream():
                result.transfer_bytes += len(chunk)
                if result.transfer_bytes > limits.wire_bytes:
                    raise FetchFailed(
                        FetchErrorCode.TOO_LARGE, f"the body passed the limit of {limits.wire_bytes} bytes on the wire"
                    )
                parts.append(decoder.feed(chunk))
            parts.append(decoder.flush())
        except DecodedTooLargeError:
            how = f"once {result.content_encoding}-decoded" if result.content_encoding else "(decoded)"
            raise FetchFailed(
                FetchErrorCode.TOO_LARGE, f"the body passed the {limits.decoded_bytes}-byte limit {how}"
            ) from None
        except BodyDecodeError as exc:
            raise FetchFailed(FetchErrorCode.INVALID_RESPONSE, str(exc)) from None
        finally:
            # Even a cut-off body is kept (up to the limits): it is evidence of what the site sent.
            result.body = b"".join(parts)
            result.decoded_bytes = len(result.body)
            result.encoding = detect_charset(result.content_type, result.body)
            if clock.request_sent_at and clock.headers_at:
                finished = time.perf_counter()
                result.timings.ttfb_ms = _ms((clock.headers_at - clock.request_sent_at) * 1000)
                result.timings.download_ms = _ms((finished - clock.headers_at) * 1000)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchFailed(FetchErrorCode.INVALID_URL, f"{url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchFailed(
            FetchErrorCode.INVALID_URL, f"only http and https URLs can be fetched, not {parsed.scheme or 'no scheme'!r}"
        )
    if not parsed.raw_host:
        raise FetchFailed(FetchErrorCode.INVALID_URL, f"{url!r} has no host")
    if not _HOST.fullmatch(parsed.raw_host.decode("ascii")):
        raise FetchFailed(FetchErrorCode.INVALID_URL, f"{url!r} is not a valid URL: bad host {parsed.host!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise FetchFailed(FetchErrorCode.INVALID_URL, f"{url!r} is not a valid URL: port {parsed.port} out of range")
    return parsed


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        return _parse_url(str(current.join(location)))
    except (FetchFailed, httpx.InvalidURL, ValueError) as exc:
        message = exc.error.message if isinstance(exc, FetchFailed) else str(exc)
        raise FetchFailed(
            FetchErrorCode.INVALID_URL, f"{current} redirects to {location!r}, which cannot be fetched: {message}"
        ) from None


def _visit_key(target: httpx.URL, cookies: dict[str, dict[str, str]]) -> tuple[str, str]:
    """A URL revisited with new cookies is progress (a cookie-setting redirect), not a loop."""
    jar = cookies.get(target.raw_host.decode("ascii"), {})
    return str(target.copy_with(fragment=None)), repr(sorted(jar.items()))


def _remember_cookies(response: httpcore.Response, jar: dict[str, str]) -> None:
    for name, value in response.headers:
        if name.lower() == b"set-cookie":
            pair = value.decode("latin-1").split(";", 1)[0]
            cookie_name, _, cookie_value = pair.partition("=")
            if cookie_name.strip():
                jar[cookie_name.strip()] = cookie_value.strip()


def _header(response: httpcore.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _cause(exc: BaseException, kind: type[BaseException], *, with_errno: bool = False,
           with_message: bool = False) -> BaseException | None:
    """The first exception of `kind` in the chain that led to `exc` (httpcore and anyio wrap the original)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if (isinstance(current, kind) and (not with_errno or getattr(current, "errno", None))
                and (not with_message or str(current).strip())):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def reason_of(exc: BaseException) -> str:
    """Never empty: the message, else the OS error underneath (a reset has no message), else the type."""
    if text := str(exc).strip():
        return text
    os_error = _cause(exc, OSError, with_errno=True)
    if isinstance(os_error, OSError) and os_error.errno:
        return os.strerror(os_error.errno)
    message = _cause(exc, Exception, with_message=True)  # the first exception in the chain that says something
    return f"{type(exc).__name__} ({message})" if message is not None else type(exc).__name__


def _failure(exc: Exception, target: httpx.URL, limits: _Limits) -> FetchFailed:
    """What an exception from httpcore or our backend means, in words a user can act on."""
    host = target.raw_host.decode("ascii")
    where = f"{host}:{target.port or (443 if target.scheme == 'https' else 80)}"
    code = FetchErrorCode
    if isinstance(exc, FetchFailed):
        return exc
    if isinstance(exc, BlockedAddressError):
        return FetchFailed(code.BLOCKED_ADDRESS, str(exc))
    if isinstance(exc, DNSResolutionError):
        return FetchFailed(code.DNS, str(exc))
    if isinstance(exc, httpcore.ConnectTimeout):
        return FetchFailed(code.TIMEOUT, f"connecting to {where} took longer than {limits.connect:g} s")
    if isinstance(exc, httpcore.ReadTimeout):
        return FetchFailed(code.TIMEOUT, f"{host} sent nothing for {limits.read:g} s (read timeout)")
    if isinstance(exc, httpcore.TimeoutException):
        return FetchFailed(code.TIMEOUT, f"talking to {where} timed out ({type(exc).__name__})")
    if isinstance(exc, httpcore.ConnectError):
        verify_error = _cause(exc, ssl.SSLCertVerificationError)
        if isinstance(verify_error, ssl.SSLCertVerificationError):
            reason = verify_error.verify_message or str(verify_error)
            return FetchFailed(code.TLS, f"the TLS certificate of {host} was rejected: {reason}")
        ssl_error = _cause(exc, ssl.SSLError)
        if isinstance(ssl_error, ssl.SSLError):
            return FetchFailed(code.TLS, f"the TLS handshake with {host} failed: {ssl_error.reason or ssl_error}")
        os_error = _cause(exc, OSError, with_errno=True)
        reason = os.strerror(os_error.errno) if isinstance(os_error, OSError) and os_error.errno else reason_of(exc)
        return FetchFailed(code.CONNECTION, f"could not connect to {where}: {reason}")
    if isinstance(exc, httpcore.RemoteProtocolError):
        return FetchFailed(code.INVALID_RESPONSE, f"{host} sent a malformed HTTP response: {reason_of(exc)}")
    if isinstance(exc, httpcore.NetworkError):
        return FetchFailed(code.CONNECTION, f"the connection to {where} broke: {reason_of(exc)}")
    if isinstance(exc, httpcore.UnsupportedProtocol | httpcore.LocalProtocolError):
        return FetchFailed(code.INVALID_URL, f"cannot request {target}: {reason_of(exc)}")
    log.exception("unexpected error fetching %s", target)
    return FetchFailed(code.CONNECTION, f"unexpected {type(exc).__name__} talking to {where}: {reason_of(exc)}")

"""A small stand-in for scanning.fetch.Fetcher (being written by another helper): the same
`fetch(url, *, timeout, max_bytes, headers)` call, built on httpx, so the analyzers' extra requests
(HTTP->HTTPS probe, CORS probe, sensitive paths, page resources) hit the real local test site.
It records redirects hop by hop, repeated headers, and the negotiated TLS protocol and trust."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx

from techscaniq.domain.fetch import FetchError, FetchErrorCode, FetchResult, RedirectHop, Timings, TLSInfo


class StandInFetcher:
    def __init__(self, ca_bundle: Path | None = None, max_redirects: int = 10) -> None:
        context = ssl.create_default_context()
        if ca_bundle is not None:
            context.load_verify_locations(cafile=str(ca_bundle))
        self.client = httpx.AsyncClient(verify=context, follow_redirects=False, timeout=5.0)
        self.max_redirects = max_redirects
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def close(self) -> None:
        await self.client.aclose()

    # `timeout` is the name Fetcher.fetch uses, so the analyzers call both the same way.
    async def fetch(self, url: str, *, timeout: float | None = None, max_bytes: int | None = None,  # noqa: ASYNC109
                    headers: dict[str, str] | None = None) -> FetchResult:
        self.calls.append((url, dict(headers or {})))
        started = time.perf_counter()
        hops: list[RedirectHop] = []
        current = url
        for _ in range(self.max_redirects + 1):
            try:
                response = await self.client.get(current, headers=headers, timeout=timeout or 5.0)
            except httpx.ConnectError as exc:
                code = FetchErrorCode.TLS if "CERTIFICATE" in str(exc).upper() else FetchErrorCode.CONNECTION
                return FetchResult(url=url, final_url=current, redirects=hops,
                                   error=FetchError(code=code, message=str(exc)))
            except httpx.TimeoutException as exc:
                return FetchResult(url=url, redirects=hops, error=FetchError(code=FetchErrorCode.TIMEOUT,
                                                                             message=str(exc)))
            location = response.headers.get("location")
            if response.is_redirect and location:
                target = urljoin(current, location)
                hops.append(RedirectHop(url=current, status_code=response.status_code, location=target))
                current = target
                continue
            body = response.content[: max_bytes or None]
            stream = response.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            tls = None
            if ssl_object is not None:
                cipher = ssl_object.cipher()
                tls = TLSInfo(protocol=ssl_object.version(), cipher=cipher[0] if cipher else None, verified=True,
                              hostname_match=True)
            return FetchResult(
                url=url, final_url=current, status_code=response.status_code, http_version=response.http_version,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
                body=body, content_type=response.headers.get("content-type"),
                transfer_bytes=int(response.headers.get("content-length") or len(body)), decoded_bytes=len(body),
                content_encoding=response.headers.get("content-encoding"), redirects=hops, remote_ip="127.0.0.1",
                timings=Timings(total_ms=(time.perf_counter() - started) * 1000), tls=tls,
            )
        return FetchResult(url=url, redirects=hops,
                           error=FetchError(code=FetchErrorCode.TOO_MANY_REDIRECTS, message="too many redirects"))

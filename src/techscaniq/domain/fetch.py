"""What fetching a URL produced: the response, its timing breakdown, TLS facts, or why it failed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class FetchErrorCode(StrEnum):
    TIMEOUT = "timeout"
    DNS = "dns_error"
    CONNECTION = "connection_error"
    TLS = "tls_error"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    BLOCKED_ADDRESS = "blocked_address"
    INVALID_URL = "invalid_url"
    INVALID_RESPONSE = "invalid_response"


class FetchError(BaseModel):
    code: FetchErrorCode
    message: str


class Timings(BaseModel):
    """Milliseconds for each phase of the final request (redirect hops are summed in `redirect_ms`)."""

    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    ttfb_ms: float | None = None  # request sent -> its response headers (HTTP/1.1 and HTTP/2 alike)
    download_ms: float | None = None
    total_ms: float | None = None  # whole fetch, redirects included
    redirect_ms: float | None = None


class TLSInfo(BaseModel):
    protocol: str | None = None
    cipher: str | None = None
    subject: str | None = None
    issuer: str | None = None
    issuer_organization: str | None = None
    sans: list[str] = Field(default_factory=list)
    serial_number: str | None = None
    fingerprint_sha256: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    days_to_expiry: float | None = None
    verified: bool = False
    hostname_match: bool | None = None
    error: str | None = None


class RedirectHop(BaseModel):
    url: str
    status_code: int
    location: str


class FetchResult(BaseModel):
    """One fetch. `headers` keep repeats and order (several Set-Cookie lines stay separate)."""

    url: str
    final_url: str | None = None
    status_code: int | None = None
    http_version: str | None = None
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: bytes = b""
    encoding: str | None = None
    content_type: str | None = None
    transfer_bytes: int = 0  # bytes on the wire (compressed)
    decoded_bytes: int = 0
    content_encoding: str | None = None
    redirects: list[RedirectHop] = Field(default_factory=list)
    remote_ip: str | None = None
    timings: Timings = Field(default_factory=Timings)
    tls: TLSInfo | None = None
    error: FetchError | None = None
    # The server completed no handshake with today's protocol/cipher floor, so the fetch retried with TLS 1.0+
    # and the old suites (the certificate still verified). The TLS rating says what is weak.
    tls_fallback: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")

"""Security grade of one scan: header findings in the manner of the HTTP Observatory, TLS, exposure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from techscaniq.domain.fetch import TLSInfo


class SecurityFinding(BaseModel):
    test: str  # e.g. "content-security-policy"
    result: str  # e.g. "csp-implemented-with-unsafe-inline"
    modifier: int = 0
    passed: bool = True
    description: str = ""
    value: str | None = None  # the raw header value (or other evidence)


class SecurityReport(BaseModel):
    score: int = 0
    grade: str = "F"
    findings: list[SecurityFinding] = Field(default_factory=list)
    tls: TLSInfo | None = None
    details: dict[str, Any] = Field(default_factory=dict)

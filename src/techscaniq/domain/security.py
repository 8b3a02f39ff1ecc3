"""Security grade of one scan: header findings in the manner of the HTTP Observatory, TLS, exposure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from techscaniq.domain.fetch import TLSInfo
from techscaniq.domain.tls_rating import TLSRating

# Findings of these categories count towards the Observatory score; the others are reported only.
GRADED_CATEGORY = "headers"


class SecurityFinding(BaseModel):
    test: str  # e.g. "content-security-policy"
    result: str  # e.g. "csp-implemented-with-unsafe-inline"
    modifier: int = 0
    passed: bool = True
    description: str = ""
    value: str | None = None  # the raw header value (or other evidence)
    category: str = GRADED_CATEGORY  # headers | tls | exposure | library
    severity: str | None = None  # low | medium | high | critical for failed non-graded findings
    data: dict[str, Any] = Field(default_factory=dict)  # parsed details (CSP directives, cookie flags, ...)


class LibraryVulnerability(BaseModel):
    """A detected client library whose version falls in a published advisory's affected range."""

    library: str
    version: str
    advisory_id: str
    identifiers: list[str] = Field(default_factory=list)  # CVE-..., GHSA-..., issue ids
    severity: str = "medium"
    summary: str = ""
    at_or_above: str | None = None
    below: str | None = None
    info: list[str] = Field(default_factory=list)
    source: str = "builtin"  # builtin | retirejs
    component: str | None = None  # the advisory component the library is ("jquery", "@angular/core")
    fixed_version: str | None = None  # the first release out of the affected range; None: no fixed release
    cve: list[str] = Field(default_factory=list)
    ghsa: list[str] = Field(default_factory=list)
    detection: str = "fingerprint"  # fingerprint | uri | filename | filecontent | hash (Retire.js extractors)
    evidence: str | None = None  # the script URL (or "inline script #n") the extractor read


class SecurityReport(BaseModel):
    score: int = 0
    grade: str = "F"
    findings: list[SecurityFinding] = Field(default_factory=list)
    tls: TLSInfo | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    tests_passed: int = 0
    tests_failed: int = 0
    vulnerabilities: list[LibraryVulnerability] = Field(default_factory=list)
    tls_rating: TLSRating | None = None  # the SSL Labs-style TLS grade (docs/tls-rating.md); not in `grade`

    def finding(self, test: str) -> SecurityFinding | None:
        return next((finding for finding in self.findings if finding.test == test), None)
